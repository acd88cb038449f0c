/**
 * The fake Binance-spot exchange (test/support/fake-exchange) driven by REAL, unmodified
 * ccxt 4.5.84 `binance` over real HTTP on 127.0.0.1. No mocks.
 *
 * GROUND TRUTH — what ccxt 4.5.84 binance throws for each failure (verified by the table test
 * below; "<" = extends). Class chain in this ccxt: DDoSProtection < NetworkError <
 * OperationFailed < BaseError; RequestTimeout / ExchangeNotAvailable / RateLimitExceeded <
 * NetworkError; InvalidNonce < NetworkError; AuthenticationError / BadRequest / InvalidOrder /
 * InsufficientFunds < ExchangeError < BaseError; BadSymbol < BadRequest; OrderNotFound < InvalidOrder.
 *
 *   transport / gateway
 *     HTTP 429 (+ Binance -1003 JSON body) ........ DDoSProtection   (status checked before body)
 *     HTTP 418 (IP ban, -1003 body) ............... DDoSProtection
 *     HTTP 500 / 502 / 503 (HTML body) ............ ExchangeNotAvailable
 *     HTTP 504 (HTML body) ........................ RequestTimeout   (!) outcome unknown
 *     slow answer beyond ccxt `timeout` ........... RequestTimeout
 *     hang (no answer) ............................ RequestTimeout
 *     hangAfterCommit (order made, no answer) ..... RequestTimeout   — order EXISTS
 *     reset (socket destroyed) .................... NetworkError (exact class) "fetch failed: other side closed"
 *     resetAfterCommit ............................ NetworkError     — order EXISTS
 *     unknown path (HTTP 404 text) ................ ExchangeNotAvailable
 *     garbage (HTTP 200, non-JSON body):
 *       fetchTicker / createOrder ................. plain TypeError (NOT a ccxt BaseError!)
 *       fetchBalance .............................. no error: empty balance {}  (silent!)
 *       fetchOHLCV / fetchOpenOrders .............. no error: junk rows (silent!)
 *   Binance error JSON {"code","msg"} (HTTP 400 unless noted)
 *     -1003 with HTTP 429 ......................... DDoSProtection
 *     -1003 with HTTP 400 ......................... RateLimitExceeded
 *     -1015 too many new orders ................... RateLimitExceeded
 *     -1000 / -1001 (HTTP 503) .................... OperationFailed
 *     -1007 backend timeout (HTTP 503) ............ RequestTimeout   (!) outcome unknown
 *     -1008 overloaded (HTTP 503) ................. ExchangeError against the fake, OperationFailed
 *                                                   on binance.com — see alignSpotErrorMapping()
 *     -1021 timestamp outside recvWindow .......... InvalidNonce
 *     -1022 bad signature (wrong secret) .......... AuthenticationError
 *     -1121 invalid symbol ........................ BadSymbol
 *     -1100 / -1102 / -1013 ....................... BadRequest
 *     -2010 "Account has insufficient balance…" ... InsufficientFunds (matched on the message)
 *     -2010 "Duplicate order sent." ............... InvalidOrder      (matched on the code)
 *     -2011 unknown order on cancel ............... OrderNotFound
 *     -2013 order does not exist .................. OrderNotFound
 *     -2014 API-key format invalid (HTTP 401) ..... AuthenticationError
 *     -2015 invalid key (HTTP 401), first private
 *           call of the instance .................. AuthenticationError
 *     -2015 after ANY earlier successful private
 *           call of the same instance ............. DDoSProtection (ccxt treats it as a temporary ban)
 *
 * Against the fake, ccxt's binance applies only its *common* error table: the spot-specific
 * table is chosen by URL prefix (https://api.binance.com/…). For the codes above the two agree
 * except -1008 (and -1004, -1131, …); alignSpotErrorMapping(exchange) makes them agree fully.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ccxt, { type binance as Binance } from 'ccxt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, startServer } from './support/server.js';
import { callTool, openSession } from './support/mcp-http.js';

import {
  alignSpotErrorMapping,
  BINANCE_API_PATHS,
  binanceOverrides,
  hmacSha256Hex,
  nonLoopbackUrls,
  startFakeExchange,
  type FakeExchange,
  type FaultSpec,
} from './support/fake-exchange/index.js';

const A = { apiKey: 'key-A-0001', secret: 'secret-A' };
const B = { apiKey: 'key-B-0002', secret: 'secret-B' };

interface Client {
  ex: Binance;
  /** Every HTTP request ccxt issued, as seen at ccxt's lowest fetch layer. */
  sent: Array<{ method: string; url: string }>;
}

function client(fx: FakeExchange, creds?: { apiKey: string; secret: string }, timeout = 1500): Client {
  const ex = new ccxt.binance({ ...binanceOverrides(fx.url), ...creds, timeout, enableRateLimit: false });
  const sent: Client['sent'] = [];
  const original = ex.fetch.bind(ex);
  ex.fetch = (url: string, method?: string, headers?: unknown, body?: unknown) => {
    sent.push({ method: method ?? 'GET', url });
    return original(url, method, headers, body);
  };
  return { ex, sent };
}

function idOf(o: { id: string | undefined }): string {
  expect(o.id).toEqual(expect.any(String));
  return o.id as string;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('ccxt overrides', () => {
  it('cover every binance API family, so a constructed client only knows loopback URLs', async () => {
    const pristine = new ccxt.binance();
    // a ccxt upgrade that adds an API family must fail here, not silently reach binance.com
    expect(Object.keys(BINANCE_API_PATHS).sort()).toEqual(Object.keys(pristine.urls['api']).sort());
    for (const env of ['test', 'demo'] as const) {
      for (const k of Object.keys(pristine.urls[env])) expect(BINANCE_API_PATHS).toHaveProperty(k);
    }
    expect(nonLoopbackUrls(pristine.urls['api']).length).toBeGreaterThan(10);

    const ex = new ccxt.binance({ ...binanceOverrides('http://127.0.0.1:9') });
    expect(nonLoopbackUrls(ex.urls['api'])).toEqual([]);
    expect(nonLoopbackUrls(ex.urls['test'])).toEqual([]);
    expect(nonLoopbackUrls(ex.urls['demo'])).toEqual([]);
    ex.setSandboxMode(true);
    expect(nonLoopbackUrls(ex.urls['api'])).toEqual([]);
    expect(() => binanceOverrides('http://10.0.0.1:80')).toThrow(/loopback/);
  });
});

describe('public market data', () => {
  let fx: FakeExchange;
  beforeAll(async () => {
    fx = await startFakeExchange({ accounts: [] });
  });
  afterAll(() => fx.close());

  it('loadMarkets fetches exchangeInfo exactly once per instance and parses the markets', async () => {
    const c = client(fx);
    await c.ex.loadMarkets();
    await c.ex.loadMarkets();
    await c.ex.fetchTicker('BTC/USDT');
    expect(fx.count('/api/v3/exchangeInfo')).toBe(1);
    const m = c.ex.market('BTC/USDT');
    expect(m).toMatchObject({ id: 'BTCUSDT', base: 'BTC', quote: 'USDT', spot: true, active: true, type: 'spot' });
    expect(m.precision).toMatchObject({ price: 0.01, amount: 0.00001 });
    expect(m.limits.cost?.min).toBe(5);
    expect(c.ex.symbols).toEqual(expect.arrayContaining(['BTC/USDT', 'ETH/USDT', 'ETH/BTC', 'XRP/USDT']));
    // loadMarkets (with these options) touched nothing but exchangeInfo
    expect(fx.log[0]?.path).toBe('/api/v3/exchangeInfo');

    await client(fx).ex.loadMarkets();
    expect(fx.count('/api/v3/exchangeInfo')).toBe(2);
  });

  it('fetchTicker, fetchTickers, fetchOrderBook, fetchOHLCV, fetchTrades parse and match the fake', async () => {
    const { ex } = client(fx);
    const price = fx.price('BTCUSDT');
    const t = await ex.fetchTicker('BTC/USDT');
    expect(t.symbol).toBe('BTC/USDT');
    expect(t.last).toBe(price);
    expect(t.bid).toBeLessThan(t.ask as number);
    expect(t.high).toBeGreaterThanOrEqual(t.low as number);

    fx.setPrice('BTCUSDT', 70_000.5);
    expect((await ex.fetchTicker('BTC/USDT')).last).toBe(70_000.5);

    const all = await ex.fetchTickers();
    expect(Object.keys(all).sort()).toEqual([...ex.symbols].sort());
    const some = await ex.fetchTickers(['ETH/USDT', 'SOL/USDT']);
    expect(Object.keys(some).sort()).toEqual(['ETH/USDT', 'SOL/USDT']);
    expect(fx.log.at(-1)?.query['symbols']).toBe('["ETHUSDT","SOLUSDT"]');

    const ob = await ex.fetchOrderBook('ETH/USDT', 5);
    expect(fx.log.at(-1)).toMatchObject({ path: '/api/v3/depth', query: { symbol: 'ETHUSDT', limit: '5' } });
    expect(ob.bids).toHaveLength(5);
    expect(ob.asks).toHaveLength(5);
    expect(ob.bids[0]![0]).toBeLessThan(ob.asks[0]![0] as number);
    expect(ob.bids.map((l) => l[0])).toEqual([...ob.bids.map((l) => l[0])].sort((x, y) => (y as number) - (x as number)));

    const since = Date.now() - 10 * 3_600_000;
    const candles = await ex.fetchOHLCV('BTC/USDT', '1h', since, 4);
    expect(candles).toHaveLength(4);
    for (const [ts, o, h, l, c, v] of candles) {
      expect((ts as number) % 3_600_000).toBe(0);
      expect(ts).toBeGreaterThanOrEqual(since);
      expect(h).toBeGreaterThanOrEqual(Math.max(o as number, c as number));
      expect(l).toBeLessThanOrEqual(Math.min(o as number, c as number));
      expect(v).toBeGreaterThan(0);
    }
    const recent = await ex.fetchOHLCV('BTC/USDT', '1m', undefined, 3);
    expect(recent).toHaveLength(3);
    expect(recent.at(-1)![4]).toBe(70_000.5); // the open candle closes at the current price

    const trades = await ex.fetchTrades('BTC/USDT', undefined, 3);
    expect(fx.log.at(-1)).toMatchObject({ path: '/api/v3/aggTrades', query: { symbol: 'BTCUSDT', limit: '3' } });
    expect(trades).toHaveLength(3);
    for (const tr of trades) {
      expect(tr.symbol).toBe('BTC/USDT');
      expect(tr.price).toBeGreaterThan(0);
      expect(tr.amount).toBeGreaterThan(0);
      expect(['buy', 'sell']).toContain(tr.side);
    }
    expect(trades[0]!.timestamp).toBeLessThan(trades[2]!.timestamp as number);

    const bad = await failure(ex.publicGetTicker24hr({ symbol: 'NOPEUSDT' }));
    expect(bad).toBeInstanceOf(ccxt.BadSymbol);
    expect(fx.internalErrors).toEqual([]);
  });

  it('is deterministic per seed', async () => {
    const [x, y, z] = await Promise.all([
      startFakeExchange({ seed: 7, markets: 5 }),
      startFakeExchange({ seed: 7, markets: 5 }),
      startFakeExchange({ seed: 8, markets: 5 }),
    ]);
    try {
      const body = async (f: FakeExchange) => (await fetch(`${f.url}/api/v3/klines?symbol=SYN0003USDT&interval=1h&endTime=1700000000000&limit=3`)).text();
      expect(await body(x)).toBe(await body(y));
      expect(await body(x)).not.toBe(await body(z));
      expect(x.price('BTCUSDT')).toBe(y.price('BTCUSDT'));
      expect(x.price('BTCUSDT')).not.toBe(z.price('BTCUSDT'));
    } finally {
      await Promise.all([x.close(), y.close(), z.close()]);
    }
  });

  it('lists 3000 synthetic markets that ccxt loads in one exchangeInfo call', async () => {
    const big = await startFakeExchange({ markets: 3000, accounts: [] });
    try {
      const { ex } = client(big, undefined, 10_000);
      await ex.loadMarkets();
      expect(big.count('/api/v3/exchangeInfo')).toBe(1);
      expect(ex.symbols).toHaveLength(3006);
      expect(ex.market('SYN3000/USDT')).toMatchObject({ id: 'SYN3000USDT', base: 'SYN3000', spot: true, active: true });
      const t = await ex.fetchTicker('SYN1234/USDT');
      expect(t.last).toBe(big.price('SYN1234USDT'));
    } finally {
      await big.close();
    }
  });
});

describe('private endpoints, two accounts', () => {
  let fx: FakeExchange;
  let a: Client;
  let b: Client;
  beforeAll(async () => {
    fx = await startFakeExchange({
      accounts: [
        { ...A, balances: { USDT: 10_000, BTC: 0.5 } },
        { ...B, balances: { USDT: 500, ETH: 2 } },
      ],
    });
    fx.setPrice('BTCUSDT', 65_000);
    fx.setPrice('ETHUSDT', 3_500);
    a = client(fx, A);
    b = client(fx, B);
    await Promise.all([a.ex.loadMarkets(), b.ex.loadMarkets()]);
  });
  afterAll(() => fx.close());

  it('creates, lists, fetches, fills and cancels orders per account, with balances moving', async () => {
    const limit = await a.ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 60_000, { clientOrderId: 'a-limit-1' });
    expect(limit).toMatchObject({ status: 'open', clientOrderId: 'a-limit-1', price: 60_000, amount: 0.01, filled: 0 });
    let bal = await a.ex.fetchBalance();
    expect(bal['USDT']).toMatchObject({ free: 9_400, used: 600, total: 10_000 });

    const market = await a.ex.createOrder('BTC/USDT', 'market', 'buy', 0.02);
    expect(market).toMatchObject({ status: 'closed', filled: 0.02, average: 65_000, cost: 1_300 });
    bal = await a.ex.fetchBalance();
    expect(bal['BTC']?.free).toBe(0.52);
    expect(bal['USDT']).toMatchObject({ free: 8_100, used: 600 });

    const sell = await b.ex.createOrder('ETH/USDT', 'limit', 'sell', 1, 4_000, { clientOrderId: 'b-sell-1' });
    expect(sell.status).toBe('open');

    // each account sees only its own orders
    const openA = await a.ex.fetchOpenOrders('BTC/USDT');
    expect(openA.map((o) => o.id)).toEqual([limit.id]);
    expect(await a.ex.fetchOpenOrders('ETH/USDT')).toEqual([]);
    expect((await b.ex.fetchOpenOrders('ETH/USDT')).map((o) => o.clientOrderId)).toEqual(['b-sell-1']);
    expect(await b.ex.fetchOpenOrders('BTC/USDT')).toEqual([]);
    expect(await failure(a.ex.fetchOrder(idOf(sell), 'ETH/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);
    expect(await failure(a.ex.fetchOrder(undefined as unknown as string, 'ETH/USDT', { clientOrderId: 'b-sell-1' }))).toBeInstanceOf(
      ccxt.OrderNotFound,
    );
    expect(await failure(b.ex.cancelOrder(idOf(limit), 'BTC/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);

    // by id and by client order id
    expect((await a.ex.fetchOrder(idOf(limit), 'BTC/USDT')).clientOrderId).toBe('a-limit-1');
    const byClientId = await a.ex.fetchOrder(undefined as unknown as string, 'BTC/USDT', { clientOrderId: 'a-limit-1' });
    expect(byClientId).toMatchObject({ id: limit.id, status: 'open' });
    expect(fx.log.at(-1)?.query['origClientOrderId']).toBe('a-limit-1');

    const tradesA = await a.ex.fetchMyTrades('BTC/USDT');
    expect(tradesA).toHaveLength(1);
    expect(tradesA[0]).toMatchObject({ order: market.id, side: 'buy', price: 65_000, amount: 0.02 });
    expect(await b.ex.fetchMyTrades('BTC/USDT')).toEqual([]);

    const balB = await b.ex.fetchBalance();
    expect(balB['ETH']).toMatchObject({ free: 1, used: 1 });
    expect(balB['USDT']?.total).toBe(500);
    expect(balB['BTC']?.total ?? 0).toBe(0);

    const canceled = await a.ex.cancelOrder(idOf(limit), 'BTC/USDT');
    expect(canceled.status).toBe('canceled');
    expect(await a.ex.fetchOpenOrders('BTC/USDT')).toEqual([]);
    expect((await a.ex.fetchBalance())['USDT']).toMatchObject({ free: 8_700, used: 0 });
    expect(await failure(a.ex.cancelOrder(idOf(limit), 'BTC/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);

    // a resting order fills when the price moves through it
    fx.setPrice('ETHUSDT', 4_100);
    expect(await b.ex.fetchOrder(idOf(sell), 'ETH/USDT')).toMatchObject({ status: 'closed', filled: 1, average: 4_000 });
    expect((await b.ex.fetchBalance())['USDT']?.free).toBe(4_500);
    expect(fx.internalErrors).toEqual([]);
  });

  it('records each signed request under the API key that sent it, with a valid signature', () => {
    const signed = fx.log.filter((e) => e.signatureValid !== null);
    expect(signed.length).toBeGreaterThan(15);
    expect(signed.every((e) => e.signatureValid === true)).toBe(true);
    const sentBy = (c: Client) => c.sent.filter((s) => !s.url.includes('exchangeInfo')).length;
    expect(signed.filter((e) => e.apiKey === A.apiKey)).toHaveLength(sentBy(a));
    expect(signed.filter((e) => e.apiKey === B.apiKey)).toHaveLength(sentBy(b));
    // POST carries its parameters (and signature) in the form body, GET/DELETE in the query
    const post = fx.log.find((e) => e.method === 'POST' && e.path === '/api/v3/order');
    expect(post?.body).toMatchObject({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', newClientOrderId: 'a-limit-1' });
    expect(post?.body['signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(post?.query).toEqual({});
    // every request ccxt made, it made to the fake, and the fake saw each one
    for (const c of [a, b]) expect(c.sent.every((s) => s.url.startsWith(fx.url + '/'))).toBe(true);
    expect(fx.log).toHaveLength(a.sent.length + b.sent.length);
  });

  it('rejects a wrong secret, an unknown key and an overdraft like Binance', async () => {
    const wrong = client(fx, { apiKey: A.apiKey, secret: 'not-the-secret' });
    await wrong.ex.loadMarkets();
    const e1 = await failure(wrong.ex.fetchBalance());
    expect(e1).toBeInstanceOf(ccxt.AuthenticationError);
    expect(fx.log.at(-1)).toMatchObject({ apiKey: A.apiKey, signatureValid: false, status: 400, errorCode: -1022 });

    const unknown = client(fx, { apiKey: 'who-is-this', secret: 'x' });
    await unknown.ex.loadMarkets();
    expect(await failure(unknown.ex.fetchOpenOrders('BTC/USDT'))).toBeInstanceOf(ccxt.AuthenticationError);
    expect(fx.log.at(-1)).toMatchObject({ apiKey: 'who-is-this', signatureValid: false, status: 401, errorCode: -2015 });

    const before = fx.orders(B.apiKey).length;
    const e3 = await failure(b.ex.createOrder('BTC/USDT', 'market', 'buy', 1));
    expect(e3).toBeInstanceOf(ccxt.InsufficientFunds);
    expect(e3.message).toContain('Account has insufficient balance for requested action.');
    expect(fx.orders(B.apiKey)).toHaveLength(before);
    expect(await failure(b.ex.fetchOrder('987654', 'BTC/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('verifies the HMAC over query+body and the recvWindow itself (raw HTTP)', async () => {
    const signedFetch = (method: string, path: string, qs: string, body: string, secret = A.secret) => {
      const sig = hmacSha256Hex(secret, qs + body);
      const inBody = body !== '';
      return fetch(`${fx.url}${path}?${inBody ? qs : `${qs}&signature=${sig}`}`, {
        method,
        headers: { 'X-MBX-APIKEY': A.apiKey, 'Content-Type': 'application/x-www-form-urlencoded' },
        ...(inBody ? { body: `${body}&signature=${sig}` } : {}),
      });
    };
    const now = Date.now();
    const ok = await signedFetch('GET', '/api/v3/account', `timestamp=${now}`, '');
    expect(ok.status).toBe(200);
    // mixed: some parameters in the query, the rest (and the signature) in the body
    const mixed = await signedFetch(
      'POST',
      '/api/v3/order',
      'symbol=BTCUSDT&side=BUY&type=LIMIT',
      `timeInForce=GTC&quantity=0.001&price=50000&newClientOrderId=raw-1&timestamp=${now}`,
    );
    expect(mixed.status).toBe(200);
    expect(((await mixed.json()) as { clientOrderId: string }).clientOrderId).toBe('raw-1');

    const tampered = await fetch(
      `${fx.url}/api/v3/account?timestamp=${now + 1}&signature=${hmacSha256Hex(A.secret, `timestamp=${now}`)}`,
      { headers: { 'X-MBX-APIKEY': A.apiKey } },
    );
    expect(tampered.status).toBe(400);
    expect(await tampered.json()).toEqual({ code: -1022, msg: 'Signature for this request is not valid.' });

    const stale = await signedFetch('GET', '/api/v3/account', `timestamp=${now - 60_000}`, '');
    expect(await stale.json()).toMatchObject({ code: -1021 });
    const noKey = await fetch(`${fx.url}/api/v3/account?timestamp=${now}&signature=00`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ code: -2014 });
  });
});

describe('faults → the ccxt exception ccxt actually throws', () => {
  let fx: FakeExchange;
  beforeAll(async () => {
    fx = await startFakeExchange({ accounts: [{ ...A, balances: { USDT: 1_000, BTC: 1 } }] });
  });
  afterAll(() => fx.close());
  beforeEach(() => fx.clearFaults());

  const TICKER = '/api/v3/ticker/24hr';
  const ticker = (ex: Binance) => ex.fetchTicker('BTC/USDT');
  const balance = (ex: Binance) => ex.fetchBalance();
  const limitBuy = (ex: Binance) => ex.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 50_000);
  const err = (code: number, extra: Partial<Extract<FaultSpec, { kind: 'exchangeError' }>> = {}): FaultSpec => ({
    path: TICKER,
    kind: 'exchangeError',
    code,
    ...extra,
  });

  interface Row {
    name: string;
    fault: FaultSpec;
    call: (ex: Binance) => Promise<unknown>;
    /** Exact class name thrown, or 'resolves' when ccxt does not throw at all. */
    throws: string;
    /** Make one successful private call first (matters for -2015). */
    authenticatedBefore?: boolean;
    align?: boolean;
  }
  const rows: Row[] = [
    { name: 'HTTP 429', fault: { path: TICKER, kind: 'status', status: 429 }, call: ticker, throws: 'DDoSProtection' },
    { name: 'HTTP 418', fault: { path: TICKER, kind: 'status', status: 418 }, call: ticker, throws: 'DDoSProtection' },
    { name: 'HTTP 500', fault: { path: TICKER, kind: 'status', status: 500 }, call: ticker, throws: 'ExchangeNotAvailable' },
    { name: 'HTTP 502', fault: { path: TICKER, kind: 'status', status: 502 }, call: ticker, throws: 'ExchangeNotAvailable' },
    { name: 'HTTP 503', fault: { path: TICKER, kind: 'status', status: 503 }, call: ticker, throws: 'ExchangeNotAvailable' },
    { name: 'HTTP 504', fault: { path: TICKER, kind: 'status', status: 504 }, call: ticker, throws: 'RequestTimeout' },
    { name: 'slow > timeout', fault: { path: TICKER, kind: 'slow', delayMs: 2_000 }, call: ticker, throws: 'RequestTimeout' },
    { name: 'slow < timeout', fault: { path: TICKER, kind: 'slow', delayMs: 150 }, call: ticker, throws: 'resolves' },
    { name: 'hang', fault: { path: TICKER, kind: 'hang' }, call: ticker, throws: 'RequestTimeout' },
    { name: 'reset', fault: { path: TICKER, kind: 'reset' }, call: ticker, throws: 'NetworkError' },
    { name: 'garbage fetchTicker', fault: { path: TICKER, kind: 'garbage' }, call: ticker, throws: 'TypeError' },
    {
      name: 'garbage createOrder',
      fault: { path: '/api/v3/order', method: 'POST', kind: 'garbage' },
      call: limitBuy,
      throws: 'TypeError',
    },
    { name: 'garbage fetchBalance', fault: { path: '/api/v3/account', kind: 'garbage' }, call: balance, throws: 'resolves' },
    { name: '-1003 @429', fault: err(-1003), call: ticker, throws: 'DDoSProtection' },
    { name: '-1003 @400', fault: err(-1003, { httpStatus: 400 }), call: ticker, throws: 'RateLimitExceeded' },
    { name: '-1015', fault: err(-1015), call: ticker, throws: 'RateLimitExceeded' },
    { name: '-1000', fault: err(-1000), call: ticker, throws: 'OperationFailed' },
    { name: '-1001', fault: err(-1001), call: ticker, throws: 'OperationFailed' },
    { name: '-1007', fault: err(-1007), call: ticker, throws: 'RequestTimeout' },
    { name: '-1008', fault: err(-1008), call: ticker, throws: 'ExchangeError' },
    { name: '-1008 aligned', fault: err(-1008), call: ticker, throws: 'OperationFailed', align: true },
    { name: '-1021', fault: err(-1021), call: ticker, throws: 'InvalidNonce' },
    { name: '-1022', fault: err(-1022), call: ticker, throws: 'AuthenticationError' },
    { name: '-1100', fault: err(-1100), call: ticker, throws: 'BadRequest' },
    { name: '-1102', fault: err(-1102), call: ticker, throws: 'BadRequest' },
    { name: '-1013', fault: err(-1013), call: ticker, throws: 'BadRequest' },
    { name: '-1121', fault: err(-1121), call: ticker, throws: 'BadSymbol' },
    { name: '-2010 insufficient', fault: err(-2010), call: ticker, throws: 'InsufficientFunds' },
    { name: '-2010 duplicate', fault: err(-2010, { msg: 'Duplicate order sent.' }), call: ticker, throws: 'InvalidOrder' },
    { name: '-2011', fault: err(-2011), call: ticker, throws: 'OrderNotFound' },
    { name: '-2013', fault: err(-2013), call: ticker, throws: 'OrderNotFound' },
    { name: '-2014', fault: err(-2014), call: ticker, throws: 'AuthenticationError' },
    {
      name: '-2015 first private call',
      fault: { path: '/api/v3/account', kind: 'exchangeError', code: -2015 },
      call: balance,
      throws: 'AuthenticationError',
    },
    {
      name: '-2015 after a successful private call',
      fault: { path: '/api/v3/account', kind: 'exchangeError', code: -2015 },
      call: balance,
      throws: 'DDoSProtection',
      authenticatedBefore: true,
    },
  ];

  it.each(rows)('$name → $throws', async (row) => {
    const c = client(fx, A, 800);
    await c.ex.loadMarkets();
    if (row.align === true) alignSpotErrorMapping(c.ex);
    if (row.authenticatedBefore === true) await c.ex.fetchOpenOrders('BTC/USDT');
    const handle = fx.fault({ ...row.fault, times: 1 });
    const started = fx.log.length;
    let thrown: unknown;
    try {
      await row.call(c.ex);
    } catch (e) {
      thrown = e;
    }
    expect(handle.hits).toBe(1);
    expect(fx.log.slice(started).some((e) => e.fault === row.fault.kind)).toBe(true);
    if (row.throws === 'resolves') {
      expect(thrown).toBeUndefined();
      return;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).constructor.name).toBe(row.throws);
    if (row.throws === 'TypeError') {
      expect(thrown).not.toBeInstanceOf(ccxt.BaseError);
    } else {
      const cls = (ccxt as unknown as Record<string, new () => Error>)[row.throws];
      expect(thrown).toBeInstanceOf(cls);
    }
  });

  it('garbage is silent for some methods: fetchBalance → empty balance', async () => {
    const c = client(fx, A, 800);
    await c.ex.loadMarkets();
    fx.fault({ path: '/api/v3/account', kind: 'garbage', times: 1 });
    const bal = await c.ex.fetchBalance();
    expect(bal.total).toEqual({});
    expect((await c.ex.fetchBalance())['USDT']?.total).toBe(1_000);
  });

  it('a programmed fault honours path, method, apiKey and times', async () => {
    const c = client(fx, A, 800);
    await c.ex.loadMarkets();
    const h = fx.fault({ path: /^\/api\/v3\/ticker/, method: 'GET', apiKey: 'someone-else', kind: 'status', status: 503 });
    await c.ex.fetchTicker('BTC/USDT'); // public call carries no API key: not affected
    expect(h.hits).toBe(0);
    h.cancel();
    const twice = fx.fault({ path: TICKER, kind: 'status', status: 502, times: 2 });
    expect(await failure(c.ex.fetchTicker('BTC/USDT'))).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect(await failure(c.ex.fetchTicker('BTC/USDT'))).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    await c.ex.fetchTicker('BTC/USDT');
    expect(twice.hits).toBe(2);
    expect(twice.remaining).toBe(0);
  });
});

describe('lost create_order responses', () => {
  let fx: FakeExchange;
  beforeAll(async () => {
    fx = await startFakeExchange({ accounts: [{ ...A, balances: { USDT: 10_000, BTC: 1 } }] });
    fx.setPrice('BTCUSDT', 65_000);
  });
  afterAll(() => fx.close());
  beforeEach(() => fx.clearFaults());

  it('hangAfterCommit: ccxt times out, exactly one order exists and is found by client order id', async () => {
    const c = client(fx, A, 700);
    await c.ex.loadMarkets();
    fx.fault({ path: '/api/v3/order', method: 'POST', kind: 'hangAfterCommit', times: 1 });
    const t0 = Date.now();
    const e = await failure(c.ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 60_000, { clientOrderId: 'lost-1' }));
    expect(e).toBeInstanceOf(ccxt.RequestTimeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(fx.log.at(-1)).toMatchObject({ method: 'POST', path: '/api/v3/order', fault: 'hangAfterCommit', status: null });

    const orders = fx.orders(A.apiKey).filter((o) => o.clientOrderId === 'lost-1');
    expect(orders).toHaveLength(1);
    expect(fx.orders(A.apiKey)).toHaveLength(1);

    // reconcile by client order id, as a client would after a lost response
    const found = await c.ex.fetchOrder(undefined as unknown as string, 'BTC/USDT', { clientOrderId: 'lost-1' });
    expect(found).toMatchObject({ id: String(orders[0]!.orderId), status: 'open', amount: 0.01, price: 60_000 });
    // a blind retry with the same client order id is refused while the first is open
    const dup = await failure(c.ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 60_000, { clientOrderId: 'lost-1' }));
    expect(dup).toBeInstanceOf(ccxt.InvalidOrder);
    expect(dup.message).toContain('Duplicate order sent.');
    expect(fx.orders(A.apiKey)).toHaveLength(1);
  });

  it('hangAfterCommit on a market order: the fill and the balance change happen exactly once', async () => {
    const c = client(fx, A, 700);
    await c.ex.loadMarkets();
    const before = fx.balances(A.apiKey);
    fx.fault({ path: '/api/v3/order', method: 'POST', kind: 'hangAfterCommit', times: 1 });
    expect(await failure(c.ex.createOrder('BTC/USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'lost-mkt' }))).toBeInstanceOf(
      ccxt.RequestTimeout,
    );
    const after = fx.balances(A.apiKey);
    expect(after['BTC']!.free).toBeCloseTo(before['BTC']!.free + 0.01, 8);
    expect(after['USDT']!.free).toBeCloseTo(before['USDT']!.free - 650, 8);
    const found = await c.ex.fetchOrder(undefined as unknown as string, 'BTC/USDT', { clientOrderId: 'lost-mkt' });
    expect(found).toMatchObject({ status: 'closed', filled: 0.01 });
    expect(fx.trades(A.apiKey).filter((t) => t.orderId === Number(found.id))).toHaveLength(1);
  });

  it('resetAfterCommit: ccxt sees a NetworkError, the order exists anyway', async () => {
    const c = client(fx, A, 700);
    await c.ex.loadMarkets();
    fx.fault({ path: '/api/v3/order', method: 'POST', kind: 'resetAfterCommit', times: 1 });
    const e = await failure(c.ex.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 59_000, { clientOrderId: 'lost-2' }));
    expect(e.constructor.name).toBe('NetworkError');
    expect(fx.orders(A.apiKey).filter((o) => o.clientOrderId === 'lost-2')).toHaveLength(1);
    expect(fx.internalErrors).toEqual([]);
  });
});

describe("the README's recipe: npm run fake-exchange, then serve the ccxt toolset against it", () => {
  it('--help explains it; --write-config writes (0600) the configuration that makes get_ticker and the fake account work through the real server', async () => {
    const cli = join(ROOT, 'dist', 'test', 'support', 'fake-exchange', 'cli.js');
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--write-config <file>/);
    const dir = mkdtempSync(join(tmpdir(), 'fake-exchange-recipe-'));
    const file = join(dir, 'config.json');
    const fake = spawn(process.execPath, [cli, '--write-config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(String(d))));
      const printed = JSON.parse(line) as { url: string; config: { ccxt: unknown } };
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(printed.config);
      const server = await startServer({ args: ['--toolsets', 'ccxt', '--config', file], timeoutMs: 30_000 });
      try {
        const s = await openSession(server.url);
        const ticker = await callTool(server.url, s, 'get_ticker', { symbol: 'BTC/USDT' });
        expect(ticker.json.result.isError ?? false, JSON.stringify(ticker.json)).toBe(false);
        expect(ticker.json.result.structuredContent).toMatchObject({ exchange: 'binance', ticker: { symbol: 'BTC/USDT' } });
        const balance = await callTool(server.url, s, 'get_balance', { account: 'fake' });
        expect(balance.json.result.isError ?? false, JSON.stringify(balance.json)).toBe(false);
      } finally {
        await server.stop();
      }
    } finally {
      fake.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a urls override of the wrong shape gets a message that says what is wrong and where to find a working one', async () => {
    const server = await startServer({
      args: ['--toolsets', 'ccxt'],
      timeoutMs: 30_000,
      config: { ccxt: { exchanges: ['binance'], overrides: { binance: { urls: { api: 'http://127.0.0.1:9' } } } } },
    });
    try {
      const s = await openSession(server.url);
      const r = await callTool(server.url, s, 'get_ticker', { symbol: 'BTC/USDT' });
      expect(r.json.result.isError).toBe(true);
      const text = r.json.result.content[0].text as string;
      expect(text).toMatch(/ccxt\.overrides\.binance\.urls\.api must be an object with the keys binance uses \(.* 22 in all\)/);
      expect(text).toMatch(/npm run fake-exchange/);
      expect(text).not.toMatch(/Cannot use 'in' operator/);
    } finally {
      await server.stop();
    }
  });
});
