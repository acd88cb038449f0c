/**
 * A session's computer: one lease on the `computer` resource kind, kept across calls. The session
 * is the actor's: a 2025-era MCP session, or a computer-use session handle (MCP 2026-07-28) —
 * never a thread of the stateless pool, which keeps nothing across requests (a stateless
 * run_cua_task leases a computer with `leaseComputer` for that call only).
 *
 * Lost computers (its Xvfb died or was killed, it failed a health check, the remote connection
 * dropped): the first call that finds out fails with COMPUTER_LOST — nothing of that call was
 * done, and the screen it was about is gone — and forgets the lease; the call after that leases a
 * fresh computer. Silently continuing on a fresh, blank screen would make a click or a typed line
 * land somewhere the caller never looked.
 *
 * The lease ends with the session (end, cleanup_session, hibernation, crash: the runtime releases it) or at
 * `release()`; the pool resets the computer before anyone else gets it.
 */
import { CodedError } from '../../../shared/errors.js';
import { ComputerError, type Computer, type ComputerErrorCode, type MouseButton, type Point, type ScreenSize } from '../shared/computer.js';
import { COMPUTER_KIND, type ComputerApi, type ComputerInfo } from '../shared/lease-api.js';
import type { LeaseService, ResourceLease } from '../../../actor/lease-client.js';
import type { ToolsetContext } from '../../../actor/toolsets/types.js';

/** An error a tool reports as `[CODE] message`. */
/** A cua tool's own failure (LEASE_TIMEOUT, COMPUTER_LOST, NOT_AVAILABLE…): the runtime's one error type. */
export class ToolError extends CodedError {
  constructor(code: string, message: string, retryable = false) {
    super(code, message, { retryable });
    this.name = 'ToolError';
  }
}

const COMPUTER_CODES = new Set<ComputerErrorCode>(['BAD_COORDINATES', 'BAD_ARGUMENT', 'COMPUTER_DEAD', 'TIMEOUT', 'BACKEND_ERROR', 'AUTH_FAILED', 'NOT_SUPPORTED']);

/** Deadlines of the calls on a leased computer (the computers have their own, shorter ones). */
export const CALL_TIMEOUT_MS = 30_000;
export const METHOD_TIMEOUTS_MS: Record<string, number> = { type: 120_000, holdKey: 130_000, drag: 60_000 };

/** Codes that mean the computer is gone (as opposed to one call failing). */
export function isLoss(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'COMPUTER_DEAD' || code === 'RESOURCE_LOST';
}

function asComputerError(err: unknown, id: string): ComputerError {
  if (err instanceof ComputerError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (code === 'RESOURCE_LOST') return new ComputerError('COMPUTER_DEAD', `${id} is gone: ${message}`);
  if (typeof code === 'string' && COMPUTER_CODES.has(code as ComputerErrorCode)) return new ComputerError(code as ComputerErrorCode, message);
  return new ComputerError('BACKEND_ERROR', message);
}

/** The Computer contract over a lease (what the agent loop and the tools drive). */
export class LeasedComputer implements Computer {
  readonly id: string;
  readonly backend: 'xvfb' | 'cua';

  constructor(
    readonly lease: ResourceLease<ComputerApi>,
    readonly info: ComputerInfo,
  ) {
    this.id = info.id;
    this.backend = info.backend;
  }

  get lost(): boolean {
    return this.lease.isLost;
  }

  private async call<T>(fn: (r: ResourceLease<ComputerApi>['resource']) => Promise<T>): Promise<T> {
    try {
      return await fn(this.lease.resource);
    } catch (err) {
      throw asComputerError(err, this.id);
    }
  }

  /** Rejects with BAD_COORDINATES unless (x, y) is on the screen. */
  checkPoint(x: number, y: number): void {
    const { width, height } = this.info;
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= width || y >= height) {
      throw new ComputerError('BAD_COORDINATES', `(${x}, ${y}) is off the screen: x must be in 0..${width - 1} and y in 0..${height - 1} (the screen is ${width}x${height})`);
    }
  }

  screenshot(): Promise<Uint8Array> {
    return this.call((r) => r.screenshot());
  }
  screenSize(): Promise<ScreenSize> {
    return this.call((r) => r.screenSize());
  }
  cursorPosition(): Promise<Point> {
    return this.call((r) => r.cursorPosition());
  }
  move(x: number, y: number): Promise<void> {
    return this.call((r) => r.move(x, y));
  }
  click(x: number, y: number, button?: MouseButton): Promise<void> {
    return this.call((r) => r.click(x, y, button));
  }
  doubleClick(x: number, y: number): Promise<void> {
    return this.call((r) => r.doubleClick(x, y));
  }
  tripleClick(x: number, y: number): Promise<void> {
    return this.call((r) => r.tripleClick(x, y));
  }
  mouseDown(button?: MouseButton): Promise<void> {
    return this.call((r) => r.mouseDown(button));
  }
  mouseUp(button?: MouseButton): Promise<void> {
    return this.call((r) => r.mouseUp(button));
  }
  drag(path: Point[], button?: MouseButton): Promise<void> {
    return this.call((r) => r.drag(path, button));
  }
  scroll(x: number, y: number, dx: number, dy: number): Promise<void> {
    return this.call((r) => r.scroll(x, y, dx, dy));
  }
  type(text: string): Promise<void> {
    return this.call((r) => r.type(text));
  }
  key(keys: string): Promise<void> {
    return this.call((r) => r.key(keys));
  }
  holdKey(keys: string, ms: number): Promise<void> {
    return this.call((r) => r.holdKey(keys, ms));
  }
  /** Health, reset and close belong to the pool, not to the lessee. */
  health(): Promise<void> {
    return Promise.reject(new ComputerError('NOT_SUPPORTED', 'the pool checks the health of leased computers'));
  }
  reset(): Promise<void> {
    return Promise.reject(new ComputerError('NOT_SUPPORTED', 'the pool resets a computer when its lease ends'));
  }
  close(): Promise<void> {
    return this.lease.release();
  }
}

/** Leases one more computer (run_multi_cua_tasks; a stateless call's own), with the deadlines every lease gets. */
export async function leaseComputer(leases: LeaseService, opts: { signal?: AbortSignal; waitMs: number }): Promise<LeasedComputer> {
  const lease = await leases.acquire<ComputerApi>(COMPUTER_KIND, {}, {
    signal: opts.signal,
    waitMs: opts.waitMs,
    callTimeoutMs: CALL_TIMEOUT_MS,
    methodTimeoutsMs: METHOD_TIMEOUTS_MS,
  });
  try {
    return new LeasedComputer(lease, await lease.resource.info());
  } catch (err) {
    await lease.release();
    throw err;
  }
}

export function lostError(id: string): ToolError {
  return new ToolError(
    'COMPUTER_LOST',
    `this session's computer (${id}) was lost — it stopped, stopped answering its health check, or its connection dropped — and its screen with it; nothing was done. The next call gets a fresh computer.`,
  );
}

/** State key: the id of the computer this session last had (to tell a fresh one apart after hibernation). */
const LAST_COMPUTER = 'computer';

export class SessionComputer {
  private current: LeasedComputer | undefined;
  /** Set when a fresh computer replaced one this session had before without a reported loss (it hibernated). */
  private replacedSilently: string | undefined;

  constructor(private readonly ctx: ToolsetContext) {}

  private leases(): LeaseService {
    const s = this.ctx.service<LeaseService>('leases');
    if (!s) throw new ToolError('NOT_AVAILABLE', 'computers can only be leased inside the mcp-actors runtime');
    return s;
  }

  /** The computer this session holds right now, if any (not checked for loss). */
  get held(): LeasedComputer | undefined {
    return this.current;
  }

  /**
   * The session's computer, leased on first use (waiting up to `waitMs`). Throws COMPUTER_LOST once
   * if the computer was lost since the last call.
   */
  async get(opts: { signal?: AbortSignal; waitMs: number }): Promise<LeasedComputer> {
    if (this.ctx.actor.kind === 'stateless') {
      throw new ToolError('HANDLE_REQUIRED', "a session's computer needs a session: call create_session first and pass the session_id it returns");
    }
    const cur = this.current;
    if (cur?.lost) {
      this.current = undefined;
      this.ctx.state.delete(LAST_COMPUTER);
      throw lostError(cur.id);
    }
    if (cur) return cur;
    const computer = await leaseComputer(this.leases(), opts);
    const before = this.ctx.state.get<string>(LAST_COMPUTER);
    if (before !== undefined) this.replacedSilently = before;
    this.ctx.state.set(LAST_COMPUTER, computer.id);
    this.current = computer;
    this.ctx.log.info({ computer: computer.id }, 'leased a computer');
    return computer;
  }

  /** A note for the next result when this session got a fresh computer after hibernating (once). */
  takeFreshNote(): string | undefined {
    const before = this.replacedSilently;
    this.replacedSilently = undefined;
    return before === undefined
      ? undefined
      : `Note: this session's previous computer (${before}) was returned while the session was idle; this is a fresh one (${this.current?.id ?? 'new'}).`;
  }

  /**
   * After a failure on `computer`: if it means the computer is gone, forgets it (its lease is
   * released if still open) and returns the COMPUTER_LOST error to report instead.
   */
  async checkLoss(computer: LeasedComputer, err: unknown): Promise<ToolError | undefined> {
    if (!computer.lost && !isLoss(err)) return undefined;
    await this.forget(computer);
    return lostError(computer.id);
  }

  /** Forgets `computer` (already reported lost), releasing its lease. */
  async forget(computer: LeasedComputer): Promise<void> {
    if (this.current === computer) {
      this.current = undefined;
      this.ctx.state.delete(LAST_COMPUTER);
    }
    await computer.lease.release();
  }

  /** Gives the computer back to the pool (it is reset before anyone else gets it). */
  async release(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (cur) await cur.lease.release();
  }
}
