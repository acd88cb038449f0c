/**
 * Inside an actor thread: the exchange clients it leases, the time budget of each call, and the
 * mapping of whatever went wrong to one classified error.
 *
 * The actor is a 2025-era MCP session, a trading session's handle (MCP 2026-07-28), or a thread of
 * the stateless pool, which serves many callers' requests at once:
 * - Public clients are leased per venue (exchange, market type, sandbox) and kept while the
 *   actor's incarnation lives — on a stateless thread too: they hold no secrets and their
 *   instances are shared by every lessee anyway. A lease that was lost (its host died, its client
 *   was evicted) is replaced on the next call, transparently. A call that was in flight when it
 *   was lost fails.
 * - Account clients are leased per account: a dedicated instance for this session (or handle),
 *   never shared, and never on a stateless thread. Before the first one of a venue, the venue's
 *   public client is leased and its markets loaded, so the credentialed client (placed on the same
 *   host) copies them instead of loading them.
 * - What the caller may use (exchanges, accounts: the `ccxt.info` runtime call) is kept for the
 *   incarnation by a 2025 session only (its accounts are bound at initialize); a handle or a
 *   stateless thread asks once per request, so nothing of one request's caller outlives it there.
 * - Every wait is bounded by the request's deadline (minus a margin, so the tool answers with a
 *   classified TIMEOUT before the runtime answers DEADLINE_EXCEEDED).
 */
import type { LeaseService, ResourceLease } from '../../../actor/lease-client.js';
import type { AccountApi, PublicApi } from '../host/factory.js';
import { CCXT_ERROR_CODES, CcxtError, ccxtError, type CcxtFailure } from '../shared/errors.js';
import { CCXT_KIND, INFO_CALL, venueKey, type AccountInfo, type AccountSpec, type CcxtInfo, type MarketType, type PublicSpec } from '../shared/spec.js';
import type { HandlerContext, ToolsetContext } from '../../../actor/toolsets/types.js';
import type { RemoteObject } from '../../../shared/rpc.js';
import { CodedError } from '../../../shared/errors.js';

/** The tool answers this long before the runtime's own deadline. */
export const DEADLINE_MARGIN_MS = 300;
/** Backstop deadline of one call on a leased client (the budget race normally fires first). */
const CALL_BACKSTOP_MS = 120_000;
/** A request the runtime knows nothing of gets this long. */
const DEFAULT_BUDGET_MS = 15_000;
/** Longest timer Node accepts (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One request's time budget (and what it learned of its caller, asked at most once). */
export interface Budget {
  readonly deadlineAt: number;
  readonly signal: AbortSignal;
  remaining(): number;
  /** The `ccxt.info` answer of this request, when an actor that does not keep it asked for it. */
  info?: Promise<CcxtInfo>;
}

export function budgetOf(ctx: ToolsetContext, hctx: HandlerContext): Budget {
  const d = ctx.request(hctx)?.deadlineAt;
  // No deadline at all (Infinity): the call backstop bounds it instead.
  const end = d === undefined ? Date.now() + DEFAULT_BUDGET_MS : Number.isFinite(d) ? d : Date.now() + CALL_BACKSTOP_MS;
  const deadlineAt = end - DEADLINE_MARGIN_MS;
  return { deadlineAt, signal: hctx.mcpReq.signal, remaining: () => deadlineAt - Date.now() };
}

/** `p`, unless the budget runs out or the request is cancelled first. */
export function within<T>(p: Promise<T>, budget: Budget, what: string): Promise<T> {
  p.catch(() => {}); // a late rejection after we gave up must not go unhandled
  const ms = budget.remaining();
  if (ms <= 0) return Promise.reject(ccxtError('TIMEOUT', `the tool deadline passed before ${what}`, true));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ccxtError('TIMEOUT', `the tool deadline passed while waiting for ${what}`, true)), Math.min(ms, MAX_TIMER_MS));
    onAbort = () => reject(ccxtError('TIMEOUT', `the request was cancelled or its deadline passed while waiting for ${what}`, true));
    if (budget.signal.aborted) onAbort();
    else budget.signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, stop]).finally(() => {
    clearTimeout(timer);
    if (onAbort) budget.signal.removeEventListener('abort', onAbort);
  });
}

/** Infrastructure codes passed through as they are (besides the ccxt codes). */
const INFRA: Record<string, boolean> = {
  LEASE_TIMEOUT: true,
  RESOURCE_LOST: true,
  RESOURCE_UNAVAILABLE: true,
  TIMEOUT: true,
  POOL_CLOSED: false,
  LEASE_CANCELLED: false,
  HANDLE_REQUIRED: false,
};

export type Failure = CcxtFailure | { code: string; message: string; retryable: boolean; cause?: string };

/** Any error → a failure a client can act on. */
export function failureOf(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown; exchangeError?: unknown; cause?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && (CCXT_ERROR_CODES as readonly string[]).includes(code)) {
    const f: Failure = { code, message, retryable: e.retryable === true };
    if (typeof e.exchangeError === 'string') (f as CcxtFailure).exchangeError = e.exchangeError;
    if (typeof e.cause === 'string') f.cause = e.cause;
    return f;
  }
  if (code && code in INFRA) return { code, message, retryable: INFRA[code]! };
  return { code: 'INTERNAL', message, retryable: false };
}

/** Whether an error is a classification made by the exchange host (it knows what ccxt did). */
function fromHost(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'CcxtError' && err !== null && !(err instanceof CcxtError);
}

/**
 * The failure of a write: when the host classified it, that stands (UNKNOWN_OUTCOME included);
 * anything else (our deadline, the host dying, the call's backstop) happened after the request
 * may have been sent — its outcome is unknown.
 */
export function writeFailureOf(err: unknown): Failure {
  const f = failureOf(err);
  if (fromHost(err)) return f;
  return { code: 'UNKNOWN_OUTCOME', message: `the order request may or may not have been executed by the exchange; do not send it again blindly (${f.code}: ${f.message})`, retryable: false, cause: f.code };
}

interface RuntimeService {
  call(op: string, args: Record<string, unknown>): Promise<unknown>;
}

export interface Venue {
  exchange: string;
  marketType: MarketType;
  sandbox: boolean;
}

/** The exchange clients of one actor incarnation (a session's, a handle's, or a stateless thread's). */
export class Clients {
  /** Kept by a 2025 session's actor only (see the header). */
  private info: CcxtInfo | undefined;
  private readonly publics = new Map<string, Promise<ResourceLease<PublicApi>>>();
  private readonly accounts = new Map<string, Promise<ResourceLease<AccountApi>>>();

  constructor(private readonly ctx: ToolsetContext) {
    ctx.onStop(() => this.releaseAll());
  }

  private leases(): LeaseService {
    const l = this.ctx.service<LeaseService>('leases');
    if (!l) throw ccxtError('INTERNAL', 'the ccxt toolset runs only inside the mcp-actors runtime (no lease service)');
    return l;
  }

  /**
   * What the caller may use (exchanges, accounts): asked once per incarnation by a 2025 session,
   * once per request elsewhere (a handle's accounts are bound per request; a stateless thread
   * serves many callers).
   */
  async about(budget: Budget): Promise<CcxtInfo> {
    if (this.info) return this.info;
    const rt = this.ctx.service<RuntimeService>('runtime');
    if (!rt) throw ccxtError('INTERNAL', 'the ccxt toolset runs only inside the mcp-actors runtime (no runtime service)');
    if (this.ctx.actor.kind === 'session') {
      this.info = (await within(rt.call(INFO_CALL, {}), budget, 'the server\'s exchange list')) as CcxtInfo;
      return this.info;
    }
    budget.info ??= rt.call(INFO_CALL, {}) as Promise<CcxtInfo>;
    return within(budget.info, budget, 'the server\'s exchange list');
  }

  /** Account clients belong to a trading session: never to a stateless thread. */
  private needSession(): void {
    if (this.ctx.actor.kind === 'stateless') {
      throw new CodedError('HANDLE_REQUIRED', 'account tools act in a trading session: call create_session first and pass the session_id it returns');
    }
  }

  /** The venue a public tool's arguments name, checked against the allowlist. */
  async venue(a: { exchange?: string; market_type?: MarketType; sandbox?: boolean }, budget: Budget): Promise<Venue> {
    const info = await this.about(budget);
    const exchange = a.exchange ?? info.defaultExchange;
    if (!info.exchanges.includes(exchange)) {
      throw ccxtError('NOT_SUPPORTED', `exchange "${exchange}" is not enabled on this server (enabled: ${info.exchanges.join(', ')})`);
    }
    return { exchange, marketType: a.market_type ?? 'spot', sandbox: a.sandbox ?? false };
  }

  async account(name: string, budget: Budget): Promise<AccountInfo> {
    this.needSession();
    const info = await this.about(budget);
    const a = info.accounts.find((x) => x.name === name);
    if (a) return a;
    if (info.bindingError) throw ccxtError('AUTH_FAILED', info.bindingError);
    throw ccxtError('BAD_REQUEST', `no account named "${name}" is available to this session (list_accounts shows the ones it may use)`);
  }

  private async lease<T extends object>(
    map: Map<string, Promise<ResourceLease<T>>>,
    key: string,
    spec: PublicSpec | AccountSpec,
    budget: Budget,
  ): Promise<RemoteObject<T>> {
    const what = `a ${spec.role === 'public' ? venueKey(spec) : `"${spec.account}"`} exchange client`;
    const held = map.get(key);
    if (held) {
      // Possibly still being acquired by another request (a stateless thread serves many at once):
      // wait for it within this request's own budget; if that acquisition failed, try anew.
      let l: ResourceLease<T> | undefined;
      try {
        l = await within(held, budget, what);
      } catch (err) {
        if (budget.signal.aborted || budget.remaining() <= 0) throw err;
      }
      if (l && !l.isLost) return l.resource;
      if (map.get(key) === held) map.delete(key);
    }
    const info = await this.about(budget);
    const pending = this.acquire<T>(spec, info.leaseWaitMs, budget);
    map.set(key, pending);
    pending.then(
      (l) => void l.lost.then(() => map.get(key) === pending && map.delete(key)),
      () => map.get(key) === pending && map.delete(key),
    );
    return (await within(pending, budget, what)).resource;
  }

  /**
   * Acquires a lease. Taking a lease sends nothing to an exchange, so when it fails because a host
   * was just lost (restarting) it is simply tried again, a few times, within the budget.
   */
  private async acquire<T extends object>(spec: PublicSpec | AccountSpec, leaseWaitMs: number, budget: Budget): Promise<ResourceLease<T>> {
    for (let attempt = 1; ; attempt++) {
      const waitMs = Math.max(1, Math.min(leaseWaitMs, budget.remaining()));
      try {
        return await this.leases().acquire<T>(CCXT_KIND, spec, { signal: budget.signal, waitMs, callTimeoutMs: CALL_BACKSTOP_MS });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const transient = code === 'RESOURCE_UNAVAILABLE' || code === 'RESOURCE_LOST';
        if (!transient || attempt >= 4 || budget.remaining() < 500 || budget.signal.aborted) throw err;
        await new Promise((r) => setTimeout(r, 150 * attempt));
      }
    }
  }

  publicClient(v: Venue, budget: Budget): Promise<RemoteObject<PublicApi>> {
    return this.lease(this.publics, venueKey(v), { role: 'public', ...v }, budget);
  }

  async accountClient(a: AccountInfo, budget: Budget): Promise<RemoteObject<AccountApi>> {
    this.needSession();
    const held = this.accounts.get(a.name);
    if (!held) {
      // Markets first, in the venue's shared public client on the same host: copied, not reloaded.
      const pub = await this.publicClient(a, budget);
      await within(pub.ensureMarkets(), budget, `the ${venueKey(a)} markets`);
    }
    return this.lease(this.accounts, a.name, { role: 'account', account: a.name, exchange: a.exchange, marketType: a.marketType, sandbox: a.sandbox }, budget);
  }

  async releaseAll(): Promise<void> {
    const all = [...this.publics.values(), ...this.accounts.values()];
    this.publics.clear();
    this.accounts.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (l) => l.release(),
          () => undefined, // a lease that was never granted: nothing to release (its caller got that error)
        ),
      ),
    );
  }
}
