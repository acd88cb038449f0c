// Fake Binance-spot-compatible exchange for tests: real HTTP on 127.0.0.1 only, real HMAC
// auth, per-account orders/balances/trades, deterministic market data, runtime faults.
//
//   const fx = await startFakeExchange({ accounts: [{ apiKey: 'k', secret: 's', balances: { USDT: 1e4 } }] });
//   const ex = new ccxt.binance({ ...binanceOverrides(fx.url), apiKey: 'k', secret: 's', timeout: 1000 });
//   fx.fault({ path: '/api/v3/order', method: 'POST', kind: 'hangAfterCommit', times: 1 });
//   …
//   await fx.close();
//
// Modules: server.ts (HTTP, log, auth, dispatch) · signing.ts (HMAC / recvWindow) ·
// faults.ts (fault rules and canned bodies) · state.ts (accounts) · orders.ts (matching) ·
// format.ts (response shapes) · markets.ts / marketdata.ts (markets, prices, synthetic data) ·
// public-api.ts / private-api.ts (route tables) · errors.ts (Binance codes) · ccxt.ts
// (ccxt constructor overrides) · cli.ts (standalone server).

export { startFakeExchange, DEFAULT_ACCOUNT, LOOPBACK } from './server.js';
export type { FakeExchange, FakeExchangeOptions, RequestLogEntry } from './server.js';
export type { FaultSpec, FaultKind, FaultHandle } from './faults.js';
export type { AccountSpec, Balance, FakeOrder, FakeTrade, OrderStatus } from './state.js';
export type { MarketSpec } from './markets.js';
export { BINANCE_MESSAGES } from './errors.js';
export { hmacSha256Hex } from './signing.js';
export { alignSpotErrorMapping, binanceOverrides, BINANCE_API_PATHS, nonLoopbackUrls } from './ccxt.js';
export type { BinanceOverrides } from './ccxt.js';
