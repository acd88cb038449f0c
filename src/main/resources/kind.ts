/**
 * A resource kind: its host threads, the backend that places instances on them, and its pool.
 *
 * Placement:
 * - `shared` hosts: a fixed set of host threads (supervised, permanent) each carrying many
 *   instances — exchange clients. A host that dies takes its instances with it: their lessees
 *   are cut off with RESOURCE_LOST, the host is restarted, later leases create fresh instances.
 * - `per-instance` hosts: one host thread per instance — computers. The instance dies with its
 *   thread; the pool replaces it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from '../observability/log.js';
import type { LeaseOwner } from '../directory.js';
import { codedError } from '../../shared/errors.js';
import { ResourcePool, type PoolOptions } from '../supervision/pool.js';
import { Supervisor } from '../supervision/supervisor.js';
import type { HostBootData } from '../../shared/host-messages.js';
import { ResourceHost } from '../threads/resource-host.js';

export interface ResourceKindOptions<S> {
  kind: string;
  /** Module specifier of the host-side ResourceFactory. */
  factory: string;
  factoryConfig: Record<string, unknown>;
  placement: { mode: 'shared'; hosts: number } | { mode: 'per-instance' };
  /** Picks the host index for a new instance (shared placement); default: least loaded. */
  placeOn?(spec: S, loads: number[]): number;
  /** Credentials for an instance, resolved on the main thread (never seen by sessions). */
  secretsFor?(spec: S, owner: LeaseOwner | undefined): Record<string, string> | undefined;
  pool: Omit<PoolOptions<S>, 'backend' | 'log' | 'kind'>;
  label(spec: S): string;
  opTimeoutMs: number;
  logLevel: string;
  /** CPU priority of the host threads (Linux nice; see sessions.actorNice). */
  nice?: number;
  heapLimitMb?: number;
  log: Logger;
  supervisor: Supervisor;
}

export class ResourceKind<S = unknown> {
  readonly pool: ResourcePool<S>;
  private readonly hosts: Array<ResourceHost | undefined> = [];
  private readonly where = new Map<string, ResourceHost>();
  private readonly boot: HostBootData;
  private closing = false;

  constructor(private readonly o: ResourceKindOptions<S>) {
    this.boot = { module: o.factory, kind: o.kind, config: o.factoryConfig, logLevel: o.logLevel, nice: o.nice ?? 0 };
    const self = this;
    this.pool = new ResourcePool<S>({
      ...o.pool,
      kind: o.kind,
      log: o.log,
      backend: {
        create: (iid, spec, owner) => self.create(iid, spec, owner),
        attach: (iid, lid) => self.hostOf(iid).attach(iid, lid, o.opTimeoutMs),
        detach: (iid, lid) => self.where.get(iid)?.detach(lid),
        reset: async (iid) => {
          await self.hostOf(iid).request({ t: 'reset', iid }, o.opTimeoutMs);
        },
        health: async (iid) => {
          await self.hostOf(iid).request({ t: 'health', iid }, Math.min(o.opTimeoutMs, 5_000));
        },
        destroy: (iid) => self.destroy(iid),
        label: o.label,
      },
    });
  }

  get kind(): string {
    return this.o.kind;
  }

  private hostOf(iid: string): ResourceHost {
    const h = this.where.get(iid);
    if (!h || !h.alive) throw codedError('RESOURCE_LOST', `${this.o.kind} instance ${iid} has no running host`);
    return h;
  }

  private spawn(): ResourceHost {
    const h = new ResourceHost(this.boot, this.o.log, this.o.heapLimitMb);
    h.onDied = (iid, reason) => this.pool.instanceDied(iid, reason);
    return h;
  }

  /** The i-th shared host, started (and supervised, permanent) on first use. */
  private async sharedHost(i: number): Promise<ResourceHost> {
    const existing = this.hosts[i];
    if (existing?.alive) {
      await existing.ready;
      return existing;
    }
    const id = `${this.o.kind}-host-${i}`;
    if (this.o.supervisor.has(id)) {
      // Its host died and the supervisor is restarting it (with backoff): wait for the new one.
      const h = await this.restarted(id, this.o.opTimeoutMs);
      if (h) {
        await h.ready;
        return h;
      }
      if (this.o.supervisor.has(id)) throw codedError('RESOURCE_UNAVAILABLE', `the ${this.o.kind} host is restarting; try again`, { retryable: true });
    }
    if (!this.o.supervisor.has(id)) {
      await this.o.supervisor.startChild<ResourceHost>({
        id,
        restart: 'permanent',
        shutdownMs: 5_000,
        start: async () => {
          const h = this.spawn();
          this.hosts[i] = h;
          await h.ready;
          return h;
        },
        exited: (h) =>
          h.exited.then((exit) => {
            // Everything the host carried is gone with it.
            for (const [iid, host] of this.where) if (host === h) this.pool.instanceDied(iid, `its ${this.o.kind} host stopped (${exit.reason})`);
            if (!exit.normal) this.o.log.error({ kind: this.o.kind, host: id, reason: exit.reason, detail: exit.message }, 'resource host died; restarting it');
            return exit;
          }),
        stop: (h) => h.stop(),
        kill: (h) => h.kill('did not stop in time'),
      });
    }
    const h = this.hosts[i]!;
    await h.ready;
    return h;
  }

  /** The host the supervisor restarts as child `id`, once it has started (undefined if it is given up, or at the timeout). */
  private restarted(id: string, timeoutMs: number): Promise<ResourceHost | undefined> {
    const sup = this.o.supervisor;
    return new Promise((resolve) => {
      const done = (h: ResourceHost | undefined) => {
        clearTimeout(timer);
        sup.off('started', onStarted);
        sup.off('gave-up', onGone);
        sup.off('escalated', onEscalated);
        resolve(h);
      };
      const onStarted = (child: string, host: unknown) => {
        if (child === id) done(host as ResourceHost);
      };
      const onGone = (child: string) => {
        if (child === id) done(undefined);
      };
      const onEscalated = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      sup.on('started', onStarted);
      sup.on('gave-up', onGone);
      sup.on('escalated', onEscalated);
    });
  }

  private async create(iid: string, spec: S, owner: LeaseOwner | undefined): Promise<void> {
    if (this.closing) throw new Error(`the ${this.o.kind} pool is closing`);
    let host: ResourceHost;
    if (this.o.placement.mode === 'shared') {
      const n = this.o.placement.hosts;
      const loads = Array.from({ length: n }, (_, i) => [...this.where.values()].filter((h) => h === this.hosts[i]).length);
      const i = this.o.placeOn ? this.o.placeOn(spec, loads) : loads.indexOf(Math.min(...loads));
      host = await this.sharedHost(i);
    } else {
      host = this.spawn();
      void host.exited.then((exit) => {
        if (this.where.get(iid) === host) this.pool.instanceDied(iid, `its host thread stopped (${exit.reason})`);
      });
      await host.ready;
    }
    this.where.set(iid, host);
    try {
      await host.request({ t: 'create', iid, spec, secrets: this.o.secretsFor?.(spec, owner) }, this.o.opTimeoutMs);
    } catch (err) {
      this.where.delete(iid);
      if (this.o.placement.mode === 'per-instance') host.stop();
      throw err;
    }
  }

  private async destroy(iid: string): Promise<void> {
    const host = this.where.get(iid);
    this.where.delete(iid);
    if (!host) return;
    try {
      if (host.alive) await host.request({ t: 'destroy', iid }, this.o.opTimeoutMs);
    } finally {
      if (this.o.placement.mode === 'per-instance') {
        host.stop();
        void Promise.race([host.exited, new Promise((r) => setTimeout(r, 5_000))]).then(() => host.kill('did not stop in time'));
      }
    }
  }

  /** Starts every shared host now (their factories' init runs — e.g. importing ccxt — before the first lease needs it). */
  async startHosts(): Promise<void> {
    if (this.o.placement.mode !== 'shared') return;
    await Promise.all(Array.from({ length: this.o.placement.hosts }, (_, i) => this.sharedHost(i)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pool.close();
    for (let i = 0; i < this.hosts.length; i++) await this.o.supervisor.terminateChild(`${this.o.kind}-host-${i}`);
  }
}

export type { MessagePort };
