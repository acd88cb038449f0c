/**
 * Request/reply correlation for every call that crosses a thread: each call gets an id and a
 * deadline; its answer settles it once (a late answer is dropped); when the peer goes away,
 * everything pending is rejected at once. One implementation for the actor's runtime calls, the
 * resource host requests and the leased-resource RPC.
 */
import { CodedError } from './errors.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Correlator {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closedBy: Error | undefined;

  /**
   * @param timeoutCode the code of the error a call gets at its deadline
   */
  constructor(private readonly timeoutCode = 'CALL_TIMEOUT') {}

  /** Calls in flight. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts a call: `send(id)` puts it on the wire; the promise settles with its answer, or rejects
   * at `timeoutMs` (`what` names the call in the error), or when the peer is gone.
   */
  call<T = unknown>(send: (id: number) => void, timeoutMs: number, what: string): Promise<T> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CodedError(this.timeoutCode, `${what} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        send(id);
      } catch (err) {
        this.reject(id, err as Error);
      }
    });
  }

  /** Answers call `id`. Unknown ids (late answers to calls past their deadline) are ignored. */
  resolve(id: number, value: unknown): void {
    this.take(id)?.resolve(value);
  }

  /** Fails call `id`. Unknown ids are ignored. */
  reject(id: number, err: Error): void {
    this.take(id)?.reject(err);
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  /** The peer is gone: every pending call and every later one rejects with `err`. */
  close(err: Error): void {
    this.closedBy ??= err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
