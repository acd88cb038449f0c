/**
 * The `ccxt` section of the server configuration (see src/main/config.ts), with its defaults.
 *
 *   "ccxt": {
 *     "hosts": 2,                          exchange-host threads (the only threads that load ccxt)
 *     "exchanges": ["binance", …],         the allowlist; the first is the default unless defaultExchange
 *     "timeoutMs": 10000,                  ccxt's own request timeout
 *     "overrides": { "binance": { "urls": {…}, "options": {…}, "timeoutMs": …, "enableRateLimit": …, "rateLimitMs": … } },
 *     "maxClients": 64,                    ccxt instances (public + credentialed) across all hosts; idle ones are LRU-evicted
 *     "maxLeases": 1024,                   leases held at once by all sessions
 *     "leaseWaitMs": 10000,                how long a lease may wait for a free slot, then LEASE_TIMEOUT
 *     "idleTtlMs": 300000,                 an unleased client is closed after this long
 *     "cache": { "tickerMs": 1000, "tickersMs": 1000, "orderBookMs": 500, "maxEntries": 10000 },
 *     "accounts": [{ "name", "exchange", "apiKey", "secret", "password"?, "uid"?, "marketType"?, "sandbox"?, "principals"? }],
 *     "sessionCredentials": { "enabled": true, "header": "x-ccxt-accounts" }
 *   }
 *
 * Environment: `<EXCHANGE>_API_KEY`, `<EXCHANGE>_SECRET`, `<EXCHANGE>_PASSWORD` (e.g.
 * BINANCE_API_KEY) add an account named after the exchange, for every allowlisted exchange.
 * A config file that holds credentials must not be readable by group or others.
 */
import { statSync } from 'node:fs';
import { z } from 'zod';
import { ACCOUNT_NAME, EXCHANGE_ID, MARKET_TYPES } from './spec.js';

const ms = (def: number) => z.number().int().min(0).default(def);
const positive = (def: number) => z.number().int().min(1).default(def);

const exchangeId = z.string().regex(EXCHANGE_ID, 'a ccxt exchange id (lowercase, e.g. "binance")');
const credential = z.string().min(1).max(4096);

export const DEFAULT_EXCHANGES = ['binance', 'bybit', 'okx', 'kraken', 'coinbase', 'kucoin', 'bitget', 'gate'];

export const ccxtAccountSchema = z
  .object({
    /** What tools call the account (`account: "main"`); never a credential. */
    name: z.string().regex(ACCOUNT_NAME, 'letters, digits, "_", "." and "-" (1–64)'),
    /** The ccxt exchange id it trades on (one of ccxt.exchanges). */
    exchange: exchangeId,
    /** API key (the file holding it must be private: mode 0600). */
    apiKey: credential,
    /** API secret. */
    secret: credential,
    /** API passphrase, for exchanges that have one (okx, kucoin, …). */
    password: credential.optional(),
    /** Account uid, for exchanges that need one. */
    uid: credential.optional(),
    /** The market type its client trades. */
    marketType: z.enum(MARKET_TYPES).default('spot'),
    /** Trade on the exchange's sandbox/testnet. */
    sandbox: z.boolean().default(false),
    /** Only sessions of these principals see the account (`token:<name>` / `oauth:<subject>`, or a bare static-token principal name); absent = every session. */
    principals: z.array(z.string().min(1).max(128)).min(1).optional(),
  })
  .strict();

export type CcxtAccountConfig = z.infer<typeof ccxtAccountSchema>;

export const ccxtOverrideSchema = z
  .object({
    /** Deep-merged into the ccxt instance's `urls`: base URLs (a test exchange, a proxy). */
    urls: z.record(z.string(), z.unknown()).optional(),
    /** Deep-merged into the ccxt instance's `options`. */
    options: z.record(z.string(), z.unknown()).optional(),
    /** ccxt's request timeout for this exchange (default ccxt.timeoutMs). */
    timeoutMs: z.number().int().min(1).optional(),
    /** ccxt's client-side rate limiter (default on). */
    enableRateLimit: z.boolean().optional(),
    /** ccxt's `rateLimit`: ms between requests of weight 1 (default: ccxt's value for the exchange). */
    rateLimitMs: z.number().min(0).optional(),
  })
  .strict();

export const ccxtConfigSchema = z
  .object({
    /** Exchange-host threads: the only threads that load ccxt (~0.5 s and ~80 MB each); supervised, restarted when they crash. */
    hosts: z.number().int().min(1).max(32).default(2),
    /** The exchanges sessions may use (ccxt ids). */
    exchanges: z.array(exchangeId).min(1).default(DEFAULT_EXCHANGES),
    /** The exchange a tool uses when none is named (default: the first of ccxt.exchanges). */
    defaultExchange: exchangeId.optional(),
    /** ccxt's own request timeout; a tool's deadline (sessions.requestTimeoutMs, per-toolset overrides) bounds the whole call. */
    timeoutMs: positive(10_000),
    /** Per-exchange construction overrides, keyed by exchange id. */
    overrides: z.record(z.string(), ccxtOverrideSchema).default({}),
    /** ccxt instances (shared public + dedicated credentialed) across all hosts; at the limit the least recently used idle one is closed, else a lease waits. */
    maxClients: positive(64),
    /** Leases held at once by all sessions; beyond it a lease waits (ccxt.leaseWaitMs). */
    maxLeases: positive(1024),
    /** How long a lease may wait for a free slot before failing with LEASE_TIMEOUT. */
    leaseWaitMs: positive(10_000),
    /** A client nobody leases is closed after this long (0 = as soon as its last lease ends). */
    idleTtlMs: ms(300_000),
    cache: z
      .object({
        /** How long a ticker is served from the exchange host's cache (0 = coalescing only). */
        tickerMs: ms(1_000),
        /** The same for get_tickers. */
        tickersMs: ms(1_000),
        /** The same for order books. */
        orderBookMs: ms(500),
        /** Cached results kept per public client at most. */
        maxEntries: positive(10_000),
      })
      .strict()
      .prefault({}),
    /** Named exchange accounts tools may use (by name). `<EXCHANGE>_API_KEY` + `_SECRET` (+ `_PASSWORD`, `_UID`, `_SANDBOX`) in the environment add one named after the exchange. */
    accounts: z.array(ccxtAccountSchema).default([]),
    sessionCredentials: z
      .object({
        /** Accept credentials from the HTTP client at initialize, bound to that session only. */
        enabled: z.boolean().default(true),
        /** The initialize request header carrying them (lower-case): base64 or raw JSON of one account or a list. */
        header: z
          .string()
          .regex(/^[a-z0-9-]+$/, 'a lowercase header name')
          .default('x-ccxt-accounts'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultExchange !== undefined && !c.exchanges.includes(c.defaultExchange)) {
      ctx.addIssue({ code: 'custom', path: ['defaultExchange'], message: 'must be one of ccxt.exchanges' });
    }
    const names = new Set<string>();
    c.accounts.forEach((a, i) => {
      if (!c.exchanges.includes(a.exchange)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'exchange'], message: 'must be one of ccxt.exchanges' });
      if (names.has(a.name)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'name'], message: 'two accounts have this name' });
      names.add(a.name);
    });
    for (const k of Object.keys(c.overrides)) {
      if (!c.exchanges.includes(k)) ctx.addIssue({ code: 'custom', path: ['overrides', k], message: 'overrides an exchange that is not in ccxt.exchanges' });
    }
  });

export type CcxtConfig = z.infer<typeof ccxtConfigSchema>;

/** True when a parsed config file carries exchange credentials. */
export function holdsCcxtSecrets(file: unknown): boolean {
  const accounts = (file as { ccxt?: { accounts?: unknown } } | null)?.ccxt?.accounts;
  return Array.isArray(accounts) && accounts.some((a) => a && typeof a === 'object' && ('secret' in a || 'apiKey' in a || 'password' in a));
}

/**
 * Why a config file must be refused, or undefined: a file holding exchange credentials may be
 * readable by its owner only (mode 0600 or stricter), as ssh does with private keys.
 */
export function configFileProblem(path: string, file: unknown): string | undefined {
  if (!holdsCcxtSecrets(file)) return undefined;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    return `cannot check the permissions of ${path}: ${(err as Error).message}`;
  }
  if ((mode & 0o077) !== 0) {
    return `${path} holds exchange credentials (ccxt.accounts) but is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`;
  }
  return undefined;
}
