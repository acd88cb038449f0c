/**
 * Exchange accounts, on the main thread: where credentials live until an exchange host needs
 * them for one credentialed client. A tool names an account; it never carries a credential.
 *
 * Sources:
 * - server accounts: the config file (`ccxt.accounts`; the file must be private, see config.ts)
 *   and the environment — `<EXCHANGE>_API_KEY` + `<EXCHANGE>_SECRET` (+ `<EXCHANGE>_PASSWORD`,
 *   `<EXCHANGE>_UID`, `<EXCHANGE>_SANDBOX=1`) add an account named after the exchange. A server
 *   account is visible to every session, or only to sessions of its `principals`.
 * - session accounts: bound to one session when it is created, from the HTTP request that
 *   created it (the client's application, not the model, sends them), visible to that session
 *   only and forgotten when it ends. Header (default name `x-ccxt-accounts`):
 *
 *       X-Ccxt-Accounts: <base64 or base64url of JSON>   (raw JSON is accepted too)
 *       JSON: one account or an array of at most 16:
 *         { "name": "alice", "exchange": "binance", "apiKey": "…", "secret": "…",
 *           "password"?: "…", "uid"?: "…", "marketType"?: "spot", "sandbox"?: false }
 *
 *   A session account may not take the name of a server account the session can see. When the
 *   header cannot be used the session still opens; its account tools then answer AUTH_FAILED
 *   with the reason (never with the header's content).
 */
import { z } from 'zod';
import { ccxtAccountSchema, type CcxtAccountConfig } from '../shared/config.js';
import { ccxtError } from '../shared/errors.js';
import type { AccountInfo, AccountSpec, MarketType } from '../shared/spec.js';

export interface Credentials {
  apiKey: string;
  secret: string;
  password?: string;
  uid?: string;
}

export interface Account {
  name: string;
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
  source: 'server' | 'session';
  /** Server accounts only: the principals whose sessions see it (undefined = all). */
  principals?: readonly string[];
  credentials: Credentials;
}

export const MAX_SESSION_ACCOUNTS = 16;
export const MAX_HEADER_CHARS = 8_192;

const headerAccountSchema = ccxtAccountSchema.omit({ principals: true });
const headerListSchema = z.array(headerAccountSchema).min(1).max(MAX_SESSION_ACCOUNTS);

function fromConfig(a: CcxtAccountConfig | z.infer<typeof headerAccountSchema>, source: Account['source']): Account {
  const credentials: Credentials = { apiKey: a.apiKey, secret: a.secret };
  if (a.password !== undefined) credentials.password = a.password;
  if (a.uid !== undefined) credentials.uid = a.uid;
  const acc: Account = { name: a.name, exchange: a.exchange, marketType: a.marketType, sandbox: a.sandbox, source, credentials };
  if ('principals' in a && a.principals) acc.principals = a.principals;
  return acc;
}

/** The session accounts a header value carries. Errors never quote the value. */
export function parseAccountsHeader(value: string, exchanges: readonly string[]): Account[] {
  const fail = (why: string) => ccxtError('AUTH_FAILED', `the session credentials header could not be used: ${why}`);
  const v = value.trim();
  if (v.length === 0) throw fail('it is empty');
  if (v.length > MAX_HEADER_CHARS) throw fail(`it is longer than ${MAX_HEADER_CHARS} characters`);
  let json: string;
  if (v.startsWith('{') || v.startsWith('[')) json = v;
  else if (/^[A-Za-z0-9+/_-]+=*$/.test(v)) json = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  else throw fail('it is neither JSON nor base64 of JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw fail('it is not valid JSON (or base64 of JSON)'); // JSON.parse's message would quote the input
  }
  const r = headerListSchema.safeParse(Array.isArray(parsed) ? parsed : [parsed]);
  if (!r.success) {
    // zod messages name fields and expectations, never the values received
    throw fail(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  const list = r.data;
  const names = new Set<string>();
  for (const a of list) {
    if (!exchanges.includes(a.exchange)) throw fail(`account "${a.name}": exchange "${a.exchange}" is not enabled on this server`);
    if (names.has(a.name)) throw fail(`two accounts are named "${a.name}"`);
    names.add(a.name);
  }
  return list.map((a) => fromConfig(a, 'session'));
}

/** Server accounts from `<EXCHANGE>_API_KEY` / `_SECRET` / `_PASSWORD` / `_UID` / `_SANDBOX`. */
export function envAccounts(env: NodeJS.ProcessEnv, exchanges: readonly string[]): { accounts: Account[]; incomplete: string[] } {
  const accounts: Account[] = [];
  const incomplete: string[] = [];
  for (const ex of exchanges) {
    const p = ex.toUpperCase();
    const apiKey = env[`${p}_API_KEY`];
    const secret = env[`${p}_SECRET`];
    if (!apiKey && !secret) continue;
    if (!apiKey || !secret) {
      incomplete.push(`${p}_API_KEY and ${p}_SECRET must both be set`);
      continue;
    }
    const credentials: Credentials = { apiKey, secret };
    if (env[`${p}_PASSWORD`]) credentials.password = env[`${p}_PASSWORD`];
    if (env[`${p}_UID`]) credentials.uid = env[`${p}_UID`];
    const sandbox = /^(1|true|yes)$/i.test(env[`${p}_SANDBOX`] ?? '');
    accounts.push({ name: ex, exchange: ex, marketType: 'spot', sandbox, source: 'server', credentials });
  }
  return { accounts, incomplete };
}

export interface AccountRegistryOptions {
  configured: readonly CcxtAccountConfig[];
  env?: NodeJS.ProcessEnv;
  exchanges: readonly string[];
  sessionCredentials: { enabled: boolean; header: string };
}

interface Binding {
  accounts: Map<string, Account>;
  error?: string;
}

const notFound = (name: string) =>
  ccxtError('BAD_REQUEST', `no account named "${name}" is available to this session (list_accounts shows the ones it may use)`);

export class AccountRegistry {
  private readonly server = new Map<string, Account>();
  private readonly bindings = new Map<string, Binding>();
  /** Problems found at start (incomplete env credentials), for the integration to log. */
  readonly warnings: string[] = [];

  constructor(private readonly o: AccountRegistryOptions) {
    for (const a of o.configured) this.server.set(a.name, fromConfig(a, 'server'));
    const env = envAccounts(o.env ?? {}, o.exchanges);
    this.warnings.push(...env.incomplete);
    for (const a of env.accounts) {
      if (this.server.has(a.name)) this.warnings.push(`account "${a.name}" is both in the config file and in the environment; the config file's is used`);
      else this.server.set(a.name, a);
    }
  }

  /** How many server accounts there are (for the start log line). */
  get serverCount(): number {
    return this.server.size;
  }

  /**
   * A server account with `principals` is visible to those principals' sessions only. An entry
   * with a colon is a principal id as the edge spells it (`token:<name>`, `oauth:<subject>`); a
   * bare name means a static-token principal (`token:<name>`).
   */
  private serverVisible(a: Account, principal: string | undefined): boolean {
    if (!a.principals) return true;
    if (principal === undefined) return false;
    return a.principals.some((p) => (p.includes(':') ? p : `token:${p}`) === principal);
  }

  /**
   * Binds the session accounts a new session's HTTP client sent (headers with lower-case names).
   * Never throws: a header that cannot be used is remembered as the session's binding error.
   */
  bindSession(sessionId: string, principal: string | undefined, headers: Readonly<Record<string, string | undefined>> | undefined): void {
    const value = headers?.[this.o.sessionCredentials.header];
    if (value === undefined) return;
    if (!this.o.sessionCredentials.enabled) {
      this.bindings.set(sessionId, { accounts: new Map(), error: 'this server does not accept session credentials' });
      return;
    }
    try {
      const accounts = new Map<string, Account>();
      for (const a of parseAccountsHeader(value, this.o.exchanges)) {
        const clash = this.server.get(a.name);
        if (clash && this.serverVisible(clash, principal)) {
          throw ccxtError('AUTH_FAILED', `the session credentials header could not be used: account "${a.name}" is already a server account`);
        }
        accounts.set(a.name, a);
      }
      this.bindings.set(sessionId, { accounts });
    } catch (err) {
      this.bindings.set(sessionId, { accounts: new Map(), error: (err as Error).message });
    }
  }

  /** Forgets a session's accounts (it ended). */
  unbindSession(sessionId: string): void {
    this.bindings.delete(sessionId);
  }

  /** Sessions with bound credentials right now (for tests and health). */
  get boundSessions(): number {
    return this.bindings.size;
  }

  bindingError(sessionId: string): string | undefined {
    return this.bindings.get(sessionId)?.error;
  }

  /** The accounts a session may use: its own, then the server's it can see. */
  visible(sessionId: string, principal: string | undefined): Account[] {
    const own = [...(this.bindings.get(sessionId)?.accounts.values() ?? [])];
    const shared = [...this.server.values()].filter((a) => this.serverVisible(a, principal) && !own.some((o) => o.name === a.name));
    return [...own, ...shared];
  }

  info(sessionId: string, principal: string | undefined): AccountInfo[] {
    return this.visible(sessionId, principal).map((a) => ({ name: a.name, exchange: a.exchange, marketType: a.marketType, sandbox: a.sandbox, source: a.source }));
  }

  /** The account `name` as this session sees it; BAD_REQUEST when it may not use it. */
  resolve(sessionId: string, principal: string | undefined, name: string): Account {
    const own = this.bindings.get(sessionId)?.accounts.get(name);
    if (own) return own;
    const shared = this.server.get(name);
    if (shared && this.serverVisible(shared, principal)) return shared;
    const bindingError = this.bindingError(sessionId);
    if (bindingError) throw ccxtError('AUTH_FAILED', bindingError);
    throw notFound(name);
  }

  /** Checks that a lease spec names an account of this session, as it really is configured. */
  check(sessionId: string, principal: string | undefined, spec: AccountSpec): Account {
    const a = this.resolve(sessionId, principal, spec.account);
    if (a.exchange !== spec.exchange || a.marketType !== spec.marketType || a.sandbox !== spec.sandbox) {
      throw ccxtError('BAD_REQUEST', `account "${a.name}" trades on ${a.exchange}/${a.marketType}${a.sandbox ? '/sandbox' : ''}, not as requested`);
    }
    return a;
  }

  /** The credentials an exchange host needs for one credentialed client of this session. */
  secretsFor(sessionId: string, principal: string | undefined, spec: AccountSpec): Record<string, string> {
    const c = this.check(sessionId, principal, spec).credentials;
    const out: Record<string, string> = { apiKey: c.apiKey, secret: c.secret };
    if (c.password !== undefined) out.password = c.password;
    if (c.uid !== undefined) out.uid = c.uid;
    return out;
  }
}
