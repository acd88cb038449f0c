/**
 * The warm pool (src/main/sessions/warm-pool.ts) with real session actor threads (the compiled
 * worker, diagnostics toolset): it keeps `min` spares booted and refills after an acquire; a
 * burst grows the target toward `max` (never past it) while waiters are served, oldest first, by
 * boots that never exceed maxParallelBoots; canReuse/maxReuses bound how often a thread is
 * renewed, giveBack returns a renewed thread (the most used spare goes out first); a failed boot
 * fails its waiter instead of leaving it hanging; close() rejects waiters and stops every thread.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ActorBootData } from '../../src/shared/actor-messages.js';
import { UNIT_BOOT, actorThread } from './threads.js';
import { createLogger } from '../../src/main/observability/log.js';
import { WarmPool, type WarmPoolOptions, type WarmPoolStats } from '../../src/main/sessions/warm-pool.js';
import type { ActorThread } from '../../src/main/threads/actor-thread.js';

const BOOT = UNIT_BOOT;
const BROKEN: ActorBootData = { ...BOOT, toolsets: ['file:///nonexistent/toolset.js'] };

const spawned: ActorThread[] = [];
const pools: WarmPool[] = [];

function makePool(o: Partial<WarmPoolOptions> = {}, boot: () => ActorBootData = () => BOOT) {
  const seen: WarmPoolStats[] = [];
  const watchers: Array<{ ok(s: WarmPoolStats): boolean; resolve(s: WarmPoolStats): void }> = [];
  const pool = new WarmPool({
    min: 1,
    max: 2,
    maxReuses: 3,
    maxParallelBoots: 2,
    log: createLogger('silent'),
    spawn: () => {
      const t = actorThread(boot());
      spawned.push(t);
      return t;
    },
    onChange: (s) => {
      seen.push(s);
      for (const w of watchers.filter((x) => x.ok(s))) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(s);
      }
    },
    ...o,
  });
  pools.push(pool);
  /** Resolves with the pool's stats once they satisfy `ok` (now, or at a later change). */
  const until = (ok: (s: WarmPoolStats) => boolean) =>
    ok(pool.stats()) ? Promise.resolve(pool.stats()) : new Promise<WarmPoolStats>((resolve) => watchers.push({ ok, resolve }));
  return { pool, seen, until };
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(spawned.splice(0).map((t) => t.kill('test over')));
});

describe('WarmPool', () => {
  it('keeps min spares booted, hands one out at once and refills', async () => {
    const { pool, until } = makePool({ min: 2, max: 4 });
    await pool.start();
    await until((s) => s.spare === 2 && s.booting === 0);
    expect(spawned).toHaveLength(2);

    const t = await pool.acquire();
    expect(t.alive).toBe(true);
    expect(t.handedOut).toBe('warm');
    expect(pool.stats()).toMatchObject({ warmStarts: 1, coldStarts: 0 });
    await until((s) => s.spare === 2 && s.booting === 0);
    expect(spawned).toHaveLength(3);
    expect(spawned.indexOf(t)).toBeLessThan(2); // a spare went out; the third thread is the refill
  });

  it('grows toward max under a burst, serves waiters in order with boots, and never exceeds its bounds', async () => {
    const { pool, seen, until } = makePool({ min: 0, max: 1, maxParallelBoots: 2 });
    await pool.start();
    expect(pool.stats().target).toBe(0);

    const order: number[] = [];
    const burst = [0, 1, 2].map((i) => pool.acquire().then((t) => (order.push(i), t)));
    expect(pool.stats()).toMatchObject({ waiting: 2, target: 1 }); // the demand would want 2 spares; max says 1
    const threads = await Promise.all(burst);

    expect(new Set(threads).size).toBe(3);
    expect(threads.every((t) => t.alive)).toBe(true);
    expect(order).toEqual([0, 1, 2]); // FIFO
    expect(threads.map((t) => t.handedOut)).toEqual(['warm', 'cold', 'cold']);
    expect(pool.stats()).toMatchObject({ warmStarts: 1, coldStarts: 2, waiting: 0 });
    expect(Math.max(...seen.map((s) => s.booting))).toBeLessThanOrEqual(2);
    expect(Math.max(...seen.map((s) => s.target))).toBe(1);
    const settledDown = await until((s) => s.booting === 0);
    expect(settledDown.spare).toBeLessThanOrEqual(1);
  });

  it('bounds reuse by maxReuses, takes renewed threads back, and hands out the most used spare first', async () => {
    const { pool, until } = makePool({ min: 1, max: 2, maxReuses: 2 });
    await pool.start();
    const a = await pool.acquire();
    expect(pool.canReuse(a)).toBe(true);
    expect(makePool({ maxReuses: 1 }).pool.canReuse(a)).toBe(false); // 1 = never reused
    expect(await a.recycle()).toBe(true); // renewed by the real thread: a fresh incarnation
    expect(a.reuses).toBe(1);
    expect(pool.canReuse(a)).toBe(false); // renewed once: it serves a 2nd session, then retires

    await until((s) => s.spare === 1 && s.booting === 0);
    a.served = 5; // as a session actor counts the requests it ran on the thread
    pool.giveBack(a);
    expect(pool.stats()).toMatchObject({ recycled: 1, spare: 2 });
    expect(await pool.acquire()).toBe(a);

    await a.kill('test: a dead thread');
    expect(pool.canReuse(a)).toBe(false);
    pool.giveBack(a);
    expect(pool.stats().recycled).toBe(1); // a dead thread is not taken back
  });

  it('keeps spares beyond its target until they have been unused for spareIdleMs, then retires them', async () => {
    const { pool, until } = makePool({ min: 0, max: 8, spareIdleMs: 2_500 });
    await pool.start();
    const taken = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    for (const t of taken) expect(await t.recycle()).toBe(true);
    for (const t of taken) {
      t.served = 5; // as a session actor counts the requests it ran on the thread
      pool.giveBack(t);
    }
    const returnedAt = Date.now();
    // The pool's target falls back to 0 at once (nothing is being taken), yet nothing is retired
    // for spareIdleMs: each second's tick would otherwise retire one.
    const retiredAt: number[] = [];
    for (const t of taken) void t.exited.then(() => retiredAt.push(Date.now() - returnedAt));
    await until((s) => s.spare === 0);
    expect(retiredAt).toHaveLength(3);
    for (const ms of retiredAt) expect(ms).toBeGreaterThanOrEqual(2_400);
  }, 20_000);

  it('has a session that finds no spare wait for a thread being renewed rather than boot one', async () => {
    const { pool } = makePool({ min: 0, max: 0 });
    await pool.start(); // boots one thread, kept as the one spare max allows
    const t = await pool.acquire();
    const booted = spawned.length;
    const renewing = pool.recycle(t);
    const next = await pool.acquire(); // no spare: the renewing thread is on its way
    expect(await renewing).toBe(true);
    expect(next).toBe(t);
    expect(spawned).toHaveLength(booted); // no boot was started for it
    expect(t.reuses).toBe(1);
  });

  it('fails a waiter when its boot fails instead of leaving it waiting', async () => {
    let boot = BOOT;
    const { pool } = makePool({ min: 1, max: 1 }, () => boot);
    await pool.start();
    boot = BROKEN;
    const first = await pool.acquire(); // the spare; its refill boots broken
    expect(first.alive).toBe(true);
    await expect(pool.acquire()).rejects.toThrow(/could not start.*nonexistent/);
  });

  it('close() rejects waiters and later acquires, and stops every thread, spare, booting or given back', async () => {
    const { pool } = makePool({ min: 1, max: 1 });
    await pool.start();
    const held = await pool.acquire();
    const waiting = pool.acquire(); // nothing spare: waits for a boot
    await pool.close();
    await expect(waiting).rejects.toThrow('shutting down');
    await expect(pool.acquire()).rejects.toThrow('closed');
    expect(pool.canReuse(held)).toBe(false);
    pool.giveBack(held);
    const exits = await Promise.all(spawned.map((t) => t.exited));
    expect(exits.map((e) => e.reason)).toEqual(spawned.map(() => 'normal'));
  });
});
