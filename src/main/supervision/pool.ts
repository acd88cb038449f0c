/**
 * A pool of resource actor instances and the leases sessions hold on them.
 *
 * - Instances have a key. A shared pool serves any number of leases per instance (one public
 *   exchange client per exchange); an exclusive pool serves one lease per instance (a computer,
 *   a credentialed client). Instances with the same key are interchangeable.
 * - Limits: at most `maxInstances` instances and `maxLeases` leases. A lease that cannot be
 *   granted waits (FIFO) until its deadline, then fails with LEASE_TIMEOUT. Nothing is locked
 *   while waiting: a waiter is a promise and a timer.
 * - A lease has an owner; `releaseOwner` (the owning session ended, hibernated or crashed)
 *   releases all of its leases and abandons its waits.
 * - Released exclusive instances are reset before reuse (or destroyed if reset fails, or at once
 *   when `idleTtlMs` is 0); idle instances are retired after `idleTtlMs`; at the instance limit
 *   the least recently used idle instance is evicted to make room.
 * - Health: a failing check, or an instance dying on its own, cuts its lessees off with a clear
 *   error and frees its slot; `minInstances` are kept warm.
 */
import { CodedError, codedError } from '../../shared/errors.js';
import type { LeaseOwner } from '../directory.js';
import { randomUUID } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from '../observability/log.js';

export interface PoolBackend<S> {
  /** `owner`: who asked for it; undefined for an instance the pool keeps warm on its own. */
  create(iid: string, spec: S, owner: LeaseOwner | undefined): Promise<void>;
  attach(iid: string, lid: string): Promise<MessagePort>;
  detach(iid: string, lid: string): void;
  reset(iid: string): Promise<void>;
  health(iid: string): Promise<void>;
  destroy(iid: string): Promise<void>;
  /** A short name for errors and logs, never containing secrets. */
  label(spec: S): string;
}

export interface PoolOptions<S> {
  kind: string;
  backend: PoolBackend<S>;
  maxInstances: number;
  maxLeases: number;
  minInstances?: number;
  /** The spec `minInstances` are created with. */
  warmSpec?: S;
  shared: boolean;
  key(spec: S, owner: LeaseOwner | undefined): string;
  waitTimeoutMs: number;
  /** Idle instances are destroyed after this long; 0 = as soon as their last lease ends. */
  idleTtlMs: number;
  resetOnRelease: boolean;
  healthIntervalMs: number;
  log: Logger;
  onChange?(stats: PoolStats): void;
  onEvent?(event: 'granted' | 'timeout' | 'lost' | 'created' | 'destroyed', waitedMs?: number): void;
}

export interface PoolStats {
  kind: string;
  instances: number;
  idle: number;
  leases: number;
  waiting: number;
}

export interface Granted {
  lid: string;
  iid: string;
  port: MessagePort;
  label: string;
}

type PoolCode = 'LEASE_TIMEOUT' | 'LEASE_CANCELLED' | 'POOL_CLOSED' | 'RESOURCE_UNAVAILABLE';

/** A pool's own failure (retryable unless it says otherwise). */
function poolError(code: PoolCode, message: string, retryable = true): CodedError<PoolCode> {
  return codedError(code, message, { retryable });
}

const POOL_CODES: ReadonlySet<string> = new Set<PoolCode>(['LEASE_TIMEOUT', 'LEASE_CANCELLED', 'POOL_CLOSED', 'RESOURCE_UNAVAILABLE']);

type State = 'creating' | 'ready' | 'resetting' | 'dead';

interface Instance<S> {
  iid: string;
  key: string;
  spec: S;
  state: State;
  leases: Set<string>;
  lastUsed: number;
  created: Promise<void>;
}

interface LeaseRecord {
  lid: string;
  iid: string;
  owner: LeaseOwner;
}

interface Waiter<S> {
  owner: LeaseOwner;
  spec: S;
  key: string;
  since: number;
  waitId: string | undefined;
  resolve(g: Granted): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export type PoolEvent = 'granted' | 'timeout' | 'lost' | 'created' | 'destroyed';

export class ResourcePool<S> {
  private readonly observers: Array<(event: PoolEvent, waitedMs?: number) => void> = [];
  private readonly instances = new Map<string, Instance<S>>();
  private readonly leases = new Map<string, LeaseRecord>();
  private waiters: Waiter<S>[] = [];
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private lastHealth = 0;
  private pumping = false;

  constructor(private readonly o: PoolOptions<S>) {
    const tick = Math.max(200, Math.min(5_000, (o.idleTtlMs || 5_000) / 2, o.healthIntervalMs || 5_000));
    this.timer = setInterval(() => this.maintain(), tick);
    this.timer.unref();
  }

  get kind(): string {
    return this.o.kind;
  }

  /** Subscribes to lease and instance events (metrics). */
  observe(fn: (event: PoolEvent, waitedMs?: number) => void): void {
    this.observers.push(fn);
  }

  private emit(event: PoolEvent, waitedMs?: number): void {
    this.o.onEvent?.(event, waitedMs);
    for (const fn of this.observers) fn(event, waitedMs);
  }

  stats(): PoolStats {
    let idle = 0;
    for (const i of this.instances.values()) if (i.state === 'ready' && i.leases.size === 0) idle++;
    return { kind: this.o.kind, instances: this.instances.size, idle, leases: this.leases.size, waiting: this.waiters.length };
  }

  private changed(): void {
    this.o.onChange?.(this.stats());
  }

  /** Starts the warm minimum (if any). */
  warm(): void {
    const min = this.o.minInstances ?? 0;
    if (this.closed || min === 0 || this.o.warmSpec === undefined) return;
    let live = 0;
    for (const i of this.instances.values()) if (i.state !== 'dead') live++;
    for (; live < min && live < this.o.maxInstances; live++) {
      const inst = this.newInstance(this.o.warmSpec, undefined);
      void inst.created.then(
        () => this.pump(),
        () => {},
      );
    }
  }

  private newInstance(spec: S, owner: LeaseOwner | undefined): Instance<S> {
    const iid = `${this.o.kind}-${randomUUID().slice(0, 8)}`;
    const inst: Instance<S> = { iid, key: this.o.key(spec, owner), spec, state: 'creating', leases: new Set(), lastUsed: Date.now(), created: Promise.resolve() };
    this.instances.set(iid, inst);
    inst.created = this.o.backend.create(iid, spec, owner).then(
      () => {
        if (inst.state === 'creating') inst.state = 'ready';
        this.emit('created');
        this.o.log.info({ pool: this.o.kind, instance: iid, label: this.o.backend.label(spec) }, 'resource instance created');
        this.changed();
      },
      (err: unknown) => {
        inst.state = 'dead';
        this.instances.delete(iid);
        this.o.log.warn({ pool: this.o.kind, instance: iid, err: (err as Error).message }, 'resource instance could not be created');
        this.changed();
        throw err;
      },
    );
    this.changed();
    return inst;
  }

  /**
   * Grants a lease on an instance for `spec`, creating one if the limits allow, else waiting up
   * to `waitMs` (default: the pool's wait timeout).
   */
  acquire(owner: LeaseOwner, spec: S, opts: { waitMs?: number; waitId?: string } = {}): Promise<Granted> {
    if (this.closed) return Promise.reject(poolError('POOL_CLOSED', `the ${this.o.kind} pool is shut down`, false));
    const key = this.o.key(spec, owner);
    return new Promise<Granted>((resolve, reject) => {
      const waitMs = opts.waitMs ?? this.o.waitTimeoutMs;
      const w: Waiter<S> = {
        owner,
        spec,
        key,
        since: Date.now(),
        waitId: opts.waitId,
        resolve,
        reject,
        timer: setTimeout(() => {
          if (!this.removeWaiter(w)) return;
          this.emit('timeout', Date.now() - w.since);
          const s = this.stats();
          reject(
            poolError(
              'LEASE_TIMEOUT',
              `no ${this.o.kind} became available within ${waitMs} ms (${s.leases}/${this.o.maxLeases} leases, ${s.instances}/${this.o.maxInstances} instances in use); try again later`,
            ),
          );
        }, waitMs),
      };
      this.waiters.push(w);
      this.changed();
      this.pump();
    });
  }

  private removeWaiter(w: Waiter<S>): boolean {
    const i = this.waiters.indexOf(w);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    this.changed();
    return true;
  }

  /** Gives up a pending acquire (the requesting call was cancelled). */
  abandon(waitId: string): boolean {
    const w = this.waiters.find((x) => x.waitId === waitId);
    if (!w || !this.removeWaiter(w)) return false;
    w.reject(poolError('LEASE_CANCELLED', `the wait for a ${this.o.kind} was cancelled`, false));
    return true;
  }

  /** Serves waiters in order, as far as instances and limits allow. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      for (const w of [...this.waiters]) {
        // Grants still awaiting their instance count too: they are leases already promised.
        if (this.leases.size + this.granting >= this.o.maxLeases) break;
        const inst = this.pick(w);
        if (!inst) continue;
        this.removeWaiter(w);
        this.granting++;
        void this.grant(inst, w);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** An instance that can take this waiter now (reserving it), or undefined. */
  private pick(w: Waiter<S>): Instance<S> | undefined {
    for (const inst of this.instances.values()) {
      if (inst.key !== w.key || inst.state === 'dead' || inst.state === 'resetting') continue;
      if (this.o.shared) return inst;
      if (inst.leases.size === 0 && !this.reserved.has(inst.iid)) return this.reserve(inst);
    }
    let live = 0;
    for (const i of this.instances.values()) if (i.state !== 'dead') live++;
    if (live >= this.o.maxInstances) {
      const victim = this.lruIdle(w.key);
      if (!victim) return undefined;
      void this.retire(victim, 'evicted to make room');
    }
    return this.reserve(this.newInstance(w.spec, w.owner));
  }

  private readonly reserved = new Set<string>();
  /** Grants chosen by pump() whose lease is not yet recorded (their instance is still starting). */
  private granting = 0;

  private reserve(inst: Instance<S>): Instance<S> {
    if (!this.o.shared) this.reserved.add(inst.iid);
    return inst;
  }

  private lruIdle(exceptKey: string): Instance<S> | undefined {
    let best: Instance<S> | undefined;
    for (const i of this.instances.values()) {
      if (i.state !== 'ready' || i.leases.size > 0 || this.reserved.has(i.iid) || i.key === exceptKey) continue;
      if (!best || i.lastUsed < best.lastUsed) best = i;
    }
    return best;
  }

  private async grant(inst: Instance<S>, w: Waiter<S>): Promise<void> {
    const lid = `lease-${randomUUID().slice(0, 12)}`;
    let counted = true;
    const uncount = () => {
      if (counted) this.granting--;
      counted = false;
    };
    try {
      await inst.created;
      if (inst.state === 'dead') throw poolError('RESOURCE_UNAVAILABLE', `the ${this.o.kind} died before it could be leased`);
      uncount();
      inst.leases.add(lid);
      this.leases.set(lid, { lid, iid: inst.iid, owner: w.owner });
      this.reserved.delete(inst.iid);
      inst.lastUsed = Date.now();
      const port = await this.o.backend.attach(inst.iid, lid);
      this.emit('granted', Date.now() - w.since);
      this.changed();
      w.resolve({ lid, iid: inst.iid, port, label: this.o.backend.label(inst.spec) });
    } catch (err) {
      uncount();
      this.reserved.delete(inst.iid);
      inst.leases.delete(lid);
      this.leases.delete(lid);
      this.changed();
      w.reject(
        err instanceof CodedError && POOL_CODES.has(err.code)
          ? err
          : poolError('RESOURCE_UNAVAILABLE', `could not lease a ${this.o.kind} (${this.o.backend.label(w.spec)}): ${(err as Error).message}`),
      );
      this.pump();
    }
  }

  /** Ends a lease; the instance is reset for reuse, kept for sharing, or destroyed. */
  async release(lid: string): Promise<void> {
    const rec = this.leases.get(lid);
    if (!rec) return;
    this.leases.delete(lid);
    const inst = this.instances.get(rec.iid);
    if (!inst) {
      this.pump();
      return;
    }
    inst.leases.delete(lid);
    inst.lastUsed = Date.now();
    this.o.backend.detach(inst.iid, lid);
    this.changed();
    if (inst.leases.size > 0 || inst.state !== 'ready') {
      this.pump();
      return;
    }
    if (this.o.idleTtlMs === 0) {
      await this.retire(inst, 'released');
      return;
    }
    if (this.o.resetOnRelease) {
      inst.state = 'resetting';
      try {
        await this.o.backend.reset(inst.iid);
        if (inst.state === 'resetting') inst.state = 'ready';
      } catch (err) {
        this.o.log.warn({ pool: this.o.kind, instance: inst.iid, err: (err as Error).message }, 'reset failed; replacing the instance');
        await this.retire(inst, 'reset failed');
        return;
      }
    }
    this.pump();
  }

  /** Releases everything an owner holds and abandons its waits (the owner is gone). */
  async releaseOwner(owner: LeaseOwner): Promise<void> {
    for (const w of this.waiters.filter((x) => x.owner === owner)) {
      if (this.removeWaiter(w)) w.reject(poolError('LEASE_CANCELLED', `the session that asked for a ${this.o.kind} has gone`, false));
    }
    const mine = [...this.leases.values()].filter((l) => l.owner === owner).map((l) => l.lid);
    await Promise.all(mine.map((lid) => this.release(lid)));
  }

  /** Who holds a lease (undefined when it does not exist). */
  ownerOf(lid: string): LeaseOwner | undefined {
    return this.leases.get(lid)?.owner;
  }

  /** Leases an owner holds right now. */
  leasesOf(owner: LeaseOwner): number {
    let n = 0;
    for (const l of this.leases.values()) if (l.owner === owner) n++;
    return n;
  }

  /** An instance died (its process was killed, its host crashed, a health check failed). */
  instanceDied(iid: string, reason: string): void {
    const inst = this.instances.get(iid);
    if (!inst || inst.state === 'dead') return;
    this.o.log.warn({ pool: this.o.kind, instance: iid, reason, leases: inst.leases.size }, 'resource instance died');
    this.emit('lost');
    void this.retire(inst, reason);
  }

  private async retire(inst: Instance<S>, reason: string): Promise<void> {
    if (inst.state === 'dead') return;
    inst.state = 'dead';
    this.instances.delete(inst.iid);
    this.reserved.delete(inst.iid);
    for (const lid of inst.leases) {
      this.leases.delete(lid);
      this.o.backend.detach(inst.iid, lid);
    }
    inst.leases.clear();
    this.changed();
    try {
      await this.o.backend.destroy(inst.iid);
    } catch (err) {
      this.o.log.warn({ pool: this.o.kind, instance: inst.iid, err: (err as Error).message }, 'destroy failed');
    }
    this.emit('destroyed');
    this.o.log.info({ pool: this.o.kind, instance: inst.iid, reason }, 'resource instance retired');
    this.warm();
    this.pump();
  }

  private maintain(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.o.idleTtlMs > 0) {
      for (const inst of [...this.instances.values()]) {
        const warmFloor = (this.o.minInstances ?? 0) > 0 && this.instances.size <= (this.o.minInstances ?? 0);
        if (inst.state === 'ready' && inst.leases.size === 0 && !this.reserved.has(inst.iid) && now - inst.lastUsed >= this.o.idleTtlMs && !warmFloor) {
          void this.retire(inst, `idle for ${this.o.idleTtlMs} ms`);
        }
      }
    }
    if (this.o.healthIntervalMs > 0 && now - this.lastHealth >= this.o.healthIntervalMs) {
      this.lastHealth = now;
      for (const inst of [...this.instances.values()]) {
        if (inst.state !== 'ready') continue;
        this.o.backend.health(inst.iid).catch((err: unknown) => this.instanceDied(inst.iid, `health check failed: ${(err as Error).message}`));
      }
    }
    this.warm();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(poolError('POOL_CLOSED', `the ${this.o.kind} pool is shutting down`, false));
    }
    await Promise.all([...this.instances.values()].map((i) => this.retire(i, 'pool closed')));
  }
}
