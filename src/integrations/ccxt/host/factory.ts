/**
 * The exchange-host side of the `ccxt` resource kind: the only module that loads ccxt, once per
 * exchange-host thread (`init`).
 *
 * Two roles of client (see spec.ts):
 * - public: one per (exchange, market type, sandbox), shared by every session's lease — one
 *   rate limiter, as an exchange expects from one IP — with the market-data cache (cache.ts)
 *   next to it so identical requests of all sessions coalesce. Markets are loaded once.
 * - account: one per (session, account), credentials from the main thread (`ctx.secrets`).
 *   Its markets are taken from the public client of its venue on this host (the main thread
 *   places both on the same host), not loaded again.
 *
 * Every exposed method classifies what ccxt throws (errors.ts) and returns trimmed, bounded,
 * structured-cloneable data (no raw `info` payloads). `destroy` closes the instance — ccxt's
 * `close()` and its keep-alive HTTP dispatcher.
 */
import { defineResourceFactory, type FactoryContext } from '../../../host/factory.js';
import { TtlCache } from './cache.js';
import { CcxtError, ccxtError, classifyError } from '../shared/errors.js';
import { parseSpec, specLabel, venueKey, type ClientSpec, type FactoryConfig } from '../shared/spec.js';
import { levels, market, minmax, num, str, ticker, type Dict } from '../shared/shape.js';

/* The slice of ccxt this module uses (typed locally: the session and main threads never see ccxt's types). */
interface Exchange {
  id: string;
  name: string;
  countries?: string[];
  rateLimit: number;
  has: Record<string, unknown>;
  timeframes?: Record<string, unknown>;
  urls: Dict;
  markets?: Record<string, Dict>;
  symbols?: string[];
  fetchDispatcher?: { close(): Promise<void>; destroy(): Promise<void> };
  setSandboxMode(on: boolean): void;
  loadMarkets(): Promise<Record<string, Dict>>;
  setMarketsFromExchange(source: Exchange): Exchange;
  close(clean?: boolean): Promise<void>;
  fetchTicker(symbol: string): Promise<Dict>;
  fetchTickers(symbols?: string[]): Promise<Record<string, Dict>>;
  fetchOrderBook(symbol: string, limit?: number): Promise<Dict>;
  fetchOHLCV(symbol: string, timeframe: string, since?: number, limit?: number): Promise<number[][]>;
  fetchTrades(symbol: string, since?: number, limit?: number): Promise<Dict[]>;
  fetchBalance(): Promise<Dict>;
  fetchOpenOrders(symbol?: string, since?: number, limit?: number): Promise<Dict[]>;
  fetchOrder(id: string | undefined, symbol: string, params?: Dict): Promise<Dict>;
  fetchMyTrades(symbol?: string, since?: number, limit?: number): Promise<Dict[]>;
  createOrder(symbol: string, type: string, side: string, amount: number, price?: number, params?: Dict): Promise<Dict>;
  cancelOrder(id: string | undefined, symbol: string, params?: Dict): Promise<Dict>;
}
interface CcxtModule {
  version: string;
  exchanges: string[];
  [id: string]: unknown;
}

export interface Client {
  readonly spec: ClientSpec;
  readonly ex: Exchange;
  readonly label: string;
  /** Credential values, redacted from every message. */
  readonly secrets: string[];
  readonly cache: TtlCache | undefined;
  markets: Promise<void> | undefined;
  closed: boolean;
}

let ccxt: CcxtModule | undefined;
let cfg: FactoryConfig;
/** The public client of each venue on this host (account clients copy its markets). */
const publics = new Map<string, Client>();

/* ---------- small helpers ---------- */


function trade(t: Dict) {
  return {
    id: str(t.id),
    order: str(t.order),
    symbol: str(t.symbol),
    timestamp: num(t.timestamp),
    datetime: str(t.datetime),
    side: str(t.side),
    price: num(t.price),
    amount: num(t.amount),
    cost: num(t.cost),
    takerOrMaker: str(t.takerOrMaker),
    fee: t.fee ? { cost: num(t.fee.cost), currency: str(t.fee.currency) } : null,
  };
}

function order(o: Dict) {
  return {
    id: str(o.id),
    clientOrderId: str(o.clientOrderId),
    symbol: str(o.symbol),
    type: str(o.type),
    side: str(o.side),
    status: str(o.status),
    timeInForce: str(o.timeInForce),
    price: num(o.price),
    average: num(o.average),
    amount: num(o.amount),
    filled: num(o.filled),
    remaining: num(o.remaining),
    cost: num(o.cost),
    timestamp: num(o.timestamp),
    datetime: str(o.datetime),
    fee: o.fee ? { cost: num(o.fee.cost), currency: str(o.fee.currency) } : null,
  };
}


function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/* ---------- markets and guarded calls ---------- */

/** Loads the client's markets once (concurrent callers share the load); account clients copy them. */
async function ensureMarkets(c: Client): Promise<void> {
  if (c.ex.markets) return;
  c.markets ??= (async () => {
    if (c.spec.role === 'account') {
      const pub = publics.get(venueKey(c.spec));
      if (pub && !pub.closed) {
        await ensureMarkets(pub);
        c.ex.setMarketsFromExchange(pub.ex);
        return;
      }
    }
    await c.ex.loadMarkets();
  })().catch((err: unknown) => {
    c.markets = undefined;
    throw err;
  });
  await c.markets;
}

/** Runs one exchange call with markets loaded; anything thrown leaves as a classified CcxtError. */
async function run<T>(c: Client, write: boolean, fn: () => Promise<T>): Promise<T> {
  if (c.closed) throw ccxtError('EXCHANGE_UNAVAILABLE', `${c.label} has been closed; retry to get a fresh client`, true);
  try {
    await ensureMarkets(c);
  } catch (err) {
    if (err instanceof CcxtError) throw err;
    throw new CcxtError(classifyError(err, { label: `${c.label} (loading markets)`, secrets: c.secrets }));
  }
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CcxtError) throw err;
    throw new CcxtError(classifyError(err, { write, label: c.label, secrets: c.secrets }));
  }
}

function requireHas(c: Client, capability: string): void {
  if (!c.ex.has[capability]) throw ccxtError('NOT_SUPPORTED', `${c.label}: ${c.ex.id} does not support ${capability}`);
}

function requireMarket(c: Client, symbol: string): void {
  if (!c.ex.markets?.[symbol]) throw ccxtError('BAD_SYMBOL', `${c.label}: no market "${symbol}" (get_markets lists the symbols)`);
}

/* ---------- what a lessee may call ---------- */

export interface MarketQuery {
  query?: string;
  base?: string;
  quote?: string;
  activeOnly?: boolean;
  offset: number;
  limit: number;
}

function publicApi(c: Client) {
  const ttl = cfg.cache;
  const cached = <T>(key: string, ms: number, load: () => Promise<T>) => c.cache!.get(key, ms, load);
  return {
    async ensureMarkets() {
      await run(c, false, async () => {});
      return { count: c.ex.symbols?.length ?? 0 };
    },
    async describe() {
      return run(c, false, async () => ({
        id: c.ex.id,
        name: c.ex.name,
        countries: (c.ex.countries ?? []).slice(0, 20),
        marketType: c.spec.marketType,
        sandbox: c.spec.sandbox,
        rateLimitMs: c.ex.rateLimit,
        timeframes: Object.keys(c.ex.timeframes ?? {}).slice(0, 64),
        has: Object.keys(c.ex.has)
          .filter((k) => c.ex.has[k] === true)
          .sort()
          .slice(0, 400),
        marketCount: c.ex.symbols?.length ?? 0,
        website: str(Array.isArray(c.ex.urls?.www) ? c.ex.urls.www[0] : c.ex.urls?.www),
        docs: str(Array.isArray(c.ex.urls?.doc) ? c.ex.urls.doc[0] : c.ex.urls?.doc),
      }));
    },
    async markets(q: MarketQuery) {
      return run(c, false, async () => {
        const needle = q.query?.toLowerCase();
        const base = q.base?.toUpperCase();
        const quote = q.quote?.toUpperCase();
        const all = Object.values(c.ex.markets ?? {})
          .filter((m) => (!needle || String(m.symbol).toLowerCase().includes(needle) || String(m.id).toLowerCase().includes(needle)))
          .filter((m) => (!base || m.base === base) && (!quote || m.quote === quote) && (!q.activeOnly || m.active !== false))
          .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
        return { total: all.length, offset: q.offset, markets: all.slice(q.offset, q.offset + q.limit).map(market) };
      });
    },
    async ticker(symbol: string) {
      return run(c, false, async () => {
        requireHas(c, 'fetchTicker');
        requireMarket(c, symbol);
        return cached(`ticker ${symbol}`, ttl.tickerMs, async () => ticker(await c.ex.fetchTicker(symbol)));
      });
    },
    async tickers(symbols: string[]) {
      return run(c, false, async () => {
        requireHas(c, 'fetchTickers');
        for (const s of symbols) requireMarket(c, s);
        const sorted = [...new Set(symbols)].sort();
        return cached(`tickers ${sorted.join(',')}`, ttl.tickersMs, async () => {
          const all = await c.ex.fetchTickers(sorted);
          return sorted.filter((s) => all[s]).map((s) => ticker(all[s]!));
        });
      });
    },
    async orderBook(symbol: string, limit: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchOrderBook');
        requireMarket(c, symbol);
        return cached(`book ${symbol} ${limit}`, ttl.orderBookMs, async () => {
          const ob = await c.ex.fetchOrderBook(symbol, limit);
          return { symbol, timestamp: num(ob.timestamp), datetime: str(ob.datetime), nonce: num(ob.nonce), bids: levels(ob.bids, limit), asks: levels(ob.asks, limit) };
        });
      });
    },
    async ohlcv(symbol: string, timeframe: string, since: number | undefined, limit: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchOHLCV');
        requireMarket(c, symbol);
        const frames = Object.keys(c.ex.timeframes ?? {});
        if (frames.length > 0 && !frames.includes(timeframe)) {
          throw ccxtError('BAD_REQUEST', `${c.label}: timeframe "${timeframe}" is not offered; use one of ${frames.join(', ')}`);
        }
        const rows = await c.ex.fetchOHLCV(symbol, timeframe, since, limit);
        return rows.slice(-limit).map((r) => r.slice(0, 6).map((x) => num(x) ?? 0));
      });
    },
    async trades(symbol: string, since: number | undefined, limit: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchTrades');
        requireMarket(c, symbol);
        return (await c.ex.fetchTrades(symbol, since, limit)).slice(-limit).map(trade);
      });
    },
    cacheStats() {
      return c.cache!.stats();
    },
  };
}

export interface NewOrder {
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  amount: number;
  price?: number;
  clientOrderId: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
}

export interface OrderRef {
  symbol: string;
  id?: string;
  clientOrderId?: string;
}

function refParams(r: OrderRef): Dict | undefined {
  return r.id === undefined && r.clientOrderId !== undefined ? { clientOrderId: r.clientOrderId } : undefined;
}

function accountApi(c: Client) {
  return {
    async balance(maxCurrencies: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchBalance');
        const b = await c.ex.fetchBalance();
        const total = (b.total ?? {}) as Dict;
        const rows = Object.keys(total)
          .filter((cur) => num(total[cur]) || num(b.free?.[cur]) || num(b.used?.[cur]))
          .sort()
          .map((cur) => ({ currency: cur, free: num(b.free?.[cur]), used: num(b.used?.[cur]), total: num(total[cur]) }));
        return { balances: rows.slice(0, maxCurrencies), truncated: rows.length > maxCurrencies };
      });
    },
    async openOrders(symbol: string | undefined, since: number | undefined, limit: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchOpenOrders');
        if (symbol !== undefined) requireMarket(c, symbol);
        return (await c.ex.fetchOpenOrders(symbol, since, limit)).slice(-limit).map(order);
      });
    },
    async order(ref: OrderRef) {
      return run(c, false, async () => {
        requireHas(c, 'fetchOrder');
        requireMarket(c, ref.symbol);
        return order(await c.ex.fetchOrder(ref.id, ref.symbol, refParams(ref)));
      });
    },
    async myTrades(symbol: string, since: number | undefined, limit: number) {
      return run(c, false, async () => {
        requireHas(c, 'fetchMyTrades');
        requireMarket(c, symbol);
        return (await c.ex.fetchMyTrades(symbol, since, limit)).slice(-limit).map(trade);
      });
    },
    async createOrder(o: NewOrder) {
      return run(c, true, async () => {
        requireHas(c, 'createOrder');
        requireMarket(c, o.symbol);
        const params: Dict = { clientOrderId: o.clientOrderId };
        if (o.timeInForce) params.timeInForce = o.timeInForce;
        if (o.postOnly) params.postOnly = true;
        return order(await c.ex.createOrder(o.symbol, o.type, o.side, o.amount, o.price, params));
      });
    },
    async cancelOrder(ref: OrderRef) {
      return run(c, true, async () => {
        requireHas(c, 'cancelOrder');
        requireMarket(c, ref.symbol);
        return order(await c.ex.cancelOrder(ref.id, ref.symbol, refParams(ref)));
      });
    },
  };
}

export type PublicApi = ReturnType<typeof publicApi>;
export type AccountApi = ReturnType<typeof accountApi>;

/* ---------- the factory ---------- */

/**
 * ccxt deep-merges `urls` overrides into its own: an override must have the shape of what it
 * replaces (binance's `urls.api` is an object of API families, not one URL). A mismatch would fail
 * deep inside ccxt ("Cannot use 'in' operator…"); say what is wrong instead.
 */
function checkUrlOverrides(exchange: string, given: Dict, defaults: Dict | undefined, path = 'urls'): void {
  for (const [key, value] of Object.entries(given)) {
    const expected = defaults?.[key];
    if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) continue;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const keys = Object.keys(expected as Dict);
      throw ccxtError(
        'BAD_REQUEST',
        `this server's configuration ccxt.overrides.${exchange}.${path}.${key} must be an object with the keys ${exchange} uses (${keys.slice(0, 6).join(', ')}${keys.length > 6 ? `, … ${keys.length} in all` : ''}), not ${JSON.stringify(value)?.slice(0, 60)}; \`npm run fake-exchange\` prints a working configuration for its fake exchange`,
      );
    }
    checkUrlOverrides(exchange, value as Dict, expected as Dict, `${path}.${key}`);
  }
}

export default defineResourceFactory<ClientSpec, Client>({
  async init(config) {
    cfg = config as unknown as FactoryConfig;
    const mod = (await import('ccxt')) as unknown as { default?: CcxtModule } & CcxtModule;
    ccxt = mod.default ?? mod;
  },

  async create(rawSpec, ctx: FactoryContext) {
    if (!ccxt) throw new Error('ccxt is not loaded in this host');
    const spec = parseSpec(rawSpec);
    const label = specLabel(spec);
    const Cls = ccxt[spec.exchange];
    if (!cfg.exchanges.includes(spec.exchange) || typeof Cls !== 'function' || !ccxt.exchanges.includes(spec.exchange)) {
      throw ccxtError('NOT_SUPPORTED', `exchange "${spec.exchange}" is not available on this server`);
    }
    const o = cfg.overrides[spec.exchange] ?? {};
    const user: Dict = {
      timeout: o.timeoutMs ?? cfg.timeoutMs,
      enableRateLimit: o.enableRateLimit ?? true,
      options: { ...(o.options ?? {}), defaultType: spec.marketType },
    };
    if (o.rateLimitMs !== undefined) user.rateLimit = o.rateLimitMs;
    if (o.urls) {
      checkUrlOverrides(spec.exchange, o.urls, (new (Cls as new (c: Dict) => Exchange)({}) as { urls: Dict }).urls);
      user.urls = o.urls;
    }
    const secrets: string[] = [];
    if (spec.role === 'account') {
      const s = ctx.secrets;
      if (!s?.apiKey || !s.secret) throw ccxtError('AUTH_FAILED', `${label}: no credentials were provided for it`);
      for (const k of ['apiKey', 'secret', 'password', 'uid'] as const) {
        if (s[k] === undefined) continue;
        user[k] = s[k];
        secrets.push(s[k]);
      }
    }
    let ex: Exchange;
    try {
      ex = new (Cls as new (c: Dict) => Exchange)(user);
      if (spec.sandbox) ex.setSandboxMode(true);
    } catch (err) {
      throw new CcxtError(classifyError(err, { label, secrets }));
    }
    const client: Client = { spec, ex, label, secrets, cache: spec.role === 'public' ? new TtlCache(cfg.cache.maxEntries) : undefined, markets: undefined, closed: false };
    if (spec.role === 'public') publics.set(venueKey(spec), client);
    else {
      // Markets now if this host's public client of the venue has them (no request at all).
      const pub = publics.get(venueKey(spec));
      if (pub?.ex.markets) ex.setMarketsFromExchange(pub.ex);
    }
    return client;
  },

  expose(c) {
    if (c.spec.role === 'account') return accountApi(c);
    return publicApi(c);
  },

  async destroy(c) {
    c.closed = true;
    if (c.spec.role === 'public' && publics.get(venueKey(c.spec)) === c) publics.delete(venueKey(c.spec));
    c.cache?.clear();
    try {
      await withTimeout(c.ex.close(true), 2_000);
    } catch {
      // closing is best effort
    }
    const d = c.ex.fetchDispatcher;
    if (d) {
      const closed = await withTimeout(
        d.close().then(() => true),
        2_000,
      ).catch(() => undefined);
      if (!closed) await d.destroy().catch(() => {});
    }
  },
});
