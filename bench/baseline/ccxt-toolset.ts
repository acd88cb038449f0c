/**
 * The benchmark baseline's ccxt toolset: the public market-data tools of `src/integrations/ccxt/actor`
 * (same names, same argument and result schemas — `session_id` is accepted and, with no trading
 * sessions here, ignored) implemented the way a single-process SDK
 * server would — ccxt imported into the server's only thread, one shared ccxt instance per
 * venue (exchange, market type, sandbox) with its markets loaded once, and the same cache
 * (src/integrations/ccxt/host/cache.ts, same TTLs: coalescing only when they are 0), so the comparison
 * measures where the work runs, not what it does.
 *
 * Configured by the environment (the baseline CLI takes no config file):
 *   MCP_BENCH_CCXT = JSON { exchange, overrides: { urls, options, enableRateLimit?, timeoutMs? },
 *                           timeoutMs?, cache?: { tickerMs, tickersMs, orderBookMs } }
 *
 * Used as a toolset path: `node dist/bench/baseline/cli.js --toolsets dist/bench/baseline/ccxt-toolset.js,diagnostics`.
 */
import ccxt from 'ccxt';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { TtlCache } from '../../src/integrations/ccxt/host/cache.js';
import { classifyError } from '../../src/integrations/ccxt/shared/errors.js';
import { venueKey, type MarketType } from '../../src/integrations/ccxt/shared/spec.js';
import { input, output } from '../../src/integrations/ccxt/actor/schemas.js';
import { defineToolset } from '../../src/actor/toolsets/types.js';
import { toolError } from '../../src/actor/toolsets/tool-error.js';
import { levels, num, str, ticker, type Dict } from '../../src/integrations/ccxt/shared/shape.js';

interface BenchCcxtConfig {
  exchange: string;
  overrides?: { urls?: Record<string, unknown>; options?: Record<string, unknown>; enableRateLimit?: boolean; timeoutMs?: number };
  timeoutMs?: number;
  cache?: { tickerMs?: number; tickersMs?: number; orderBookMs?: number };
}

const cfg: BenchCcxtConfig = JSON.parse(process.env.MCP_BENCH_CCXT ?? '{"exchange":"binance"}') as BenchCcxtConfig;
const ttl = { tickerMs: cfg.cache?.tickerMs ?? 1_000, tickersMs: cfg.cache?.tickersMs ?? 1_000, orderBookMs: cfg.cache?.orderBookMs ?? 500 };

interface Venue {
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
}
interface Client {
  ex: Dict;
  markets: Promise<unknown>;
  cache: TtlCache;
}

/** Process-wide: every session shares one instance per venue (as one process should). */
const clients = new Map<string, Client>();

function client(v: Venue): Client {
  const key = venueKey(v);
  let c = clients.get(key);
  if (!c) {
    const Cls = (ccxt as unknown as Record<string, new (o: Dict) => Dict>)[v.exchange];
    if (!Cls) throw new Error(`unknown exchange ${v.exchange}`);
    const o = cfg.overrides ?? {};
    const ex = new Cls({
      timeout: o.timeoutMs ?? cfg.timeoutMs ?? 10_000,
      enableRateLimit: o.enableRateLimit ?? true,
      options: { ...(o.options ?? {}), defaultType: v.marketType },
      ...(o.urls ? { urls: o.urls } : {}),
    });
    if (v.sandbox) ex.setSandboxMode(true);
    const created: Client = { ex, markets: Promise.resolve(), cache: new TtlCache(10_000) };
    created.markets = ex.loadMarkets().catch((err: unknown) => {
      clients.delete(key);
      throw err;
    });
    clients.set(key, created);
    c = created;
  }
  return c;
}

function venueOf(a: { exchange?: string; market_type?: MarketType; sandbox?: boolean }): Venue {
  return { exchange: a.exchange ?? cfg.exchange, marketType: a.market_type ?? 'spot', sandbox: a.sandbox ?? false };
}

function ok<T extends Record<string, unknown>>(value: T): CallToolResult & { structuredContent: T } {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/** The runtime's ccxt tool error: the classified failure as text and structuredContent (actor/toolsets/tool-error.ts). */
function fail(err: unknown): CallToolResult {
  const { code, message, retryable, ...details } = classifyError(err);
  return toolError(code, message, retryable, details);
}

export const toolset = defineToolset({
  name: 'ccxt',
  description: 'ccxt market data, in-process (benchmark baseline)',
  register(server) {
    server.registerTool('get_ticker', { inputSchema: input.get_ticker, outputSchema: output.get_ticker }, async (a) => {
      try {
        const v = venueOf(a);
        const c = client(v);
        await c.markets;
        const t = await c.cache.get(`ticker ${a.symbol}`, ttl.tickerMs, async () => ticker(await c.ex.fetchTicker(a.symbol)));
        return ok({ exchange: v.exchange, market_type: v.marketType, sandbox: v.sandbox, ticker: t });
      } catch (err) {
        return fail(err);
      }
    });
    server.registerTool('get_order_book', { inputSchema: input.get_order_book, outputSchema: output.get_order_book }, async (a) => {
      try {
        const v = venueOf(a);
        const c = client(v);
        await c.markets;
        const ob = await c.cache.get(`book ${a.symbol} ${a.limit}`, ttl.orderBookMs, async () => {
          const b = await c.ex.fetchOrderBook(a.symbol, a.limit);
          return { symbol: a.symbol, timestamp: num(b.timestamp), datetime: str(b.datetime), nonce: num(b.nonce), bids: levels(b.bids, a.limit), asks: levels(b.asks, a.limit) };
        });
        return ok({ exchange: v.exchange, market_type: v.marketType, sandbox: v.sandbox, ...ob });
      } catch (err) {
        return fail(err);
      }
    });
  },
});

export default toolset;
