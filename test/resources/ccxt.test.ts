/**
 * The `ccxt` toolset through the real server (a child process), with REAL ccxt 4.5.84 in the
 * exchange-host threads talking over loopback to the fake Binance-spot exchange
 * (test/support/fake-exchange). No mocks.
 *
 * The main server runs under `node --import` of a resolve hook (test/support/ccxt-import-*) that
 * records every module each thread resolves, to prove at run time that only exchange-host
 * threads load ccxt. Static bearer tokens give three principals: tenant-a (account "alice"),
 * tenant-b (account "bob") and ops; an environment account ("binance") is visible to all.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binanceOverrides, startFakeExchange, type FakeExchange, type FaultSpec } from '../support/fake-exchange/index.js';
import { initializeRequest, modernTool, request, send } from '../support/mcp-http.js';
import { ROOT, startServer, type ServerProcess } from '../support/server.js';
import { metric, waitFor } from '../support/wait.js';

const ALICE = { apiKey: 'alice-key-7f3a91c2', secret: 'alice-secret-d41e0b77' };
const BOB = { apiKey: 'bob-key-1c9e55a0', secret: 'bob-secret-8a2f6d13' };
const ENV = { apiKey: 'env-key-5b7c2e90', secret: 'env-secret-03d9f4aa' };
/** Bound to one session by its HTTP client, in the initialize request's X-Ccxt-Accounts header. */
const CAROL = { apiKey: 'carol-key-4e8b2a61', secret: 'carol-secret-9c07d3f5' };
const SECRETS = [ALICE.apiKey, ALICE.secret, BOB.apiKey, BOB.secret, ENV.apiKey, ENV.secret, CAROL.apiKey, CAROL.secret];
const TOKENS = { a: 'token-tenant-a-5d1c8f2e', b: 'token-tenant-b-9e0a7b34', ops: 'token-ops-3f6e2d1c0b9a' };
const TIMEOUT_MS = 1_500;

const CRASH_TOOLSET = `${ROOT}/dist/test/support/ccxt-crash-toolset.js`;
const IMPORT_HOOK = `${ROOT}/dist/test/support/ccxt-import-register.js`;
const CRASH_HOOK = `${ROOT}/dist/test/support/crash-hosts-register.js`;

let fx: FakeExchange;
let server: ServerProcess;
let small: ServerProcess;
let importLog: string;
/** The text of every tool result (and error) any session received, for the secrets check. */
const seen: string[] = [];

interface Session {
  id: string;
  token: string | undefined;
  url: string;
}

async function open(token: string | undefined = TOKENS.ops, url = server.url): Promise<Session> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await send(url, initializeRequest(), { headers });
  if (res.status !== 200) throw new Error(`initialize: ${res.status} ${res.text}`);
  const id = res.headers.get('mcp-session-id')!;
  const ack = await send(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session: id, headers });
  expect(ack.status).toBe(202);
  return { id, token, url };
}

interface Outcome {
  ok: boolean;
  value: any;
  error: { code: string; message: string; retryable: boolean; cause?: string; client_order_id?: string; reconcile?: any };
  ms: number;
}

async function tool(s: Session, name: string, args: Record<string, unknown> = {}): Promise<Outcome> {
  const t0 = Date.now();
  const res = await send(s.url, request('tools/call', { name, arguments: args }), { session: s.id, headers: s.token ? { authorization: `Bearer ${s.token}` } : {} });
  const ms = Date.now() - t0;
  seen.push(res.text);
  expect(res.status, res.text).toBe(200);
  if (res.json.error) throw new Error(`JSON-RPC error from ${name}: ${JSON.stringify(res.json.error)}`);
  const result = res.json.result;
  if (result.isError) {
    const text: string = result.content[0].text;
    // our tools answer the one tool-error shape; the SDK's own argument validation answers "MCP error -32602: …"
    const error = result.structuredContent ?? { code: 'INVALID_ARGUMENTS', message: text, retryable: false };
    if (result.structuredContent) expect(text).toBe(result.structuredContent.message); // a sentence, not a JSON dump
    return { ok: false, value: undefined, error, ms };
  }
  if (name !== 'echo') expect(JSON.parse(result.content[0].text)).toEqual(result.structuredContent);
  return { ok: true, value: result.structuredContent, error: undefined as never, ms };
}

async function okValue(s: Session, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await tool(s, name, args);
  if (!r.ok) throw new Error(`${name} failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

beforeAll(async () => {
  fx = await startFakeExchange({
    markets: 40,
    accounts: [
      { ...ALICE, balances: { USDT: 10_000, BTC: 1 } },
      { ...BOB, balances: { USDT: 5_000, ETH: 5 } },
      { ...ENV, balances: { USDT: 1_000, BTC: 0.5 } },
      { ...CAROL, balances: { USDT: 777, SOL: 3 } },
    ],
  });
  fx.setPrice('BTCUSDT', 65_000);
  fx.setPrice('ETHUSDT', 3_500);
  const binance = { ...binanceOverrides(fx.url), rateLimitMs: 5 };
  importLog = join(mkdtempSync(join(tmpdir(), 'ccxt-imports-')), 'imports.jsonl');
  [server, small] = await Promise.all([
    startServer({
      args: ['--toolsets', `ccxt,diagnostics,${CRASH_TOOLSET}`],
      nodeArgs: ['--import', IMPORT_HOOK, '--import', CRASH_HOOK],
      env: { MCP_IMPORT_LOG: importLog, BINANCE_API_KEY: ENV.apiKey, BINANCE_SECRET: ENV.secret },
      timeoutMs: 30_000,
      config: {
        // The module graph, not the one-file bundle: the import hook proves per thread what loads,
        // and it cannot see inside the bundle (whose contents test/actors/boot.test.ts checks).
        warmPool: { min: 6, max: 40, bundle: false },
        // generous: the first call boots an exchange host (imports ccxt), slow on a loaded machine
        sessions: { hibernateAfterMs: 0, toolsetTimeoutsMs: { ccxt: 90_000 }, toolTimeoutsMs: { get_trades: 900 } },
        auth: {
          tokens: [
            { token: TOKENS.a, principal: 'tenant-a' },
            { token: TOKENS.b, principal: 'tenant-b' },
            { token: TOKENS.ops, principal: 'ops' },
          ],
          limits: { requestsPerSecond: 1_000, burst: 1_000, maxSessions: 100, maxInFlight: 100 },
        },
        ccxt: {
          hosts: 2,
          exchanges: ['binance'],
          overrides: { binance },
          timeoutMs: TIMEOUT_MS,
          leaseWaitMs: 60_000, // bounds the host's cold start too (lease-client: wait + 10 s)
          cache: { tickerMs: 60_000, orderBookMs: 2_000 }, // long: the 20 sessions' first calls may spread over seconds on a loaded machine
          accounts: [
            { name: 'alice', exchange: 'binance', ...ALICE, principals: ['tenant-a'] },
            { name: 'bob', exchange: 'binance', ...BOB, principals: ['tenant-b'] },
          ],
        },
      },
    }),
    startServer({
      toolsets: ['ccxt'],
      config: {
        warmPool: { min: 2, max: 8 },
        sessions: { hibernateAfterMs: 0, toolsetTimeoutsMs: { ccxt: 60_000 } },
        ccxt: { hosts: 1, exchanges: ['binance'], overrides: { binance }, timeoutMs: TIMEOUT_MS, maxLeases: 2, maxClients: 2, leaseWaitMs: 700 },
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), small?.stop()]);
  await fx?.close();
});

describe('ccxt toolset through the real server', () => {
  it('serves 20 sessions from one shared public client: one exchangeInfo load, one ticker request', async () => {
    const sessions = await Promise.all(Array.from({ length: 20 }, () => open()));
    const results = await Promise.all(sessions.map((s) => tool(s, 'get_ticker', { symbol: 'BTC/USDT' })));
    for (const r of results) {
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      expect(r.value).toMatchObject({ exchange: 'binance', market_type: 'spot', sandbox: false, ticker: { symbol: 'BTC/USDT', last: 65_000 } });
    }
    expect(fx.count('/api/v3/exchangeInfo')).toBe(1);
    // coalesced and cached in the host: one upstream ticker request for the 20 calls
    expect(fx.log.filter((e) => e.path === '/api/v3/ticker/24hr' && e.query.symbol === 'BTCUSDT')).toHaveLength(1);
    expect(fx.log.every((e) => e.apiKey === null)).toBe(true); // public calls carry no key
  });

  it('loads ccxt only in exchange-host threads: never on the main thread, never in a session thread', async () => {
    const lines = readFileSync(importLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { thread: number; main: boolean; specifier: string; parent: string | null; url: string });
    const threads = new Map<number, { entry: string; main: boolean; ccxt: string[] }>();
    for (const r of lines) {
      let t = threads.get(r.thread);
      if (!t) threads.set(r.thread, (t = { entry: '', main: r.main, ccxt: [] }));
      if (r.parent === null && !t.entry) t.entry = r.url;
      if (r.url.includes('/node_modules/ccxt/')) t.ccxt.push(`${r.parent} -> ${r.url}`);
    }
    const all = [...threads.values()];
    const main = all.filter((t) => t.main);
    expect(main).toHaveLength(1);
    expect(main[0]!.entry).toMatch(/\/dist\/src\/cli\.js$/);
    expect(main[0]!.ccxt).toEqual([]);
    const sessions = all.filter((t) => t.entry.endsWith('/dist/workers/session.js'));
    expect(sessions.length).toBeGreaterThanOrEqual(20);
    for (const t of sessions) expect(t.ccxt).toEqual([]);
    const loaders = all.filter((t) => t.ccxt.length > 0);
    expect(loaders.length).toBeGreaterThanOrEqual(1);
    for (const t of loaders) {
      expect(t.entry).toMatch(/\/dist\/workers\/resource-host\.js$/);
      // and it came in through the ccxt factory, nowhere else
      expect(t.ccxt.some((e) => /dist\/src\/integrations\/ccxt\/host\/factory\.js -> .*\/node_modules\/ccxt\//.test(e))).toBe(true);
    }
  });

  it('serves market data: markets (search, paging), describe, tickers, order book (cached), candles, trades', async () => {
    const s = await open();
    const page = await okValue(s, 'get_markets', { quote: 'USDT', query: 'syn', offset: 10, limit: 5 });
    expect(page.total).toBe(40);
    expect(page.markets.map((m: { symbol: string }) => m.symbol)).toEqual(['SYN0011/USDT', 'SYN0012/USDT', 'SYN0013/USDT', 'SYN0014/USDT', 'SYN0015/USDT']);
    expect((await tool(s, 'get_markets', { limit: 201 })).error.code).toBe('INVALID_ARGUMENTS'); // bounded page size
    expect((await tool(s, 'get_tickers', { symbols: Array.from({ length: 51 }, () => 'BTC/USDT') })).error.code).toBe('INVALID_ARGUMENTS');
    const d = await okValue(s, 'describe_exchange', {});
    expect(d).toMatchObject({ exchange: 'binance', name: 'Binance', market_count: 46 });
    expect(d.has).toEqual(expect.arrayContaining(['fetchTicker', 'createOrder', 'fetchOHLCV']));
    const t = await okValue(s, 'get_tickers', { symbols: ['ETH/USDT', 'BTC/USDT'] });
    expect(t.tickers.map((x: { symbol: string }) => x.symbol)).toEqual(['BTC/USDT', 'ETH/USDT']);
    const before = fx.count('/api/v3/depth');
    const ob1 = await okValue(s, 'get_order_book', { symbol: 'ETH/USDT', limit: 5 });
    const ob2 = await okValue(s, 'get_order_book', { symbol: 'ETH/USDT', limit: 5 });
    expect(ob1.bids).toHaveLength(5);
    expect(ob1.bids[0][0]).toBeLessThan(ob1.asks[0][0]);
    expect(ob2).toEqual(ob1);
    expect(fx.count('/api/v3/depth') - before).toBe(1);
    const c = await okValue(s, 'get_ohlcv', { symbol: 'BTC/USDT', timeframe: '1h', limit: 3 });
    expect(c.candles).toHaveLength(3);
    expect(c.candles[0]).toHaveLength(6);
    expect((await tool(s, 'get_ohlcv', { symbol: 'BTC/USDT', timeframe: '7m' })).error.code).toBe('BAD_REQUEST');
    const tr = await okValue(s, 'get_trades', { symbol: 'BTC/USDT', limit: 4 });
    expect(tr.trades).toHaveLength(4);
    expect(fx.count('/api/v3/exchangeInfo')).toBe(1);
  });

  it('binds accounts to principals: each order is signed with its own key, nobody sees the other\'s account', async () => {
    const a = await open(TOKENS.a);
    const b = await open(TOKENS.b);
    expect((await okValue(a, 'list_accounts')).accounts.map((x: { name: string }) => x.name).sort()).toEqual(['alice', 'binance']);
    expect((await okValue(b, 'list_accounts')).accounts.map((x: { name: string }) => x.name).sort()).toEqual(['binance', 'bob']);

    const oa = (await okValue(a, 'create_order', { account: 'alice', symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: 0.01, price: 60_000 })).order;
    const ob = (await okValue(b, 'create_order', { account: 'bob', symbol: 'ETH/USDT', side: 'sell', type: 'limit', amount: 1, price: 4_000, client_order_id: 'bob-order-1' })).order;
    expect(oa).toMatchObject({ status: 'open', side: 'buy', amount: 0.01, price: 60_000 });
    expect(oa.clientOrderId).toMatch(/^mcp/); // generated: every order carries one
    expect(ob.clientOrderId).toBe('bob-order-1');

    const posts = fx.log.filter((e) => e.method === 'POST' && e.path === '/api/v3/order');
    const postA = posts.find((e) => e.body.newClientOrderId === oa.clientOrderId)!;
    const postB = posts.find((e) => e.body.newClientOrderId === 'bob-order-1')!;
    expect(postA).toMatchObject({ apiKey: ALICE.apiKey, signatureValid: true, status: 200 });
    expect(postB).toMatchObject({ apiKey: BOB.apiKey, signatureValid: true, status: 200 });
    expect(fx.orders(ALICE.apiKey).map((o) => o.clientOrderId)).toEqual([oa.clientOrderId]);
    expect(fx.orders(BOB.apiKey).map((o) => o.clientOrderId)).toEqual(['bob-order-1']);

    // a's session cannot name bob's account, and alice cannot see bob's order
    for (const [name, args] of [
      ['get_balance', { account: 'bob' }],
      ['get_open_orders', { account: 'bob', symbol: 'ETH/USDT' }],
      ['create_order', { account: 'bob', symbol: 'ETH/USDT', side: 'buy', type: 'market', amount: 0.1 }],
    ] as const) {
      const r = await tool(a, name, args);
      expect(r.error).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
      expect(r.error.message).toContain('no account named "bob" is available to this session');
    }
    expect((await tool(a, 'get_order', { account: 'alice', symbol: 'ETH/USDT', id: ob.id })).error.code).toBe('ORDER_NOT_FOUND');
    expect((await tool(b, 'get_balance', { account: 'alice' })).error.code).toBe('BAD_REQUEST');
    expect((await okValue(a, 'get_open_orders', { account: 'alice', symbol: 'BTC/USDT' })).orders.map((o: { id: string }) => o.id)).toEqual([oa.id]);
    expect((await okValue(a, 'get_open_orders', { account: 'alice', symbol: 'ETH/USDT' })).orders).toEqual([]);
    const balA = (await okValue(a, 'get_balance', { account: 'alice' })).balances;
    expect(balA.find((x: { currency: string }) => x.currency === 'USDT')).toMatchObject({ free: 9_400, used: 600, total: 10_000 });
    expect(balA.find((x: { currency: string }) => x.currency === 'ETH')).toBeUndefined();

    // lookups by client order id, fills, cancellation
    expect((await okValue(b, 'get_order', { account: 'bob', symbol: 'ETH/USDT', client_order_id: 'bob-order-1' })).order.id).toBe(ob.id);
    fx.setPrice('ETHUSDT', 4_100);
    expect((await okValue(b, 'get_my_trades', { account: 'bob', symbol: 'ETH/USDT' })).trades).toHaveLength(1);
    fx.setPrice('ETHUSDT', 3_500);
    const cancelled = await okValue(a, 'cancel_order', { account: 'alice', symbol: 'BTC/USDT', client_order_id: oa.clientOrderId });
    expect(cancelled.order.status).toBe('canceled');
    expect((await tool(a, 'cancel_order', { account: 'alice', symbol: 'BTC/USDT', id: oa.id })).error.code).toBe('ORDER_NOT_FOUND');
    expect((await tool(a, 'create_order', { account: 'alice', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: 100 })).error).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      retryable: false,
    });
    // the environment account, visible to every session, signs with its own key
    await okValue(a, 'get_balance', { account: 'binance' });
    expect(fx.log.at(-1)).toMatchObject({ path: '/api/v3/account', apiKey: ENV.apiKey, signatureValid: true });
    expect(fx.count('/api/v3/exchangeInfo')).toBe(1); // account clients copied the markets
    expect(fx.internalErrors).toEqual([]);
  });

  interface Row {
    name: string;
    fault?: Omit<FaultSpec, 'times'>;
    tool: string;
    args: Record<string, unknown>;
    code: string;
    retryable?: boolean;
    cause?: string;
    fresh?: boolean;
  }
  const TICKER = '/api/v3/ticker/24hr';
  let syn = 0;
  const ticker = (fault: Omit<FaultSpec, 'times' | 'path'>, code: string, retryable: boolean, name: string): Row => {
    const symbol = `SYN${String(++syn).padStart(4, '0')}/USDT`; // a market nobody has cached
    return { name, fault: { ...fault, path: TICKER } as FaultSpec, tool: 'get_ticker', args: { symbol }, code, retryable };
  };
  const err = (code: number, extra: Record<string, unknown> = {}) => ({ kind: 'exchangeError' as const, code, ...extra });
  const ORDER = { account: 'binance', symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: 0.001, price: 50_000 };
  const rows: Row[] = [
    ticker({ kind: 'status', status: 429 }, 'RATE_LIMITED', true, 'HTTP 429'),
    ticker({ kind: 'status', status: 418 }, 'RATE_LIMITED', true, 'HTTP 418'),
    ticker({ kind: 'status', status: 500 }, 'EXCHANGE_UNAVAILABLE', true, 'HTTP 500'),
    ticker({ kind: 'status', status: 502 }, 'EXCHANGE_UNAVAILABLE', true, 'HTTP 502'),
    ticker({ kind: 'status', status: 503 }, 'EXCHANGE_UNAVAILABLE', true, 'HTTP 503'),
    ticker({ kind: 'status', status: 504 }, 'TIMEOUT', true, 'HTTP 504'),
    ticker({ kind: 'hang' }, 'TIMEOUT', true, 'hang'),
    ticker({ kind: 'reset' }, 'EXCHANGE_UNAVAILABLE', true, 'connection reset'),
    ticker({ kind: 'garbage' }, 'EXCHANGE_ERROR', true, 'garbage body'),
    ticker(err(-1003, { httpStatus: 400 }), 'RATE_LIMITED', true, '-1003 @400'),
    ticker(err(-1015), 'RATE_LIMITED', true, '-1015'),
    ticker(err(-1000), 'EXCHANGE_UNAVAILABLE', true, '-1000'),
    ticker(err(-1001), 'EXCHANGE_UNAVAILABLE', true, '-1001'),
    ticker(err(-1007), 'TIMEOUT', true, '-1007'),
    ticker(err(-1021), 'EXCHANGE_ERROR', true, '-1021 (recvWindow)'),
    ticker(err(-1100), 'BAD_REQUEST', false, '-1100'),
    ticker(err(-1102), 'BAD_REQUEST', false, '-1102'),
    ticker(err(-1013), 'BAD_REQUEST', false, '-1013'),
    ticker(err(-1121), 'BAD_SYMBOL', false, '-1121'),
    ticker(err(-2011), 'ORDER_NOT_FOUND', false, '-2011'),
    ticker(err(-2013), 'ORDER_NOT_FOUND', false, '-2013'),
    ticker(err(-1002, { msg: 'You are not authorized to execute this request.', httpStatus: 401 }), 'PERMISSION_DENIED', false, 'not authorized'),
    { name: '-2015 on a first private call', fault: { path: '/api/v3/account', ...err(-2015) }, tool: 'get_balance', args: { account: 'binance' }, code: 'AUTH_FAILED', retryable: false, fresh: true },
    { name: '-1022', fault: { path: '/api/v3/account', ...err(-1022) }, tool: 'get_balance', args: { account: 'binance' }, code: 'AUTH_FAILED', retryable: false },
    { name: '-2014', fault: { path: '/api/v3/account', ...err(-2014) }, tool: 'get_balance', args: { account: 'binance' }, code: 'AUTH_FAILED', retryable: false },
    { name: '-2010 insufficient', fault: { path: '/api/v3/order', method: 'POST', ...err(-2010) }, tool: 'create_order', args: ORDER, code: 'INSUFFICIENT_FUNDS', retryable: false },
    { name: '-2010 duplicate', fault: { path: '/api/v3/order', method: 'POST', ...err(-2010, { msg: 'Duplicate order sent.' }) }, tool: 'create_order', args: ORDER, code: 'INVALID_ORDER', retryable: false },
    { name: 'create_order 429', fault: { path: '/api/v3/order', method: 'POST', kind: 'status', status: 429 }, tool: 'create_order', args: ORDER, code: 'RATE_LIMITED', retryable: true },
    { name: 'create_order 503', fault: { path: '/api/v3/order', method: 'POST', kind: 'status', status: 503 }, tool: 'create_order', args: ORDER, code: 'UNKNOWN_OUTCOME', cause: 'EXCHANGE_UNAVAILABLE' },
    { name: 'create_order reset', fault: { path: '/api/v3/order', method: 'POST', kind: 'resetAfterCommit' }, tool: 'create_order', args: ORDER, code: 'UNKNOWN_OUTCOME', cause: 'EXCHANGE_UNAVAILABLE' },
    { name: 'create_order garbage', fault: { path: '/api/v3/order', method: 'POST', kind: 'garbage' }, tool: 'create_order', args: ORDER, code: 'UNKNOWN_OUTCOME', cause: 'EXCHANGE_ERROR' },
    { name: 'unknown exchange', tool: 'get_ticker', args: { exchange: 'kraken', symbol: 'BTC/USDT' }, code: 'NOT_SUPPORTED', retryable: false },
    { name: 'unknown market', tool: 'get_ticker', args: { symbol: 'NOPE/USDT' }, code: 'BAD_SYMBOL', retryable: false },
  ];

  it('binds credentials the HTTP client sends on initialize (X-Ccxt-Accounts) to that session alone', async () => {
    const header = Buffer.from(JSON.stringify({ name: 'carol', exchange: 'binance', ...CAROL })).toString('base64');
    const headers = { authorization: `Bearer ${TOKENS.ops}`, 'x-ccxt-accounts': header };
    const init = await send(server.url, initializeRequest(), { headers });
    expect(init.status).toBe(200);
    const carol: Session = { id: init.headers.get('mcp-session-id')!, token: TOKENS.ops, url: server.url };
    expect((await send(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session: carol.id, headers })).status).toBe(202);

    const names = (await okValue(carol, 'list_accounts')).accounts.map((x: { name: string }) => x.name);
    expect(names).toContain('carol');
    const balance = await okValue(carol, 'get_balance', { account: 'carol' });
    expect(JSON.stringify(balance)).toContain('777');
    // Signed with the header's key, and verified by the exchange.
    const account = fx.log.filter((e) => e.path === '/api/v3/account').at(-1)!;
    expect(account).toMatchObject({ apiKey: CAROL.apiKey, signatureValid: true, status: 200 });

    // Another session of the same principal, created without the header, neither sees nor uses it.
    const other = await open(TOKENS.ops);
    expect((await okValue(other, 'list_accounts')).accounts.map((x: { name: string }) => x.name)).not.toContain('carol');
    const refused = await tool(other, 'get_balance', { account: 'carol' });
    expect(refused.ok).toBe(false);
    expect(refused.error.message).toContain('no account named "carol" is available to this session');
    // Nothing of the header shows in any answer.
    expect(seen.some((t) => t.includes(header))).toBe(false);
  });

  it('MCP 2026-07-28: binds X-Ccxt-Accounts per request to a session handle; account tools need the handle, market data does not', async () => {
    const header = Buffer.from(JSON.stringify({ name: 'carol', exchange: 'binance', ...CAROL })).toString('base64');
    const withHeader = { token: TOKENS.ops, headers: { 'x-ccxt-accounts': header } };
    const created = await modernTool(server.url, 'create_session', {}, withHeader);
    const sessionId = created.json.result.structuredContent.session_id as string;
    expect(sessionId).toMatch(/^h_/);
    const balance = await modernTool(server.url, 'get_balance', { account: 'carol', session_id: sessionId }, withHeader);
    expect(balance.json.result.isError, balance.text).not.toBe(true);
    expect(JSON.stringify(balance.json.result.structuredContent)).toContain('777');
    expect(fx.log.filter((e) => e.path === '/api/v3/account').at(-1)).toMatchObject({ apiKey: CAROL.apiKey, signatureValid: true });

    // A handle created without the header has no such account; a call without a handle is told what to do.
    const plain = (await modernTool(server.url, 'create_session', {}, { token: TOKENS.ops })).json.result.structuredContent.session_id as string;
    const refused = await modernTool(server.url, 'get_balance', { account: 'carol', session_id: plain }, { token: TOKENS.ops });
    expect(refused.json.result.isError).toBe(true);
    const stateless = await modernTool(server.url, 'get_balance', { account: 'carol' }, withHeader);
    expect(stateless.json.result.structuredContent.code).toBe('HANDLE_REQUIRED');
    // Market data needs no handle.
    const ticker = await modernTool(server.url, 'get_ticker', { symbol: 'BTC/USDT' }, { token: TOKENS.ops });
    expect(ticker.json.result.structuredContent.ticker.last).toBe(65_000);
    for (const r of [created, balance, refused, stateless, ticker]) expect(r.text.includes(header)).toBe(false);
  });

  it('maps every fake failure to its stable code, through the real server', async () => {
    const s = await open();
    const failures: string[] = [];
    for (const row of rows) {
      fx.clearFaults();
      const who = row.fresh ? await open() : s;
      const handle = row.fault ? fx.fault({ ...row.fault, times: 1 } as FaultSpec) : undefined;
      const r = await tool(who, row.tool, row.args);
      const got = r.ok ? 'ok' : `${r.error.code}${r.error.cause ? `(${r.error.cause})` : ''}/${r.error.retryable}`;
      const want = `${row.code}${row.cause ? `(${row.cause})` : ''}/${row.retryable ?? false}`;
      if (got !== want || (handle && handle.hits !== 1)) failures.push(`${row.name}: got ${got}, want ${want}${handle ? ` (fault hits ${handle.hits})` : ''} ${r.ok ? '' : r.error.message}`);
    }
    fx.clearFaults();
    expect(failures).toEqual([]);
    // none of it broke the session
    expect((await tool(s, 'get_ticker', { symbol: 'ETH/USDT' })).ok).toBe(true);
  });

  it('times out at ccxt\'s configured timeout; the session\'s next call succeeds', async () => {
    const s = await open();
    fx.fault({ path: TICKER, kind: 'slow', delayMs: 10_000, times: 1 });
    const r = await tool(s, 'get_ticker', { symbol: 'SOL/USDT' });
    expect(r.error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(r.error.message).toMatch(/RequestTimeout|timed out/i);
    // At ccxt's timeout, long before the fake's 10 s delay (wide margin: the machine is shared and noisy).
    expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(r.ms).toBeLessThan(6_000);
    const next = await tool(s, 'get_ticker', { symbol: 'SOL/USDT' });
    expect(next.ok).toBe(true);
  });

  it('answers TIMEOUT at the tool deadline when it comes first (get_trades: 900 ms); the session stays usable', async () => {
    const s = await open();
    fx.fault({ path: '/api/v3/aggTrades', kind: 'slow', delayMs: 10_000, times: 1 });
    const r = await tool(s, 'get_trades', { symbol: 'XRP/USDT' });
    expect(r.error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(r.error.message).toContain('tool deadline');
    // At the 900 ms tool deadline, long before the fake's 10 s delay (wide margin for a noisy machine).
    expect(r.ms).toBeLessThan(5_000);
    expect((await tool(s, 'get_trades', { symbol: 'XRP/USDT', limit: 2 })).ok).toBe(true);
  });

  it('reports UNKNOWN_OUTCOME for a create_order whose response never comes; exactly one order exists', async () => {
    const s = await open();
    const before = fx.orders(ENV.apiKey).length;
    fx.fault({ path: '/api/v3/order', method: 'POST', kind: 'hangAfterCommit', times: 1 });
    const r = await tool(s, 'create_order', { account: 'binance', symbol: 'BTC/USDT', side: 'buy', type: 'limit', amount: 0.002, price: 51_000, client_order_id: 'lost-response-1' });
    expect(r.error).toMatchObject({
      code: 'UNKNOWN_OUTCOME',
      retryable: false,
      cause: 'TIMEOUT',
      client_order_id: 'lost-response-1',
      reconcile: { tool: 'get_order', arguments: { account: 'binance', symbol: 'BTC/USDT', client_order_id: 'lost-response-1' } },
    });
    expect(r.error.message).toContain('do not send it again blindly');
    const posts = fx.log.filter((e) => e.method === 'POST' && e.path === '/api/v3/order' && e.body.newClientOrderId === 'lost-response-1');
    expect(posts).toHaveLength(1); // never retried
    const mine = fx.orders(ENV.apiKey).filter((o) => o.clientOrderId === 'lost-response-1');
    expect(mine).toHaveLength(1);
    expect(fx.orders(ENV.apiKey)).toHaveLength(before + 1);
    // the reconcile call it names finds the order
    const found = await okValue(s, r.error.reconcile.tool, r.error.reconcile.arguments);
    expect(found.order).toMatchObject({ id: String(mine[0]!.orderId), clientOrderId: 'lost-response-1', status: 'open' });
  });

  it('survives an exchange-host thread being killed mid-call: the call fails clearly, the host restarts, later calls work', async () => {
    const x = await open();
    const y = await open();
    const acct = await open(TOKENS.a);
    await okValue(x, 'get_ticker', { symbol: 'BTC/USDT' });
    await okValue(acct, 'get_balance', { account: 'alice' });
    const loadsBefore = fx.count('/api/v3/exchangeInfo');
    fx.fault({ path: '/api/v3/klines', kind: 'slow', delayMs: 1_200, times: 1 });
    const inflight = tool(x, 'get_ohlcv', { symbol: 'BTC/USDT', limit: 2 });
    // Mid-call: the host's request is at the exchange, which holds it (the slow fault).
    await waitFor('the klines request at the exchange', () => fx.log.some((e) => e.path === '/api/v3/klines' && e.fault === 'slow'));
    expect((await okValue(y, 'ccxt_crash_host')).crashed).toBe(true);
    const r = await inflight;
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: 'RESOURCE_LOST', retryable: true });
    expect(r.error.message).toMatch(/is gone/);
    // later calls get fresh clients on the restarted host (public and credentialed alike)
    expect((await tool(x, 'get_ticker', { symbol: 'ETH/USDT' })).ok).toBe(true);
    expect((await tool(acct, 'get_balance', { account: 'alice' })).ok).toBe(true);
    expect(fx.count('/api/v3/exchangeInfo')).toBe(loadsBefore + 1);
    expect(server.logs().some((l) => l.msg === 'resource host died; restarting it')).toBe(true);
    expect((await tool(y, 'echo', { text: 'still here' })).value.text).toBe('still here');
  });

  it('makes a lease past the limit wait, then fail clearly at its deadline; closes the LRU idle client at the instance limit', async () => {
    const s1 = await open(undefined, small.url);
    const s2 = await open(undefined, small.url);
    const s3 = await open(undefined, small.url);
    await okValue(s1, 'get_ticker', { symbol: 'BTC/USDT' });
    await okValue(s2, 'get_ticker', { symbol: 'BTC/USDT' });
    const r = await tool(s3, 'get_ticker', { symbol: 'BTC/USDT' });
    expect(r.error).toMatchObject({ code: 'LEASE_TIMEOUT', retryable: true });
    expect(r.error.message).toMatch(/no ccxt became available within 700 ms \(2\/2 leases/);
    expect(r.ms).toBeGreaterThanOrEqual(650);
    // a waiting lease is granted as soon as one is released
    const waiting = tool(s3, 'get_ticker', { symbol: 'ETH/USDT' });
    await waitFor('the lease request to wait', async () => (await metric(small, 'mcp_actors_pool_waiting', 'kind="ccxt"')) >= 1);
    expect((await send(small.url, undefined, { session: s1.id, method: 'DELETE' })).status).toBe(200);
    expect((await waiting).ok).toBe(true);
    expect((await send(small.url, undefined, { session: s2.id, method: 'DELETE' })).status).toBe(200);
    expect((await send(small.url, undefined, { session: s3.id, method: 'DELETE' })).status).toBe(200);
    // Every lease released, every client ready again (a released client is reset first).
    await waitFor('the clients to be idle', async () => (await metric(small, 'mcp_actors_pool_leases', 'kind="ccxt"')) === 0 && (await metric(small, 'mcp_actors_pool_instances', 'kind="ccxt",state="leased"')) === 0);
    // 2 clients at most: spot (idle now) + sandbox; a third venue evicts the idle spot client
    const s4 = await open(undefined, small.url);
    const s5 = await open(undefined, small.url);
    expect((await tool(s4, 'get_ticker', { symbol: 'BTC/USDT', sandbox: true })).ok).toBe(true);
    expect((await tool(s5, 'get_ticker', { symbol: 'BTC/USDT', market_type: 'margin' })).ok).toBe(true);
    expect(small.logs().some((l) => l.msg === 'resource instance retired' && l.reason === 'evicted to make room')).toBe(true);
  });

  it('never shows a configured secret in stderr, /metrics or any tool result', async () => {
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    const smallMetrics = await (await fetch(`${small.origin}/metrics`)).text();
    expect(seen.length).toBeGreaterThan(60);
    const haystacks = { stderr: server.stderr.join('\n') + small.stderr.join('\n'), metrics: metrics + smallMetrics, results: seen.join('\n') };
    for (const [where, text] of Object.entries(haystacks)) for (const secret of SECRETS) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
  });
});
