/**
 * `ccxt`: crypto exchange tools. ccxt itself never runs in an actor thread: every call goes to a
 * leased client in an exchange-host thread (src/integrations/ccxt/host).
 *
 * Public market data (shared clients, short-lived cache): list_exchanges, describe_exchange,
 * get_markets, get_ticker, get_tickers, get_order_book, get_ohlcv, get_trades.
 * Accounts (a dedicated credentialed client per session and account): list_accounts,
 * get_balance, get_open_orders, get_order, get_my_trades, create_order, cancel_order.
 *
 * Trading sessions (state handles, MCP 2026-07-28): every tool takes `session_id`, the handle the
 * `session` toolset's `create_session` returns (noun "trading session"). The account tools need
 * one on 2026-07-28 (the runtime answers HANDLE_REQUIRED without it) and run on that handle's
 * actor, whose accounts the main thread binds; the market-data tools also run without one, on the
 * stateless pool, where only the shared public clients are kept between requests. A 2025-era MCP
 * session is itself the trading session: there `session_id` may be omitted and everything runs
 * in the session's actor as before.
 *
 * Credentials are never tool arguments: a tool names an account the server (or this session's
 * HTTP client, at initialize) configured. Results are JSON text plus `structuredContent`.
 * Failures are `isError` results (actor/toolsets/tool-error.ts): the message as text, and
 * `structuredContent` `{ code, message, retryable, … }` — the codes
 * of src/integrations/ccxt/shared/errors.ts, plus LEASE_TIMEOUT / RESOURCE_LOST / TIMEOUT from the runtime.
 * A write whose outcome is unknown answers UNKNOWN_OUTCOME with `reconcile`: the get_order call
 * that tells whether it happened (by the client order id every create_order carries).
 */
import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { defineToolset, type HandlerContext, type ToolsetContext } from '../../../actor/toolsets/types.js';
import { input as args, LIMITS, output as out, PUBLIC_TOOLS, SESSION_ARG } from './schemas.js';
import { budgetOf, Clients, failureOf, within, writeFailureOf, type Budget, type Failure, type Venue } from './clients.js';
import { ccxtError } from '../shared/errors.js';
import { toolError } from '../../../actor/toolsets/tool-error.js';
import type { AccountInfo } from '../shared/spec.js';

function ok<T extends Record<string, unknown>>(value: T): CallToolResult & { structuredContent: T } {
  return { content: [{ type: 'text' as const, text: JSON.stringify(value) }], structuredContent: value };
}

function fail(f: Failure & Record<string, unknown>): CallToolResult {
  const { code, message, retryable, ...details } = f;
  return toolError(code, message, retryable, details);
}

const venueOut = (v: Venue) => ({ exchange: v.exchange, market_type: v.marketType, sandbox: v.sandbox });

/** A client order id when the model gave none: short, unique, valid on every exchange we know. */
export function newClientOrderId(): string {
  return `mcp${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

type Handler<A> = (a: A, budget: Budget) => Promise<CallToolResult>;

/** Runs a read tool: any failure becomes a classified isError result. */
function read<A>(ctx: ToolsetContext, fn: Handler<A>) {
  return async (a: A, hctx: HandlerContext): Promise<CallToolResult> => {
    try {
      return await fn(a, budgetOf(ctx, hctx));
    } catch (err) {
      return fail(failureOf(err) as Failure & Record<string, unknown>);
    }
  };
}

export const toolset = defineToolset({
  name: 'ccxt',
  description: 'Crypto exchange market data and trading through ccxt (clients in exchange-host threads)',
  instructions:
    'Exchange tools (ccxt). Accounts are named, never given keys: use list_accounts. Errors are JSON with a stable "code" and "retryable". ' +
    'If create_order or cancel_order answers UNKNOWN_OUTCOME, do not repeat it: call the get_order it names to learn whether it happened. ' +
    'Without an MCP session (protocol 2026-07-28), call create_session first and pass its session_id to the account tools ' +
    '(list_accounts, get_balance, orders, trades); the market-data tools work with or without it.',
  handles: { argument: SESSION_ARG, create: ['create_session'], optional: PUBLIC_TOOLS, noun: 'trading session' },
  register(server, ctx) {
    const clients = new Clients(ctx);
    const ro = { readOnlyHint: true, openWorldHint: true } as const;

    const pub = async (a: { exchange?: string; market_type?: Venue['marketType']; sandbox?: boolean }, b: Budget) => {
      const v = await clients.venue(a, b);
      return { v, c: await clients.publicClient(v, b) };
    };

    server.registerTool(
      'list_exchanges',
      { description: 'The exchanges this server can reach.', inputSchema: args.list_exchanges, outputSchema: out.list_exchanges, annotations: ro },
      read(ctx, async (_a, b) => {
        const info = await clients.about(b);
        return ok({ exchanges: info.exchanges.map((id) => ({ id, default: id === info.defaultExchange })), default_exchange: info.defaultExchange });
      }),
    );

    server.registerTool(
      'describe_exchange',
      { description: 'An exchange\'s capabilities, timeframes, rate limit and market count.', inputSchema: args.describe_exchange, outputSchema: out.describe_exchange, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        const d = await within(c.describe(), b, 'describe_exchange');
        return ok({
          ...venueOut(v),
          name: d.name,
          countries: d.countries,
          rate_limit_ms: d.rateLimitMs,
          timeframes: d.timeframes,
          has: d.has,
          market_count: d.marketCount,
          website: d.website,
          docs: d.docs,
        });
      }),
    );

    server.registerTool(
      'get_markets',
      {
        description: `Search an exchange's markets (by symbol substring, base, quote), a page of at most ${LIMITS.marketsPage} at a time.`,
        inputSchema: args.get_markets,
        outputSchema: out.get_markets,
        annotations: ro,
      },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        const page = await within(c.markets({ query: a.query, base: a.base, quote: a.quote, activeOnly: a.active_only, offset: a.offset, limit: a.limit }), b, 'get_markets');
        return ok({ ...venueOut(v), ...page });
      }),
    );

    server.registerTool(
      'get_ticker',
      { description: 'The latest ticker of one market (cached for about a second).', inputSchema: args.get_ticker, outputSchema: out.get_ticker, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        return ok({ ...venueOut(v), ticker: await within(c.ticker(a.symbol), b, 'get_ticker') });
      }),
    );

    server.registerTool(
      'get_tickers',
      { description: `Tickers of up to ${LIMITS.tickers} markets.`, inputSchema: args.get_tickers, outputSchema: out.get_tickers, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        return ok({ ...venueOut(v), tickers: await within(c.tickers(a.symbols), b, 'get_tickers') });
      }),
    );

    server.registerTool(
      'get_order_book',
      { description: `Order book of one market, at most ${LIMITS.orderBook} levels a side.`, inputSchema: args.get_order_book, outputSchema: out.get_order_book, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        return ok({ ...venueOut(v), ...(await within(c.orderBook(a.symbol, a.limit), b, 'get_order_book')) });
      }),
    );

    server.registerTool(
      'get_ohlcv',
      { description: `Candles (OHLCV) of one market, at most ${LIMITS.ohlcv}.`, inputSchema: args.get_ohlcv, outputSchema: out.get_ohlcv, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        const candles = await within(c.ohlcv(a.symbol, a.timeframe, a.since, a.limit), b, 'get_ohlcv');
        return ok({ ...venueOut(v), symbol: a.symbol, timeframe: a.timeframe, candles });
      }),
    );

    server.registerTool(
      'get_trades',
      { description: `Recent public trades of one market, at most ${LIMITS.trades}.`, inputSchema: args.get_trades, outputSchema: out.get_trades, annotations: ro },
      read(ctx, async (a, b) => {
        const { v, c } = await pub(a, b);
        return ok({ ...venueOut(v), symbol: a.symbol, trades: await within(c.trades(a.symbol, a.since, a.limit), b, 'get_trades') });
      }),
    );

    /* ---------- accounts ---------- */

    server.registerTool(
      'list_accounts',
      {
        description: 'The exchange accounts this trading session may use (names and venues, never credentials).',
        inputSchema: args.list_accounts,
        outputSchema: out.list_accounts,
        annotations: { readOnlyHint: true },
      },
      read(ctx, async (_a, b) => {
        const info = await clients.about(b);
        return ok({ accounts: info.accounts.map((x) => ({ name: x.name, exchange: x.exchange, market_type: x.marketType, sandbox: x.sandbox, source: x.source })) });
      }),
    );

    const acct = async (name: string, b: Budget) => {
      const a: AccountInfo = await clients.account(name, b);
      return { a, c: await clients.accountClient(a, b) };
    };
    const accountOut = (a: AccountInfo) => ({ account: a.name, exchange: a.exchange });

    server.registerTool(
      'get_balance',
      { description: 'Non-zero balances of an account.', inputSchema: args.get_balance, outputSchema: out.get_balance, annotations: ro },
      read(ctx, async (x, b) => {
        const { a, c } = await acct(x.account, b);
        return ok({ ...accountOut(a), ...(await within(c.balance(LIMITS.balances), b, 'get_balance')) });
      }),
    );

    server.registerTool(
      'get_open_orders',
      { description: 'Open orders of an account (one market, or all where the exchange allows it).', inputSchema: args.get_open_orders, outputSchema: out.get_open_orders, annotations: ro },
      read(ctx, async (x, b) => {
        const { a, c } = await acct(x.account, b);
        return ok({ ...accountOut(a), orders: await within(c.openOrders(x.symbol, x.since, x.limit), b, 'get_open_orders') });
      }),
    );

    server.registerTool(
      'get_order',
      { description: 'One order of an account, by exchange id or by client order id.', inputSchema: args.get_order, outputSchema: out.get_order, annotations: ro },
      read(ctx, async (x, b) => {
        if (x.id === undefined && x.client_order_id === undefined) throw ccxtError('BAD_REQUEST', 'give id or client_order_id');
        const { a, c } = await acct(x.account, b);
        return ok({ ...accountOut(a), order: await within(c.order({ symbol: x.symbol, id: x.id, clientOrderId: x.client_order_id }), b, 'get_order') });
      }),
    );

    server.registerTool(
      'get_my_trades',
      { description: 'An account\'s own fills in one market.', inputSchema: args.get_my_trades, outputSchema: out.get_my_trades, annotations: ro },
      read(ctx, async (x, b) => {
        const { a, c } = await acct(x.account, b);
        return ok({ ...accountOut(a), symbol: x.symbol, trades: await within(c.myTrades(x.symbol, x.since, x.limit), b, 'get_my_trades') });
      }),
    );

    server.registerTool(
      'create_order',
      {
        description:
          'Places an order. Every order carries a client order id (yours, or generated): if the answer is UNKNOWN_OUTCOME the order may exist — look it up with get_order by that id; never just repeat the call.',
        inputSchema: args.create_order,
        outputSchema: out.create_order,
        annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: true },
      },
      async (x, hctx) => {
        const b = budgetOf(ctx, hctx);
        const clientOrderId = x.client_order_id ?? newClientOrderId();
        let a: AccountInfo;
        let c: Awaited<ReturnType<typeof acct>>['c'];
        try {
          if (x.type === 'limit' && x.price === undefined) throw ccxtError('BAD_REQUEST', 'a limit order needs a price');
          ({ a, c } = await acct(x.account, b));
        } catch (err) {
          return fail(failureOf(err) as Failure & Record<string, unknown>); // nothing was sent
        }
        try {
          const order = await within(
            c.createOrder({ symbol: x.symbol, side: x.side, type: x.type, amount: x.amount, price: x.price, clientOrderId, timeInForce: x.time_in_force, postOnly: x.post_only }),
            b,
            'create_order',
          );
          return ok({ ...accountOut(a), order });
        } catch (err) {
          const f = writeFailureOf(err);
          if (f.code !== 'UNKNOWN_OUTCOME') return fail({ ...f, client_order_id: clientOrderId });
          return fail({
            ...f,
            message: `create_order on account "${a.name}" (${x.symbol}, client order id "${clientOrderId}"): ${f.message}. Reconcile first: call get_order with this client_order_id (in the same trading session) — if it exists the order was placed; only if it answers ORDER_NOT_FOUND place it again (with the same client_order_id, so a duplicate is refused).`,
            client_order_id: clientOrderId,
            reconcile: { tool: 'get_order', arguments: { account: a.name, symbol: x.symbol, client_order_id: clientOrderId } },
          });
        }
      },
    );

    server.registerTool(
      'cancel_order',
      {
        description: 'Cancels an order by exchange id or client order id. UNKNOWN_OUTCOME means it may have been cancelled: check with get_order.',
        inputSchema: args.cancel_order,
        outputSchema: out.cancel_order,
        annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
      },
      async (x, hctx) => {
        const b = budgetOf(ctx, hctx);
        let a: AccountInfo;
        let c: Awaited<ReturnType<typeof acct>>['c'];
        try {
          if (x.id === undefined && x.client_order_id === undefined) throw ccxtError('BAD_REQUEST', 'give id or client_order_id');
          ({ a, c } = await acct(x.account, b));
        } catch (err) {
          return fail(failureOf(err) as Failure & Record<string, unknown>);
        }
        const ref = { symbol: x.symbol, id: x.id, clientOrderId: x.client_order_id };
        try {
          return ok({ ...accountOut(a), order: await within(c.cancelOrder(ref), b, 'cancel_order') });
        } catch (err) {
          const f = writeFailureOf(err);
          if (f.code !== 'UNKNOWN_OUTCOME') return fail(f as Failure & Record<string, unknown>);
          const lookup = x.id !== undefined ? { id: x.id } : { client_order_id: x.client_order_id };
          return fail({
            ...f,
            message: `cancel_order on account "${a.name}" (${x.symbol}): ${f.message}. Check the order's status with get_order (in the same trading session) before doing anything else.`,
            reconcile: { tool: 'get_order', arguments: { account: a.name, symbol: x.symbol, ...lookup } },
          });
        }
      },
    );
  },
});

export default toolset;
