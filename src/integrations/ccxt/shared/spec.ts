/**
 * What the three sides of the ccxt integration share — the main thread (integration, accounts),
 * the exchange-host threads (factory) and the session threads (toolset) — as plain types and
 * tiny pure functions. Nothing here imports ccxt: only exchange-host threads ever load it.
 */

/** The resource kind sessions lease exchange clients from. */
export const CCXT_KIND = 'ccxt';

export const MARKET_TYPES = ['spot', 'margin', 'swap', 'future', 'option'] as const;
export type MarketType = (typeof MARKET_TYPES)[number];

/** A ccxt exchange id as ccxt spells them: lowercase letters, digits, underscore. */
export const EXCHANGE_ID = /^[a-z][a-z0-9_]{1,31}$/;
/** An account name as a tool argument names it. */
export const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The shared, credential-free client of one (exchange, market type, sandbox). */
export interface PublicSpec {
  role: 'public';
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
}

/**
 * A credentialed client of one named account, dedicated to one session. The session names the
 * account (and repeats where it trades, which the main thread checks); the credentials are added
 * on the main thread (`secretsFor`) and go only to the exchange host.
 */
export interface AccountSpec {
  role: 'account';
  account: string;
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
}

export type ClientSpec = PublicSpec | AccountSpec;

/** Where a client trades: the part of a spec that decides its host and its markets. */
export function venueKey(s: { exchange: string; marketType: string; sandbox: boolean }): string {
  return `${s.exchange}/${s.marketType}${s.sandbox ? '/sandbox' : ''}`;
}

/** A short, secret-free name for logs, metrics and errors. */
export function specLabel(s: ClientSpec): string {
  return s.role === 'public' ? `ccxt ${venueKey(s)} public client` : `ccxt account "${s.account}" (${venueKey(s)})`;
}

/** Validates a spec that came from a session thread (untrusted shape); returns it normalized. */
export function parseSpec(value: unknown): ClientSpec {
  const v = (value ?? {}) as Record<string, unknown>;
  const bad = (why: string) => Object.assign(new Error(`invalid ccxt client spec: ${why}`), { code: 'BAD_REQUEST' });
  if (typeof v.exchange !== 'string' || !EXCHANGE_ID.test(v.exchange)) throw bad('exchange');
  const marketType = v.marketType ?? 'spot';
  if (typeof marketType !== 'string' || !(MARKET_TYPES as readonly string[]).includes(marketType)) throw bad('marketType');
  const sandbox = v.sandbox ?? false;
  if (typeof sandbox !== 'boolean') throw bad('sandbox');
  const base = { exchange: v.exchange, marketType: marketType as MarketType, sandbox };
  if (v.role === 'public') return { role: 'public', ...base };
  if (v.role === 'account') {
    if (typeof v.account !== 'string' || !ACCOUNT_NAME.test(v.account)) throw bad('account');
    return { role: 'account', account: v.account, ...base };
  }
  throw bad('role');
}

/** Stable string hash (FNV-1a, 32 bit) — placement of a venue on a host. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Per-exchange construction overrides (base URLs for a test exchange, ccxt options). */
export interface ExchangeOverride {
  /** Deep-merged into the ccxt instance's `urls` (e.g. `{ api: { public: 'http://127.0.0.1:…' } }`). */
  urls?: Record<string, unknown>;
  /** Deep-merged into the instance's `options`. */
  options?: Record<string, unknown>;
  timeoutMs?: number;
  enableRateLimit?: boolean;
  /** ccxt's `rateLimit` (ms between requests of weight 1). */
  rateLimitMs?: number;
}

/** What the exchange hosts are told at boot (no secrets: those come per instance). */
export interface FactoryConfig {
  exchanges: string[];
  timeoutMs: number;
  overrides: Record<string, ExchangeOverride>;
  cache: { tickerMs: number; tickersMs: number; orderBookMs: number; maxEntries: number };
}

/** An account as a session may see it: never its credentials. */
export interface AccountInfo {
  name: string;
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
  /** `server`: configured on the server; `session`: bound to this session by its HTTP client. */
  source: 'server' | 'session';
}

/** The answer of the `ccxt.info` runtime call: what the calling session may use. */
export interface CcxtInfo {
  exchanges: string[];
  defaultExchange: string;
  accounts: AccountInfo[];
  /** ccxt's own request timeout (default for every exchange without an override). */
  timeoutMs: number;
  /** How long a lease may wait for a free client by default. */
  leaseWaitMs: number;
  /** Why credentials the HTTP client sent at initialize could not be bound (no secret in it). */
  bindingError?: string;
}

/** The runtime call a session makes to learn its exchanges and accounts. */
export const INFO_CALL = 'ccxt.info';
