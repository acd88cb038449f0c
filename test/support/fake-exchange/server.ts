// The HTTP front of the fake exchange: loopback-only node:http server, request log, fault
// injection, API-key / signature checks, and dispatch to the Binance-shaped route tables.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { BinanceError, errors } from './errors.js';
import { cannedResponse, FaultTable, type FaultHandle, type FaultKind, type FaultSpec } from './faults.js';
import { MarketData } from './marketdata.js';
import type { MarketSpec } from './markets.js';
import { Engine } from './orders.js';
import { privateRoutes } from './private-api.js';
import { publicRoutes } from './public-api.js';
import type { RawReply, Route } from './routes.js';
import { checkTimestamp, signatureMatches, signedPayload } from './signing.js';
import { Accounts, type AccountSpec, type Balance, type FakeOrder, type FakeTrade } from './state.js';

/** The only address the fake ever binds to. */
export const LOOPBACK = '127.0.0.1';

export interface FakeExchangeOptions {
  /** Accounts (one per API key). Default: one demo account, see DEFAULT_ACCOUNT. */
  accounts?: AccountSpec[];
  /** Number of synthetic markets (SYN0001/USDT, …) to list in addition to the core ones. */
  markets?: number;
  /** Seed for every synthetic number (prices, books, candles, trades). Default 1. */
  seed?: number;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Commission rate charged on fills (in the received asset). Default 0. */
  feeRate?: number;
  /** Oldest log entries are dropped beyond this many. Default 100 000. */
  maxLogEntries?: number;
}

export const DEFAULT_ACCOUNT: AccountSpec = {
  apiKey: 'fake-demo-api-key',
  secret: 'fake-demo-secret',
  balances: { USDT: 100_000, BTC: 1, ETH: 10 },
};

export interface RequestLogEntry {
  method: string;
  /** Pathname, e.g. "/api/v3/order". */
  path: string;
  /** Decoded query-string parameters. */
  query: Record<string, string>;
  /** Decoded form-body parameters (POST / PUT). */
  body: Record<string, string>;
  /** X-MBX-APIKEY as sent, or null. */
  apiKey: string | null;
  /** null: no signature sent; otherwise whether it verified against the key's secret. */
  signatureValid: boolean | null;
  /** Arrival time (ms since epoch). */
  time: number;
  /** HTTP status answered; null while pending or if never answered (hang/reset). */
  status: number | null;
  /** Binance error code answered, if any. */
  errorCode: number | null;
  /** Injected fault applied to this request, if any. */
  fault: FaultKind | null;
}

export interface FakeExchange {
  /** Base URL, e.g. "http://127.0.0.1:38211" (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly log: readonly RequestLogEntry[];
  /** Requests received for `pathname` (optionally only with `method`). */
  count(pathname: string, method?: string): number;
  clearLog(): void;
  /** Program a fault; see FaultSpec. */
  fault(spec: FaultSpec): FaultHandle;
  clearFaults(): void;
  /** All orders of an account (snapshots), oldest first. */
  orders(apiKey: string): FakeOrder[];
  openOrders(apiKey: string): FakeOrder[];
  /** The account's own fills, oldest first. */
  trades(apiKey: string): FakeTrade[];
  balances(apiKey: string): Record<string, Balance>;
  addAccount(spec: AccountSpec): void;
  readonly markets: readonly MarketSpec[];
  /** Current price of a market id such as "BTCUSDT". */
  price(symbol: string): number;
  /** Move the price; resting limit orders it crosses fill (as maker, at their limit). */
  setPrice(symbol: string, price: number): void;
  /** Errors thrown by the fake's own code (answered as HTTP 500); should stay empty. */
  readonly internalErrors: readonly Error[];
  /** Stop listening and drop every connection, including hung ones. Idempotent. */
  close(): Promise<void>;
}

const routes: Record<string, Partial<Record<string, Route>>> = { ...publicRoutes, ...privateRoutes };

const JSON_HEADERS = { 'Content-Type': 'application/json;charset=UTF-8' };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1_000_000) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function toRecord(p: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of p) out[k] = v;
  return out;
}

export async function startFakeExchange(opts: FakeExchangeOptions = {}): Promise<FakeExchange> {
  const data = new MarketData(opts.markets ?? 0, opts.seed ?? 1);
  const accounts = new Accounts(opts.accounts ?? [DEFAULT_ACCOUNT]);
  const engine = new Engine(data, opts.feeRate ?? 0);
  const faults = new FaultTable();
  const maxLog = opts.maxLogEntries ?? 100_000;
  const log: RequestLogEntry[] = [];
  const internalErrors: Error[] = [];
  const sockets = new Set<Socket>();
  const sleepers = new Set<() => void>();
  let closed = false;

  function send(res: ServerResponse, entry: RequestLogEntry, status: number, body: string, headers: Record<string, string>): void {
    if (res.destroyed || res.writableEnded) return;
    entry.status = status;
    res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  /** Authenticate and run the route; returns the JSON body (BinanceError on refusal). */
  function execute(route: Route, params: Map<string, string>, apiKey: string | null, rawQuery: string, rawBody: string): string {
    const now = Date.now();
    let account;
    if (route.security !== 'NONE') {
      if (apiKey === null || apiKey === '') throw errors.apiKeyFormat();
      account = accounts.get(apiKey);
      if (account === undefined) throw errors.invalidApiKey();
      if (route.security === 'SIGNED') {
        checkTimestamp(params, now);
        if (!params.has('signature')) throw errors.mandatory('signature');
        if (!signatureMatches(account.secret, signedPayload(rawQuery, rawBody))) throw errors.badSignature();
      }
    }
    const reply = route.handle({ params, account, now, data, engine, accounts });
    if (reply !== null && typeof reply === 'object' && typeof (reply as Partial<RawReply>).raw === 'string') {
      return (reply as RawReply).raw;
    }
    return JSON.stringify(reply);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rawQuery = url.search.startsWith('?') ? url.search.slice(1) : '';
    const headerKey = req.headers['x-mbx-apikey'];
    const apiKey = typeof headerKey === 'string' ? headerKey : null;
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: toRecord(url.searchParams),
      body: {},
      apiKey,
      signatureValid: null,
      time: Date.now(),
      status: null,
      errorCode: null,
      fault: null,
    };
    log.push(entry);
    if (log.length > maxLog) log.splice(0, log.length - maxLog);

    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch {
      return;
    }
    const bodyParams = new URLSearchParams(rawBody);
    entry.body = toRecord(bodyParams);

    // merged parameters; Binance rejects a name sent twice (-1101)
    const params = new Map<string, string>();
    let duplicate = false;
    for (const [k, v] of [...url.searchParams, ...bodyParams]) {
      if (params.has(k)) duplicate = true;
      params.set(k, v);
    }
    if (params.has('signature')) {
      const acct = accounts.get(apiKey);
      entry.signatureValid = acct !== undefined && signatureMatches(acct.secret, signedPayload(rawQuery, rawBody));
    }

    const fault = faults.take(method, url.pathname, apiKey);
    if (fault !== undefined) {
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          return; // the socket is closed by the client's timeout or by close()
        case 'status':
        case 'exchangeError':
        case 'garbage': {
          const c = cannedResponse(fault, Date.now());
          if (fault.kind === 'exchangeError') entry.errorCode = fault.code;
          send(res, entry, c.status, c.body, c.headers);
          return;
        }
        case 'slow':
          await new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(t);
              sleepers.delete(wake);
              resolve();
            };
            const t = setTimeout(wake, fault.delayMs);
            sleepers.add(wake);
          });
          if (closed || res.destroyed) return;
          break;
        default:
          break; // *AfterCommit: handled below
      }
    }

    const route = routes[url.pathname]?.[method];
    let status = 200;
    let body: string;
    let headers: Record<string, string> = JSON_HEADERS;
    try {
      if (route === undefined) {
        status = routes[url.pathname] === undefined ? 404 : 405;
        body = `fake-exchange: no route for ${method} ${url.pathname}`;
        headers = { 'Content-Type': 'text/plain' };
      } else {
        if (duplicate) throw errors.duplicateParam();
        body = execute(route, params, apiKey, rawQuery, rawBody);
      }
    } catch (e) {
      if (e instanceof BinanceError) {
        status = e.httpStatus;
        body = e.body();
        entry.errorCode = e.code;
      } else {
        const err = e instanceof Error ? e : new Error(String(e));
        internalErrors.push(err);
        status = 500;
        body = `fake-exchange internal error: ${err.message}`;
        headers = { 'Content-Type': 'text/plain' };
      }
    }

    if (fault?.kind === 'hangAfterCommit') return;
    if (fault?.kind === 'resetAfterCommit') {
      req.socket.destroy();
      return;
    }
    send(res, entry, status, body, headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      internalErrors.push(e instanceof Error ? e : new Error(String(e)));
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('fake-exchange internal error');
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // keep hung requests open indefinitely; the client decides when to give up
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  function acct(apiKey: string) {
    const a = accounts.get(apiKey);
    if (a === undefined) throw new Error(`fake-exchange: no account with apiKey ${apiKey}`);
    return a;
  }

  let closing: Promise<void> | undefined;

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    log,
    internalErrors,
    markets: data.markets,
    count(pathname, method) {
      const m = method?.toUpperCase();
      return log.filter((e) => e.path === pathname && (m === undefined || e.method === m)).length;
    },
    clearLog() {
      log.length = 0;
    },
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    orders: (apiKey) => acct(apiKey).orders.map((o) => ({ ...o, tradeIds: [...o.tradeIds] })),
    openOrders: (apiKey) => acct(apiKey).openOrders().map((o) => ({ ...o, tradeIds: [...o.tradeIds] })),
    trades: (apiKey) => acct(apiKey).trades.map((t) => ({ ...t })),
    balances(apiKey) {
      const out: Record<string, Balance> = {};
      for (const [asset, b] of acct(apiKey).balances) out[asset] = { ...b };
      return out;
    },
    addAccount: (spec) => {
      accounts.add(spec);
    },
    price: (symbol) => data.price(symbol),
    setPrice(symbol, price) {
      data.setPrice(symbol, price);
      engine.onPriceChange(accounts.all(), symbol, Date.now());
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        faults.clear();
        for (const wake of [...sleepers]) wake();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
