/**
 * The resource pool (src/main/supervision/pool.ts) on its own, with a PoolBackend whose
 * instances are plain objects (and whose ports are real MessageChannel ports): the instance and
 * lease limits, FIFO waits that end in a retryable LEASE_TIMEOUT, shared vs exclusive instances
 * by key (and LRU eviction at the instance limit), reset on release, retirement after idleTtlMs,
 * releaseOwner (owners compared by identity), health checks and instanceDied cutting lessees off
 * and freeing the slot, the warm minimum, and close(). Real timers, short TTLs, wide margins.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionKey, type LeaseOwner } from '../../src/main/directory.js';
import { createLogger } from '../../src/main/observability/log.js';
import { ResourcePool, type PoolBackend, type PoolEvent, type PoolOptions } from '../../src/main/supervision/pool.js';
import { CodedError } from '../../src/shared/errors.js';

interface Spec {
  name: string;
}

interface Thing {
  spec: Spec;
  owner: LeaseOwner | undefined;
  attached: Set<string>;
  resets: number;
  healthy: boolean;
  destroyed: boolean;
}

/** Instances are plain objects; every call is recorded, and waiters can await a call. */
class Backend implements PoolBackend<Spec> {
  readonly things = new Map<string, Thing>();
  readonly calls: string[] = [];
  failCreate = false;
  failReset = false;
  private readonly ports: MessagePort[] = [];
  private readonly waiters: Array<{ call: string; resolve(iid: string): void }> = [];

  private record(call: string, iid: string): void {
    this.calls.push(`${call} ${iid}`);
    for (const w of this.waiters.filter((x) => x.call === call)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(iid);
    }
  }

  /** Resolves with the iid of the next `call` (create, reset, destroy, …). */
  next(call: string): Promise<string> {
    return new Promise((resolve) => this.waiters.push({ call, resolve }));
  }

  count(call: string): number {
    return this.calls.filter((c) => c.startsWith(`${call} `)).length;
  }

  async create(iid: string, spec: Spec, owner: LeaseOwner | undefined): Promise<void> {
    if (this.failCreate) throw new Error(`${spec.name} refused to start`);
    this.things.set(iid, { spec, owner, attached: new Set(), resets: 0, healthy: true, destroyed: false });
    this.record('create', iid);
  }
  async attach(iid: string, lid: string): Promise<MessagePort> {
    this.things.get(iid)!.attached.add(lid);
    const { port1, port2 } = new MessageChannel();
    this.ports.push(port1, port2);
    this.record('attach', iid);
    return port2;
  }
  detach(iid: string, lid: string): void {
    this.things.get(iid)!.attached.delete(lid);
    this.record('detach', iid);
  }
  async reset(iid: string): Promise<void> {
    this.record('reset', iid);
    if (this.failReset) throw new Error('reset went wrong');
    this.things.get(iid)!.resets++;
  }
  async health(iid: string): Promise<void> {
    if (!this.things.get(iid)!.healthy) throw new Error('not responding');
  }
  async destroy(iid: string): Promise<void> {
    this.things.get(iid)!.destroyed = true;
    this.record('destroy', iid);
  }
  label(spec: Spec): string {
    return spec.name;
  }

  closePorts(): void {
    for (const p of this.ports) p.close();
  }
}

const log = createLogger('silent');
const pools: Array<{ pool: ResourcePool<Spec>; backend: Backend }> = [];

function makePool(opts: Partial<PoolOptions<Spec>> = {}) {
  const backend = new Backend();
  const events: PoolEvent[] = [];
  const pool = new ResourcePool<Spec>({
    kind: 'thing',
    backend,
    maxInstances: 2,
    maxLeases: 10,
    shared: false,
    key: (spec) => spec.name,
    waitTimeoutMs: 5_000,
    idleTtlMs: 60_000,
    resetOnRelease: true,
    healthIntervalMs: 0,
    log,
    onEvent: (e) => events.push(e),
    ...opts,
  });
  pools.push({ pool, backend });
  return { pool, backend, events };
}

afterEach(async () => {
  for (const { pool, backend } of pools.splice(0)) {
    await pool.close();
    backend.closePorts();
  }
});

let incarnation = 0;
const owner = (id = 's'): LeaseOwner => ({ key: sessionKey(id), incarnation: ++incarnation, principal: undefined });
const spec = (name = 'desk'): Spec => ({ name });

/** Whether a promise settled by the time already-queued callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('ResourcePool', () => {
  it('grants up to maxInstances exclusive instances; the next waits and gets a released one, reset', async () => {
    const { pool, backend } = makePool({ maxInstances: 2 });
    const a = await pool.acquire(owner('a'), spec());
    const b = await pool.acquire(owner('b'), spec());
    expect(a.iid).not.toBe(b.iid);
    expect(a.label).toBe('desk');
    expect(backend.count('create')).toBe(2);

    const c = pool.acquire(owner('c'), spec());
    expect(await settled(c)).toBe(false);
    expect(pool.stats()).toMatchObject({ instances: 2, leases: 2, waiting: 1 });

    await pool.release(a.lid);
    const granted = await c;
    expect(granted.iid).toBe(a.iid); // the released instance, not a third one
    expect(backend.things.get(a.iid)!.resets).toBe(1);
    expect(backend.count('create')).toBe(2);
    expect(backend.things.get(a.iid)!.attached).toEqual(new Set([granted.lid]));
  });

  it('caps leases at maxLeases even on a shared instance', async () => {
    const { pool } = makePool({ shared: true, maxLeases: 2 });
    const a = await pool.acquire(owner(), spec('binance'));
    await pool.acquire(owner(), spec('binance'));
    const third = pool.acquire(owner(), spec('binance'));
    expect(await settled(third)).toBe(false);
    await pool.release(a.lid);
    await expect(third).resolves.toMatchObject({ iid: a.iid });
  });

  it('caps leases at maxLeases when acquisitions arrive together', async () => {
    // Three sessions ask in the same tick (as concurrent tool calls do): only one may be granted.
    const seen = [];
    for (const shared of [true, false]) {
      const { pool } = makePool({ shared, maxInstances: 5, maxLeases: 1, waitTimeoutMs: 300 });
      const outcomes = await Promise.allSettled([owner(), owner(), owner()].map((o) => pool.acquire(o, spec('binance'))));
      seen.push({ shared, granted: outcomes.filter((x) => x.status === 'fulfilled').length, leases: pool.stats().leases });
    }
    expect(seen).toEqual([
      { shared: true, granted: 1, leases: 1 },
      { shared: false, granted: 1, leases: 1 },
    ]);
  });

  it('fails a wait past its deadline with a retryable LEASE_TIMEOUT', async () => {
    const { pool, events } = makePool({ maxInstances: 1 });
    await pool.acquire(owner('holder'), spec());
    const started = Date.now();
    const err = (await pool.acquire(owner('late'), spec(), { waitMs: 150 }).catch((e: unknown) => e)) as CodedError;
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(CodedError);
    expect(err.code).toBe('LEASE_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('150 ms');
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(3_000);
    expect(pool.stats().waiting).toBe(0);
    expect(events).toContain('timeout');
  });

  it('shares one instance per key in a shared pool, and evicts the least recently used idle key at the limit', async () => {
    const { pool, backend } = makePool({ shared: true, maxInstances: 2 });
    const leases = await Promise.all([owner(), owner(), owner()].map((o) => pool.acquire(o, spec('binance'))));
    expect(new Set(leases.map((l) => l.iid)).size).toBe(1);
    expect(new Set(leases.map((l) => l.lid)).size).toBe(3);
    const kraken = await pool.acquire(owner(), spec('kraken'));
    expect(kraken.iid).not.toBe(leases[0]!.iid);
    expect(backend.count('create')).toBe(2);

    // Both slots taken; binance goes idle, so a third key evicts it rather than waiting.
    for (const l of leases) await pool.release(l.lid);
    const destroyed = backend.next('destroy');
    const bybit = await pool.acquire(owner(), spec('bybit'));
    expect(await destroyed).toBe(leases[0]!.iid);
    expect(pool.stats()).toMatchObject({ instances: 2, leases: 2 });
    expect(bybit.iid).not.toBe(kraken.iid);
  });

  it('keeps exclusive instances to one lease each, even for the same key', async () => {
    const { pool } = makePool({ shared: false, maxInstances: 3 });
    const a = await pool.acquire(owner(), spec('acct'));
    const b = await pool.acquire(owner(), spec('acct'));
    expect(a.iid).not.toBe(b.iid);
  });

  it('destroys an instance whose reset fails, and one released with idleTtlMs 0', async () => {
    const failing = makePool();
    const a = await failing.pool.acquire(owner(), spec());
    failing.backend.failReset = true;
    await failing.pool.release(a.lid);
    expect(failing.backend.things.get(a.iid)!.destroyed).toBe(true);
    expect(failing.pool.stats().instances).toBe(0);

    const oneShot = makePool({ idleTtlMs: 0 });
    const b = await oneShot.pool.acquire(owner(), spec());
    await oneShot.pool.release(b.lid);
    expect(oneShot.backend.things.get(b.iid)!.destroyed).toBe(true);
    expect(oneShot.backend.count('reset')).toBe(0);
  });

  it('retires an idle instance after idleTtlMs, but not one in use', async () => {
    const { pool, backend } = makePool({ idleTtlMs: 300 });
    const idle = await pool.acquire(owner(), spec('idle'));
    const busy = await pool.acquire(owner(), spec('busy'));
    const destroyed = backend.next('destroy');
    const releasedAt = Date.now();
    await pool.release(idle.lid);
    expect(await destroyed).toBe(idle.iid);
    const after = Date.now() - releasedAt;
    expect(after).toBeGreaterThanOrEqual(290);
    expect(after).toBeLessThan(5_000);
    // Idle retirement ran at least once past the TTL, yet the leased instance is still there.
    expect(backend.things.get(busy.iid)!.destroyed).toBe(false);
    expect(pool.ownerOf(busy.lid)).toBeDefined();
    expect(pool.stats()).toMatchObject({ instances: 1, leases: 1 });
  });

  it('releaseOwner releases everything the owner holds and cancels its waits; owners are compared by identity', async () => {
    const { pool, backend } = makePool({ maxInstances: 2 });
    const gone = owner('gone');
    const twin: LeaseOwner = { ...gone }; // equal fields, another owner
    const a = await pool.acquire(gone, spec());
    const b = await pool.acquire(gone, spec());
    const ownWait = pool.acquire(gone, spec());
    const twinWait = pool.acquire(twin, spec());
    expect(pool.leasesOf(gone)).toBe(2);
    expect(pool.leasesOf(twin)).toBe(0);

    await pool.releaseOwner(gone);
    await expect(ownWait).rejects.toMatchObject({ code: 'LEASE_CANCELLED', retryable: false });
    const granted = await twinWait; // the freed slot goes to the next waiter
    expect(pool.ownerOf(granted.lid)).toBe(twin);
    expect(pool.leasesOf(gone)).toBe(0);
    expect(pool.ownerOf(a.lid)).toBeUndefined();
    expect(pool.ownerOf(b.lid)).toBeUndefined();
    expect(backend.things.get(a.iid)!.attached.has(a.lid)).toBe(false);
    expect(backend.things.get(b.iid)!.attached.has(b.lid)).toBe(false);
  });

  it('a failing health check retires the instance, cuts its lessee off and frees the slot', async () => {
    const { pool, backend, events } = makePool({ maxInstances: 1, healthIntervalMs: 200 });
    const o = owner();
    const a = await pool.acquire(o, spec());
    const waiting = pool.acquire(owner(), spec());
    const destroyed = backend.next('destroy');
    backend.things.get(a.iid)!.healthy = false;
    expect(await destroyed).toBe(a.iid);
    expect(pool.ownerOf(a.lid)).toBeUndefined();
    expect(pool.leasesOf(o)).toBe(0);
    expect(backend.things.get(a.iid)!.attached.size).toBe(0);
    expect(events).toContain('lost');
    const fresh = await waiting; // the slot was freed: a new instance serves the waiter
    expect(fresh.iid).not.toBe(a.iid);
  });

  it('instanceDied cuts the lessees off and refills the warm minimum', async () => {
    const { pool, backend } = makePool({ shared: true, maxInstances: 1, minInstances: 1, warmSpec: spec() });
    const warmed = backend.next('create');
    pool.warm();
    const first = await warmed;
    const lease = await pool.acquire(owner(), spec());
    expect(lease.iid).toBe(first); // the warm instance serves the first lease
    const refilled = backend.next('create');
    pool.instanceDied(first, 'its host thread crashed');
    expect(pool.ownerOf(lease.lid)).toBeUndefined();
    const second = await refilled;
    expect(second).not.toBe(first);
    expect(backend.things.get(first)!.destroyed).toBe(true);
    expect(backend.things.get(second)!.owner).toBeUndefined(); // created by the pool, for nobody
    pool.instanceDied('thing-unknown', 'no such instance'); // ignored
    expect(pool.stats().instances).toBe(1);
  });

  it('answers a failed create with RESOURCE_UNAVAILABLE, an abandoned wait with LEASE_CANCELLED, and close with POOL_CLOSED', async () => {
    const { pool, backend } = makePool({ maxInstances: 1 });
    backend.failCreate = true;
    const failed = (await pool.acquire(owner(), spec()).catch((e: unknown) => e)) as CodedError;
    expect(failed.code).toBe('RESOURCE_UNAVAILABLE');
    expect(failed.message).toContain('refused to start');
    expect(pool.stats().instances).toBe(0);

    backend.failCreate = false;
    await pool.acquire(owner(), spec());
    const abandoned = pool.acquire(owner(), spec(), { waitId: 'w1' });
    expect(pool.abandon('w1')).toBe(true);
    await expect(abandoned).rejects.toMatchObject({ code: 'LEASE_CANCELLED' });
    expect(pool.abandon('w1')).toBe(false);

    const waiting = pool.acquire(owner(), spec());
    await pool.close();
    await expect(waiting).rejects.toMatchObject({ code: 'POOL_CLOSED', retryable: false });
    await expect(pool.acquire(owner(), spec())).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect([...backend.things.values()].every((t) => t.destroyed)).toBe(true);
  });
});
