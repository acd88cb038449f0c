/**
 * Inside an actor: requests to the runtime on the main thread (session stats, ending a session,
 * resource leases…), each answered by a `result` message. Every call has a deadline.
 */
import { Correlator } from '../shared/correlator.js';
import { CodedError } from '../shared/errors.js';
import type { FromActor, ToActor } from '../shared/actor-messages.js';

export class RuntimeCalls {
  private readonly calls = new Correlator();

  constructor(
    private readonly post: (m: FromActor) => void,
    private readonly timeoutMs = 30_000,
  ) {}

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = this.timeoutMs): Promise<T> {
    return this.calls.call<T>((cid) => this.post({ t: 'call', cid, op, args }), timeoutMs, `runtime call ${op}`);
  }

  settle(m: Extract<ToActor, { t: 'result' }>): void {
    if (m.ok) this.calls.resolve(m.cid, m.value);
    else this.calls.reject(m.cid, new CodedError(m.error.code, m.error.message));
  }
}

export interface SessionStats {
  total_sessions: number;
  max_concurrent: number;
  active_sessions: number;
  hibernated_sessions: number;
  /** The calling session's or handle's own figures; absent on the stateless pool. */
  session?: { created_at: string; last_activity: string; active_tasks: number; restarts: number };
}

/** `ctx.service<SessionService>('session')`: what a toolset may ask about sessions. */
export interface SessionService {
  stats(): Promise<SessionStats>;
  /** Ends a session: the caller's own (after the current request), or another with admin rights. */
  end(target: string, adminToken?: string): Promise<{ ended: boolean; deferred: boolean }>;
}
