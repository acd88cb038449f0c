/**
 * The resource kinds of a runtime: the built-in integrations' (added by their setup) and the ones
 * declared in config (`resources.<name>`: a factory module and a pool policy each).
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { codedError } from '../../shared/errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Supervisor } from '../supervision/supervisor.js';
import { ResourceKind } from './kind.js';

export class ResourceKinds {
  private readonly kinds = new Map<string, ResourceKind<unknown>>();

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  add<S>(kind: ResourceKind<S>): void {
    if (this.kinds.has(kind.kind)) throw new Error(`resource kind "${kind.kind}" is already registered`);
    this.kinds.set(kind.kind, kind as ResourceKind<unknown>);
    kind.pool.observe((event, waitedMs) => {
      this.metrics.poolEvents.inc({ kind: kind.kind, event });
      if (event === 'granted' && waitedMs !== undefined) this.metrics.leaseWait.observe({ kind: kind.kind }, waitedMs / 1000);
    });
  }

  get<S = unknown>(name: string): ResourceKind<S> | undefined {
    return this.kinds.get(name) as ResourceKind<S> | undefined;
  }

  /** The kind an actor names in a lease call, or the error it gets. */
  kindFor(name: unknown): ResourceKind<unknown> {
    const k = typeof name === 'string' ? this.kinds.get(name) : undefined;
    if (!k) throw codedError('UNKNOWN_RESOURCE', `no resource kind "${String(name)}" is configured on this server`);
    return k;
  }

  all(): IterableIterator<ResourceKind<unknown>> {
    return this.kinds.values();
  }

  /** Adds the kinds declared in config (`resources`). */
  addConfigured(config: Config, supervisor: Supervisor): void {
    for (const [name, r] of Object.entries(config.resources)) {
      const file = isAbsolute(r.factory) ? r.factory : resolvePath(process.cwd(), r.factory);
      this.add(
        new ResourceKind<unknown>({
          kind: name,
          factory: pathToFileURL(file).href,
          factoryConfig: r.config,
          placement: r.hosts === 'per-instance' ? { mode: 'per-instance' } : { mode: 'shared', hosts: r.hosts },
          pool: {
            maxInstances: r.maxInstances,
            maxLeases: r.maxLeases,
            minInstances: r.minInstances,
            warmSpec: r.minInstances > 0 ? {} : undefined,
            shared: r.shared,
            key: (spec) => (r.shared ? JSON.stringify(spec ?? null) : 'any'),
            waitTimeoutMs: r.waitTimeoutMs,
            idleTtlMs: r.idleTtlMs,
            resetOnRelease: r.resetOnRelease,
            healthIntervalMs: r.healthIntervalMs,
          },
          label: (spec) => `${name}${spec && typeof spec === 'object' && Object.keys(spec).length ? ` ${JSON.stringify(spec).slice(0, 60)}` : ''}`,
          opTimeoutMs: r.opTimeoutMs,
          logLevel: config.logLevel,
          log: this.log,
          supervisor,
        }),
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.kinds.values()].map((k) => k.close()));
  }
}
