/**
 * Booted session actor threads, handed to sessions as they need one.
 *
 * - Spares: threads booted ahead of need, so a session does not wait ~230 ms for a worker.
 *   The target number of spares follows the rate at which threads are taken (an exponentially
 *   weighted moving average) times the time a boot takes, between `min` and `max`; a quiet
 *   server shrinks back to `min`, retiring only spares left unused for `spareIdleMs` (so waves
 *   of short sessions keep finding their warm threads).
 * - Waiters: when no spare is left, a session waits in line (FIFO) for the next thread that
 *   boots or is handed back. At most `maxParallelBoots` threads boot at once, so a burst of new
 *   sessions is served in order by boots that finish quickly, instead of hundreds of boots
 *   slowing each other down on a few cores.
 * - Renewed threads (a session let go of one, see ActorThread.recycle) go to the next waiter,
 *   else back to the spares.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from '../observability/log.js';
import { ActorThread } from '../threads/actor-thread.js';

export interface WarmPoolOptions {
  min: number;
  max: number;
  /** Creates a thread (booting; `ready` resolves when it can be bound). */
  spawn(): ActorThread;
  log: Logger;
  /** Threads booting at once (default: the number of cores, at least 2). */
  maxParallelBoots?: number;
  /** Called when the pool's counts change, for metrics. */
  onChange?(stats: WarmPoolStats): void;
  /**
   * A spare beyond the target is retired only once it has waited this long unused (ms): a
   * workload that comes back within it (waves of short sessions) finds its threads warm instead
   * of booting cold ones. Default 30 s.
   */
  spareIdleMs?: number;
  /** Sessions a thread may serve, one after another, before it is retired (1 = never reused). */
  maxReuses: number;
  /**
   * Actors waiting for a thread of their own without blocking on it (they run on shared start
   * threads meanwhile): the pool boots toward that many spares too, up to `max`.
   */
  backlog?(): number;
}

export interface WarmPoolStats {
  spare: number;
  booting: number;
  waiting: number;
  target: number;
  coldStarts: number;
  warmStarts: number;
  recycled: number;
}

const TICK_MS = 1_000;
/** Smoothing of the acquisition rate per tick. */
const ALPHA = 0.3;
/** Consecutive boot failures after which waiters are failed instead of kept waiting. */
const FAILURES_BEFORE_GIVING_UP = 3;

interface Waiter {
  resolve(t: ActorThread): void;
  reject(e: Error): void;
  since: number;
}

export class WarmPool {
  private readonly spare: ActorThread[] = [];
  private readonly waiters: Waiter[] = [];
  private booting = 0;
  /** Threads being renewed after a session (see recycle()): they come back in milliseconds. */
  private renewing = 0;
  private acquiredThisTick = 0;
  private returnedThisTick = 0;
  /** Net demand for threads: taken minus handed back, per second (EWMA). Renewed threads come back, so only the rest needs boots. */
  private rate = 0;
  private bootMs = 250; // EWMA of observed boot time
  private target: number;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly maxParallel: number;
  private coldStarts = 0;
  private warmStarts = 0;
  private recycled = 0;
  private consecutiveFailures = 0;
  private readonly tracked = new WeakSet<ActorThread>();
  /** When each spare became one (Date.now()). */
  private readonly spareSince = new WeakMap<ActorThread, number>();
  private readonly spareIdleMs: number;

  constructor(private readonly options: WarmPoolOptions) {
    this.target = options.min;
    this.spareIdleMs = options.spareIdleMs ?? 30_000;
    this.maxParallel = options.maxParallelBoots ?? Math.max(2, availableParallelism());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stats(): WarmPoolStats {
    return {
      spare: this.spare.length,
      booting: this.booting,
      waiting: this.waiters.length,
      target: this.target,
      coldStarts: this.coldStarts,
      warmStarts: this.warmStarts,
      recycled: this.recycled,
    };
  }

  private changed(): void {
    this.options.onChange?.(this.stats());
  }

  /** Boots the minimum number of spares; resolves when the first thread is ready (rejects if it cannot boot). */
  async start(): Promise<void> {
    const first = this.options.spawn();
    this.booting++;
    try {
      await first.ready;
    } finally {
      this.booting--;
    }
    this.track(first);
    this.spare.push(first);
    this.fill();
  }

  /**
   * A spare now, or undefined. Only a spare taken counts as demand: an actor that found none runs
   * elsewhere, and asks for a thread through `backlog` when it is due one.
   */
  tryAcquire(): ActorThread | undefined {
    if (this.closed) return undefined;
    const t = this.takeSpare();
    if (t) this.acquiredThisTick++;
    this.retarget();
    this.fill();
    return t;
  }

  /** A ready thread: a spare now, or the next one that boots or is handed back. */
  acquire(): Promise<ActorThread> {
    if (this.closed) return Promise.reject(new Error('warm pool is closed'));
    this.acquiredThisTick++;
    const t = this.takeSpare();
    const got = t ? Promise.resolve(t) : new Promise<ActorThread>((resolve, reject) => this.waiters.push({ resolve, reject, since: Date.now() }));
    this.retarget();
    this.fill();
    return got;
  }

  /** The warmest live spare, handed out warm, or undefined when none is left. */
  private takeSpare(): ActorThread | undefined {
    while (this.spare.length > 0) {
      const t = this.takeWarmest();
      if (!t.alive) continue;
      this.warmStarts++;
      t.handedOut = 'warm';
      return t;
    }
    return undefined;
  }

  /**
   * The spare that has served the most requests. Every session actor is its own V8 isolate that
   * JIT-compiles the same hot paths for itself (a few thousand calls), so a well-used thread is
   * measurably faster than a fresh one: hand those out first, and retire the coldest.
   */
  private takeWarmest(): ActorThread {
    let best = 0;
    for (let i = 1; i < this.spare.length; i++) if (this.spare[i]!.served > this.spare[best]!.served) best = i;
    return this.spare.splice(best, 1)[0]!;
  }

  private takeColdest(): ActorThread {
    let worst = 0;
    for (let i = 1; i < this.spare.length; i++) if (this.spare[i]!.served < this.spare[worst]!.served) worst = i;
    return this.spare.splice(worst, 1)[0]!;
  }

  /** The coldest spare that has been unused for spareIdleMs, or undefined. */
  private takeColdestIdle(now: number): ActorThread | undefined {
    let worst = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const t = this.spare[i]!;
      if (now - (this.spareSince.get(t) ?? 0) < this.spareIdleMs) continue;
      if (worst < 0 || t.served < this.spare[worst]!.served) worst = i;
    }
    return worst < 0 ? undefined : this.spare.splice(worst, 1)[0]!;
  }

  /** Hands a ready thread to the oldest waiter, or keeps it as a spare (or retires it past max). */
  private place(t: ActorThread, fresh: boolean): void {
    const w = this.waiters.shift();
    if (w) {
      if (fresh) this.coldStarts++;
      else this.warmStarts++;
      t.handedOut = fresh ? 'cold' : 'warm';
      w.resolve(t);
      this.changed();
      return;
    }
    // Past max, a ready thread is retired — unless a boot is in flight (retiring a warm thread
    // while booting a cold one would only waste the boot); the tick trims the surplus later.
    if (this.closed) {
      this.retire(t);
      return;
    }
    this.spare.push(t);
    this.spareSince.set(t, Date.now());
    // Full (and no boot in flight, whose result would be wasted): the coldest spare goes.
    if (this.spare.length > Math.max(this.options.max, 1) && this.booting === 0) this.retire(this.takeColdest());
    this.changed();
  }

  private retire(t: ActorThread): void {
    t.stop();
    setTimeout(() => void t.kill('retired thread did not stop'), 2_000).unref();
  }

  private track(t: ActorThread): void {
    if (this.tracked.has(t)) return;
    this.tracked.add(t);
    void t.exited.then(() => {
      const i = this.spare.indexOf(t);
      if (i >= 0) this.spare.splice(i, 1);
    });
  }

  private observeBoot(ms: number): void {
    this.bootMs = this.bootMs * 0.8 + ms * 0.2;
  }

  private retarget(): void {
    const instantaneous = Math.max(this.rate, Math.max(0, this.acquiredThisTick - this.returnedThisTick) * (1000 / TICK_MS));
    const want = Math.ceil(instantaneous * (this.bootMs / 1000) * 1.5);
    this.target = Math.max(this.options.min, Math.min(this.options.max, want));
    this.changed();
  }

  private tick(): void {
    const net = Math.max(0, this.acquiredThisTick - this.returnedThisTick);
    this.rate = this.rate * (1 - ALPHA) + net * (1000 / TICK_MS) * ALPHA;
    if (this.rate < 0.05) this.rate = 0;
    this.acquiredThisTick = 0;
    this.returnedThisTick = 0;
    this.retarget();
    // Shrink: anything beyond max goes now (max is a cap; it is only exceeded while boots are in
    // flight); beyond the target, one per tick among the spares unused for spareIdleMs, so the
    // pool decays smoothly and threads that keep being reused (waves of short sessions) stay.
    const cap = Math.max(this.options.max, 1);
    while (this.spare.length > cap && this.booting === 0) this.retire(this.takeColdest());
    const keep = Math.max(this.target, Math.min(this.options.backlog?.() ?? 0, this.options.max));
    if (this.spare.length > keep && this.waiters.length === 0) {
      const idle = this.takeColdestIdle(Date.now());
      if (idle) this.retire(idle);
    }
    this.consecutiveFailures = 0; // a new tick, a new chance to boot
    this.fill();
  }

  private fill(): void {
    if (this.closed || this.consecutiveFailures >= FAILURES_BEFORE_GIVING_UP) return;
    const backlog = Math.min(this.options.backlog?.() ?? 0, this.options.max);
    const want = this.waiters.length + Math.max(this.target, backlog);
    while (this.spare.length + this.booting + this.renewing < want && this.booting < this.maxParallel) void this.boot();
  }

  private async boot(): Promise<void> {
    this.booting++;
    this.changed();
    const started = Date.now();
    const t = this.options.spawn();
    try {
      await t.ready;
      this.observeBoot(Date.now() - started);
      this.consecutiveFailures = 0;
      this.track(t);
      this.booting--;
      this.place(t, true);
    } catch (err) {
      this.booting--;
      this.consecutiveFailures++;
      this.options.log.error({ err: (err as Error).message }, 'session actor failed to boot');
      // Someone waiting for this boot gets the failure rather than waiting forever; after
      // repeated failures everyone waiting does, and booting pauses until the next tick.
      const failing = this.consecutiveFailures >= FAILURES_BEFORE_GIVING_UP ? this.waiters.splice(0) : this.waiters.splice(0, 1);
      for (const w of failing) w.reject(new Error(`a session actor could not start: ${(err as Error).message}`));
    } finally {
      this.changed();
      this.fill();
    }
  }

  /**
   * Renews a thread a session let go of and takes it back (true), or stops it (false: it may not
   * serve again, or its renewal failed). `renewed` runs once it is renewed, before it is handed
   * on. While it renews it counts as coming back: a session waiting for a thread waits for it (a
   * renewal takes milliseconds) instead of having a boot started for it (~100 ms of CPU).
   */
  async recycle(t: ActorThread, renewed?: () => void): Promise<boolean> {
    if (!this.canReuse(t)) {
      t.stop();
      return false;
    }
    this.renewing++;
    let ok = false;
    try {
      ok = await t.recycle();
    } finally {
      this.renewing--;
    }
    if (!ok) {
      t.stop();
      this.fill(); // whoever waited for it needs a boot after all
      return false;
    }
    renewed?.();
    this.giveBack(t);
    return true;
  }

  /** Whether a thread that served a session may serve another one. */
  canReuse(t: ActorThread): boolean {
    return !this.closed && t.alive && t.reuses < this.options.maxReuses - 1;
  }

  /** Takes back a renewed thread (see ActorThread.recycle): to a waiter, a spare, or retirement. */
  giveBack(t: ActorThread): void {
    t.onMessage = () => {};
    if (!t.alive) return;
    this.recycled++;
    this.returnedThisTick++;
    this.track(t);
    this.place(t, false);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w.reject(new Error('the server is shutting down'));
    const threads = this.spare.splice(0);
    for (const t of threads) t.stop();
    await Promise.all(
      threads.map((t) =>
        Promise.race([t.exited, new Promise((r) => setTimeout(r, 2_000))]).then(() => t.kill('warm pool closed')),
      ),
    );
  }
}
