/**
 * Spare, booted session actor threads, so a new (or waking) session does not wait for a worker
 * to start (~230 ms here for a thread that imports the MCP SDK).
 *
 * Elastic: the target number of spares follows the rate at which threads are taken (an
 * exponentially weighted moving average) times the time a thread takes to boot, between `min`
 * and `max`. A burst of new sessions grows the pool; a quiet server shrinks it back to `min`.
 */
import type { Logger } from '../observability/log.js';
import { ActorThread } from './actor-thread.js';

export interface WarmPoolOptions {
  min: number;
  max: number;
  /** Creates a thread (booting; `ready` resolves when it can be bound). */
  spawn(): ActorThread;
  log: Logger;
  /** Threads booting in the background at once (cold acquisitions are never held back). */
  maxParallelBoots?: number;
  /** Called when the pool's counts change, for metrics. */
  onChange?(stats: WarmPoolStats): void;
  /** Sessions a thread may serve, one after another, before it is retired (1 = never reused). */
  maxReuses: number;
}

export interface WarmPoolStats {
  spare: number;
  booting: number;
  target: number;
  coldStarts: number;
  warmStarts: number;
  recycled: number;
}

const TICK_MS = 1_000;
/** Smoothing of the acquisition rate per tick. */
const ALPHA = 0.3;

export class WarmPool {
  private readonly spare: ActorThread[] = [];
  private booting = 0;
  private acquiredThisTick = 0;
  private rate = 0; // acquisitions per second (EWMA)
  private bootMs = 250; // EWMA of observed boot time
  private target: number;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private coldStarts = 0;
  private warmStarts = 0;
  private bootFailures = 0;
  private recycled = 0;
  private readonly tracked = new WeakSet<ActorThread>();

  constructor(private readonly options: WarmPoolOptions) {
    this.target = options.min;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stats(): WarmPoolStats {
    return { spare: this.spare.length, booting: this.booting, target: this.target, coldStarts: this.coldStarts, warmStarts: this.warmStarts, recycled: this.recycled };
  }

  /** Boots the minimum number of spares; resolves when the first one is ready (or rejects if it cannot boot). */
  async start(): Promise<void> {
    const first = this.boot();
    this.fill();
    await first;
  }

  /** A ready thread: a spare if there is one, otherwise a cold start. */
  async acquire(): Promise<ActorThread> {
    if (this.closed) throw new Error('warm pool is closed');
    this.acquiredThisTick++;
    while (this.spare.length > 0) {
      const t = this.spare.pop()!;
      if (!t.alive) continue;
      this.warmStarts++;
      this.retarget();
      this.fill();
      return t;
    }
    this.coldStarts++;
    this.retarget();
    this.fill();
    const started = Date.now();
    const t = this.options.spawn();
    await t.ready;
    this.observeBoot(Date.now() - started);
    return t;
  }

  private observeBoot(ms: number): void {
    this.bootMs = this.bootMs * 0.8 + ms * 0.2;
  }

  private retarget(): void {
    const instantaneous = Math.max(this.rate, this.acquiredThisTick * (1000 / TICK_MS));
    const want = Math.ceil(instantaneous * (this.bootMs / 1000) * 2);
    this.target = Math.max(this.options.min, Math.min(this.options.max, want));
    this.options.onChange?.(this.stats());
  }

  private tick(): void {
    this.rate = this.rate * (1 - ALPHA) + this.acquiredThisTick * (1000 / TICK_MS) * ALPHA;
    if (this.rate < 0.05) this.rate = 0;
    this.acquiredThisTick = 0;
    this.retarget();
    // Shrink: retire spares beyond the target, one per tick, so the pool decays smoothly.
    if (this.spare.length > this.target) {
      const t = this.spare.shift()!;
      t.stop();
      setTimeout(() => void t.kill('retired spare did not stop'), 2_000).unref();
    }
    this.fill();
  }

  private fill(): void {
    if (this.closed) return;
    const parallel = this.options.maxParallelBoots ?? 2;
    while (this.spare.length + this.booting < this.target && this.booting < parallel) {
      void this.boot().catch(() => {});
    }
  }

  private async boot(): Promise<void> {
    this.booting++;
    const started = Date.now();
    const t = this.options.spawn();
    try {
      await t.ready;
      this.observeBoot(Date.now() - started);
      this.bootFailures = 0;
      if (this.closed) {
        t.stop();
        return;
      }
      this.addSpare(t);
    } catch (err) {
      this.bootFailures++;
      this.options.log.error({ err: (err as Error).message }, 'session actor failed to boot');
      throw err;
    } finally {
      this.booting--;
      this.options.onChange?.(this.stats());
      // After repeated boot failures, stop refilling until the next tick instead of spinning.
      if (this.bootFailures === 0) this.fill();
    }
  }

  /** Whether a thread that served a session may serve another one. */
  canReuse(t: ActorThread): boolean {
    return !this.closed && t.alive && t.reuses < this.options.maxReuses - 1;
  }

  /** Takes back a renewed thread (see ActorThread.recycle) as a spare, or retires it. */
  giveBack(t: ActorThread): void {
    t.onMessage = () => {};
    if (this.closed || !t.alive || this.spare.length >= this.options.max) {
      t.stop();
      setTimeout(() => void t.kill('retired thread did not stop'), 2_000).unref();
      return;
    }
    this.recycled++;
    this.addSpare(t);
    this.options.onChange?.(this.stats());
  }

  /** A spare that dies while waiting is forgotten (one listener per thread, however often reused). */
  private addSpare(t: ActorThread): void {
    this.spare.push(t);
    if (this.tracked.has(t)) return;
    this.tracked.add(t);
    void t.exited.then(() => {
      const i = this.spare.indexOf(t);
      if (i >= 0) this.spare.splice(i, 1);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const threads = this.spare.splice(0);
    for (const t of threads) t.stop();
    await Promise.all(
      threads.map((t) =>
        Promise.race([t.exited, new Promise((r) => setTimeout(r, 2_000))]).then(() => t.kill('warm pool closed')),
      ),
    );
  }
}
