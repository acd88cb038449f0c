/**
 * Shared start threads (`warmPool.sharedStart`, off by default): where a new session or handle
 * actor runs its first requests when no spare thread of its own is ready, instead of waiting for
 * one to boot (~150 ms of CPU each: a burst of 100 new sessions on 2 cores waits seconds).
 *
 * A shared start thread is a booted, long-lived actor thread hosting many actors in slots, each
 * with its own incarnation (McpServer, handshake, state) — the way the single-threaded SDK server
 * hosts every session. An actor that stays longer than `warmPool.sharedStartMoveAfterMs` is
 * counted as demand by the warm pool, which boots threads of their own in the background, and it
 * moves to one at its next idle moment when a spare is ready (it hibernates off the slot; its
 * next request wakes it on the spare, handshake and state replayed). Short workflows (a few
 * calls) end where they started and cost no boot at all; long ones get the runtime's usual
 * isolation after their first moments.
 *
 * What sharing costs while it lasts — why it is a setting, not the default: actors on one shared
 * thread run one at a time (a CPU-bound handler delays its slot mates), and a handler that must be
 * terminated (deadline + grace) or crashes the thread takes the slot mates' running requests with
 * it: each gets an error and its actor restarts with its record, as after any crash.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { FromActor, ToActor } from '../../shared/actor-messages.js';
import type { Logger } from '../observability/log.js';
import type { ActorExit, ActorHost, ActorThread } from '../threads/actor-thread.js';

export interface SharedStartOptions {
  /** Shared start threads kept booted. */
  threads: number;
  /** Actors one shared thread hosts at most. */
  slotsPerThread: number;
  spawn(): ActorThread;
  log: Logger;
}

/** One actor's place on a shared start thread. */
export class ActorSlot implements ActorHost {
  readonly shared = true;
  /** When the actor took the slot (performance.now()). */
  readonly since = performance.now();
  onMessage: (m: FromActor) => void = () => {};
  readonly exited: Promise<ActorExit>;
  private settle!: (e: ActorExit) => void;
  private done = false;

  constructor(
    private readonly host: SharedThread,
    readonly slot: number,
  ) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  get threadId(): number {
    return this.host.thread.threadId;
  }

  get served(): number {
    return this.host.thread.served;
  }

  set served(n: number) {
    this.host.thread.served = n;
  }

  post(m: ToActor, transfer?: readonly TransferListItem[]): void {
    if (this.done) return;
    if (m.t === 'bind' || m.t === 'in' || m.t === 'abort' || m.t === 'result') this.host.thread.post({ t: 'slot', slot: this.slot, m }, transfer);
  }

  stop(): void {
    if (this.done) return;
    this.host.thread.post({ t: 'slot-release', slot: this.slot });
  }

  kill(reason: string): Promise<void> {
    return this.host.thread.kill(reason);
  }

  /** The slot's incarnation retired, or the thread ended: the actor has left. */
  end(exit: ActorExit): void {
    if (this.done) return;
    this.done = true;
    this.settle(exit);
  }
}

class SharedThread {
  readonly slots = new Map<number, ActorSlot>();
  private next = 1;
  ready = false;

  constructor(
    readonly thread: ActorThread,
    log: Logger,
  ) {
    thread.onMessage = (m) => {
      if (m.t === 'slot') this.slots.get(m.slot)?.onMessage(m.m);
      else if (m.t === 'slot-released') {
        this.slots.get(m.slot)?.end({ reason: 'normal', normal: true, code: 0 });
        this.slots.delete(m.slot);
      } else if (m.t === 'log') log[m.level]({ ...m.data, thread: thread.threadId, shared: true }, m.msg);
    };
    void thread.exited.then((exit) => {
      // Every actor on it leaves with the thread's exit, told that it shared the thread.
      for (const s of this.slots.values()) {
        s.end(exit.normal ? exit : { ...exit, message: `the shared start thread ended (${exit.message ?? exit.reason})` });
      }
      this.slots.clear();
    });
  }

  open(): ActorSlot {
    const slot = new ActorSlot(this, this.next++);
    this.slots.set(slot.slot, slot);
    return slot;
  }
}

export class SharedStart {
  private readonly threads: SharedThread[] = [];
  private closed = false;
  private failures = 0;

  constructor(private readonly options: SharedStartOptions) {}

  /** Boots the shared threads (resolves when they are ready; a failure is logged, not fatal). */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.threads }, () => this.boot()));
  }

  private async boot(): Promise<void> {
    if (this.closed) return;
    const t = new SharedThread(this.options.spawn(), this.options.log);
    this.threads.push(t);
    void t.thread.exited.then((exit) => {
      const i = this.threads.indexOf(t);
      if (i >= 0) this.threads.splice(i, 1);
      if (this.closed) return;
      if (!exit.normal) this.options.log.warn({ reason: exit.reason, detail: exit.message }, 'a shared start thread ended; starting another');
      // Replaced after a pause that grows while replacements keep failing (at most 30 s).
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures++, 7));
      setTimeout(() => void this.boot(), exit.normal ? 0 : delay).unref();
    });
    try {
      await t.thread.ready;
      t.ready = true;
      this.failures = 0;
    } catch (err) {
      this.options.log.error({ err: (err as Error).message }, 'a shared start thread failed to boot');
    }
  }

  /** A slot on the ready shared thread with the fewest actors, or undefined when all are full. */
  open(): ActorSlot | undefined {
    if (this.closed) return undefined;
    let best: SharedThread | undefined;
    for (const t of this.threads) {
      if (!t.ready || !t.thread.alive || t.slots.size >= this.options.slotsPerThread) continue;
      if (!best || t.slots.size < best.slots.size) best = t;
    }
    return best?.open();
  }

  /** Actors on shared threads now. */
  get hosted(): number {
    return this.threads.reduce((n, t) => n + t.slots.size, 0);
  }

  /** Actors that have been on a shared thread for at least `ms` (those due to move). */
  hostedFor(ms: number): number {
    const before = performance.now() - ms;
    let n = 0;
    for (const t of this.threads) for (const s of t.slots.values()) if (s.since <= before) n++;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    for (const t of threads) t.thread.stop();
    await Promise.all(threads.map((t) => Promise.race([t.thread.exited, new Promise((r) => setTimeout(r, 2_000))]).then(() => t.thread.kill('shared start closed'))));
  }
}
