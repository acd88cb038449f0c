/**
 * The ccxt tools' argument and result schemas. Every argument is bounded (string lengths, list
 * sizes, page sizes), so no call can ask for a response of unbounded size.
 *
 * `args` and `out` are the raw shapes (also used by the benchmark baseline); `input` and `output`
 * are what the toolset registers: `z.object`s, every input with the `session_id` handle argument.
 */
import { z } from 'zod';
import { ACCOUNT_NAME, EXCHANGE_ID, MARKET_TYPES } from '../shared/spec.js';

export const LIMITS = {
  marketsPage: 200,
  marketsOffset: 1_000_000,
  tickers: 50,
  orderBook: 100,
  ohlcv: 500,
  trades: 500,
  openOrders: 200,
  myTrades: 500,
  balances: 500,
} as const;

const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
/** Binance allows 36 characters of [.A-Z:/a-z0-9_-]; most exchanges accept that subset. */
export const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,36}$/;

export const symbol = z.string().regex(SYMBOL, 'a unified ccxt symbol such as "BTC/USDT"').describe('Unified market symbol, e.g. "BTC/USDT"');
const since = z.number().int().min(0).max(1e14).optional().describe('Earliest time, epoch milliseconds');

export const venueArgs = {
  exchange: z.string().regex(EXCHANGE_ID).optional().describe('ccxt exchange id (list_exchanges); default: the server\'s default exchange'),
  market_type: z.enum(MARKET_TYPES).optional().describe('Market type, default "spot"'),
  sandbox: z.boolean().optional().describe('Use the exchange\'s sandbox/testnet, default false'),
};

export const accountArg = { account: z.string().regex(ACCOUNT_NAME).describe('Account name (list_accounts); never a key or secret') };

export const args = {
  list_exchanges: {},
  describe_exchange: { ...venueArgs },
  get_markets: {
    ...venueArgs,
    query: z.string().max(64).optional().describe('Case-insensitive substring of the symbol or exchange id'),
    base: z.string().max(32).optional(),
    quote: z.string().max(32).optional(),
    active_only: z.boolean().optional(),
    offset: z.number().int().min(0).max(LIMITS.marketsOffset).default(0),
    limit: z.number().int().min(1).max(LIMITS.marketsPage).default(50),
  },
  get_ticker: { ...venueArgs, symbol },
  get_tickers: { ...venueArgs, symbols: z.array(symbol).min(1).max(LIMITS.tickers) },
  get_order_book: { ...venueArgs, symbol, limit: z.number().int().min(1).max(LIMITS.orderBook).default(20) },
  get_ohlcv: {
    ...venueArgs,
    symbol,
    timeframe: z.string().regex(/^[0-9]{1,3}[smhdwMy]$/).default('1h').describe('Candle size, e.g. "1m", "1h", "1d"'),
    since,
    limit: z.number().int().min(1).max(LIMITS.ohlcv).default(100),
  },
  get_trades: { ...venueArgs, symbol, since, limit: z.number().int().min(1).max(LIMITS.trades).default(50) },
  list_accounts: {},
  get_balance: { ...accountArg },
  get_open_orders: { ...accountArg, symbol: symbol.optional(), since, limit: z.number().int().min(1).max(LIMITS.openOrders).default(50) },
  get_order: {
    ...accountArg,
    symbol,
    id: z.string().min(1).max(64).optional().describe('Exchange order id'),
    client_order_id: z.string().regex(CLIENT_ORDER_ID).optional().describe('Client order id (given or generated at create_order)'),
  },
  get_my_trades: { ...accountArg, symbol, since, limit: z.number().int().min(1).max(LIMITS.myTrades).default(50) },
  create_order: {
    ...accountArg,
    symbol,
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    amount: z.number().positive().max(1e15).describe('Amount in the base currency'),
    price: z.number().positive().max(1e15).optional().describe('Limit price (required for limit orders)'),
    client_order_id: z
      .string()
      .regex(CLIENT_ORDER_ID)
      .optional()
      .describe('Your idempotency key for this order; generated when omitted. Reconcile an UNKNOWN_OUTCOME with it.'),
    time_in_force: z.enum(['GTC', 'IOC', 'FOK']).optional(),
    post_only: z.boolean().optional(),
  },
  cancel_order: {
    ...accountArg,
    symbol,
    id: z.string().min(1).max(64).optional(),
    client_order_id: z.string().regex(CLIENT_ORDER_ID).optional(),
  },
} as const;

/* ---------- results ---------- */

const n = z.number().nullable();
const s = z.string().nullable();
const range = z.object({ min: n, max: n });

export const venueOut = { exchange: z.string(), market_type: z.string(), sandbox: z.boolean() };
const accountOut = { account: z.string(), exchange: z.string() };

export const tickerOut = z.object({
  symbol: z.string(),
  timestamp: n,
  datetime: s,
  last: n,
  bid: n,
  ask: n,
  high: n,
  low: n,
  open: n,
  close: n,
  change: n,
  percentage: n,
  vwap: n,
  baseVolume: n,
  quoteVolume: n,
});

const marketOut = z.object({
  symbol: z.string(),
  id: s,
  base: s,
  quote: s,
  type: s,
  active: z.boolean().nullable(),
  precision: z.object({ price: n, amount: n }),
  limits: z.object({ amount: range, price: range, cost: range }),
});

const fee = z.object({ cost: n, currency: s }).nullable();

const tradeOut = z.object({
  id: s,
  order: s,
  symbol: s,
  timestamp: n,
  datetime: s,
  side: s,
  price: n,
  amount: n,
  cost: n,
  takerOrMaker: s,
  fee,
});

export const orderOut = z.object({
  id: s,
  clientOrderId: s,
  symbol: s,
  type: s,
  side: s,
  status: s,
  timeInForce: s,
  price: n,
  average: n,
  amount: n,
  filled: n,
  remaining: n,
  cost: n,
  timestamp: n,
  datetime: s,
  fee,
});

const accountInfoOut = z.object({ name: z.string(), exchange: z.string(), market_type: z.string(), sandbox: z.boolean(), source: z.enum(['server', 'session']) });

export const out = {
  list_exchanges: { exchanges: z.array(z.object({ id: z.string(), default: z.boolean() })), default_exchange: z.string() },
  describe_exchange: {
    ...venueOut,
    name: z.string(),
    countries: z.array(z.string()),
    rate_limit_ms: z.number(),
    timeframes: z.array(z.string()),
    has: z.array(z.string()).describe('Unified methods the exchange supports'),
    market_count: z.number(),
    website: s,
    docs: s,
  },
  get_markets: { ...venueOut, total: z.number(), offset: z.number(), markets: z.array(marketOut) },
  get_ticker: { ...venueOut, ticker: tickerOut },
  get_tickers: { ...venueOut, tickers: z.array(tickerOut) },
  get_order_book: {
    ...venueOut,
    symbol: z.string(),
    timestamp: n,
    datetime: s,
    nonce: n,
    bids: z.array(z.array(z.number())).describe('[price, amount], best first'),
    asks: z.array(z.array(z.number())),
  },
  get_ohlcv: { ...venueOut, symbol: z.string(), timeframe: z.string(), candles: z.array(z.array(z.number())).describe('[time, open, high, low, close, volume]') },
  get_trades: { ...venueOut, symbol: z.string(), trades: z.array(tradeOut) },
  list_accounts: { accounts: z.array(accountInfoOut) },
  get_balance: {
    ...accountOut,
    balances: z.array(z.object({ currency: z.string(), free: n, used: n, total: n })),
    truncated: z.boolean(),
  },
  get_open_orders: { ...accountOut, orders: z.array(orderOut) },
  get_order: { ...accountOut, order: orderOut },
  get_my_trades: { ...accountOut, symbol: z.string(), trades: z.array(tradeOut) },
  create_order: { ...accountOut, order: orderOut },
  cancel_order: { ...accountOut, order: orderOut },
} as const;

/* ---------- the tools' schemas as registered (SDK v2: z.object), with the trading-session handle ---------- */

/**
 * The handle argument every ccxt tool takes (the `session` toolset's `create_session` mints it; see
 * HandleSpec). Optional in the schema: a 2025 MCP session is itself the trading session.
 */
export const SESSION_ARG = 'session_id';

const handle = z.string().min(1).max(128).optional();

/** Account tools: they act in one trading session (its accounts, its dedicated clients). */
const useSession = {
  [SESSION_ARG]: handle.describe(
    'The trading session this call acts in: the session_id that create_session returned. Required on MCP 2026-07-28; ' +
      'in a 2025-era MCP session it may be omitted (the MCP session is the trading session).',
  ),
} as const;

/** Public market-data tools: a trading session is optional. */
const optionalSession = {
  [SESSION_ARG]: handle.describe(
    'Optional: a trading session (the session_id create_session returned) to run this call in. ' +
      'Without it the call runs statelessly on shared public exchange clients; the answer is the same.',
  ),
} as const;

export const input = {
  list_exchanges: z.object({ ...args.list_exchanges, ...optionalSession }),
  describe_exchange: z.object({ ...args.describe_exchange, ...optionalSession }),
  get_markets: z.object({ ...args.get_markets, ...optionalSession }),
  get_ticker: z.object({ ...args.get_ticker, ...optionalSession }),
  get_tickers: z.object({ ...args.get_tickers, ...optionalSession }),
  get_order_book: z.object({ ...args.get_order_book, ...optionalSession }),
  get_ohlcv: z.object({ ...args.get_ohlcv, ...optionalSession }),
  get_trades: z.object({ ...args.get_trades, ...optionalSession }),
  list_accounts: z.object({ ...args.list_accounts, ...useSession }),
  get_balance: z.object({ ...args.get_balance, ...useSession }),
  get_open_orders: z.object({ ...args.get_open_orders, ...useSession }),
  get_order: z.object({ ...args.get_order, ...useSession }),
  get_my_trades: z.object({ ...args.get_my_trades, ...useSession }),
  create_order: z.object({ ...args.create_order, ...useSession }),
  cancel_order: z.object({ ...args.cancel_order, ...useSession }),
} as const;

export const output = {
  list_exchanges: z.object(out.list_exchanges),
  describe_exchange: z.object(out.describe_exchange),
  get_markets: z.object(out.get_markets),
  get_ticker: z.object(out.get_ticker),
  get_tickers: z.object(out.get_tickers),
  get_order_book: z.object(out.get_order_book),
  get_ohlcv: z.object(out.get_ohlcv),
  get_trades: z.object(out.get_trades),
  list_accounts: z.object(out.list_accounts),
  get_balance: z.object(out.get_balance),
  get_open_orders: z.object(out.get_open_orders),
  get_order: z.object(out.get_order),
  get_my_trades: z.object(out.get_my_trades),
  create_order: z.object(out.create_order),
  cancel_order: z.object(out.cancel_order),
} as const;

/** The tools that also run without a trading session (statelessly on MCP 2026-07-28). */
export const PUBLIC_TOOLS = ['list_exchanges', 'describe_exchange', 'get_markets', 'get_ticker', 'get_tickers', 'get_order_book', 'get_ohlcv', 'get_trades'] as const;
