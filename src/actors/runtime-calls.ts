/**
 * Inside an actor: requests to the runtime on the main thread (session stats, ending a session,
 * resource leases…), each answered by a `result` message. Every call has a deadline.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { FromActor, ToActor } from './messages.js';

export class RuntimeCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeCallError';
  }
}

/** A runtime call result carrying transferables (e.g. a lease's MessagePort). */
export class Transferring {
  constructor(
    readonly value: unknown,
    readonly transfer: TransferListItem[],
  ) {}
}

export class RuntimeCalls {
  private next = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly post: (m: FromActor) => void,
    private readonly timeoutMs = 30_000,
  ) {}

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = this.timeoutMs): Promise<T> {
    const cid = ++this.next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cid);
        reject(new RuntimeCallError('TIMEOUT', `runtime call ${op} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(cid, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ t: 'call', cid, op, args });
    });
  }

  settle(m: Extract<ToActor, { t: 'result' }>): void {
    const p = this.pending.get(m.cid);
    if (!p) return;
    this.pending.delete(m.cid);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new RuntimeCallError(m.error.code, m.error.message));
  }
}

export interface SessionStats {
  total_sessions: number;
  max_concurrent: number;
  active_sessions: number;
  hibernated_sessions: number;
  session: { created_at: string; last_activity: string; active_tasks: number; restarts: number };
}

/** `ctx.service<SessionService>('session')`: what a toolset may ask about sessions. */
export interface SessionService {
  stats(): Promise<SessionStats>;
  /** Ends a session: the caller's own (after the current request), or another with admin rights. */
  end(target: string, adminToken?: string): Promise<{ ended: boolean; deferred: boolean }>;
}
