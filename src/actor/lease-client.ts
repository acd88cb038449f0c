/**
 * Inside a session actor: leasing resource actors from the runtime. A lease is a direct channel
 * to the resource's host thread (calls never pass through the main thread), with deadlines and
 * peer-death detection (see supervision/rpc.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { connect, type RemoteObject } from '../shared/rpc.js';

export interface LeaseOptions {
  /** Cancels a wait for the resource (e.g. the tool's extra.signal). */
  signal?: AbortSignal;
  /** How long to wait for a free instance (default: the pool's). */
  waitMs?: number;
  /** Deadline of each call on the resource (default 30 s). */
  callTimeoutMs?: number;
  methodTimeoutsMs?: Record<string, number>;
}

export interface ResourceLease<T> {
  readonly id: string;
  readonly label: string;
  readonly resource: RemoteObject<T>;
  /** Resolves when the lease is gone (released, its instance died, its host crashed). */
  readonly lost: Promise<void>;
  readonly isLost: boolean;
  release(): Promise<void>;
}

export interface LeaseService {
  acquire<T extends object>(kind: string, spec: unknown, opts?: LeaseOptions): Promise<ResourceLease<T>>;
}

export type RuntimeCall = (op: string, args: Record<string, unknown>, timeoutMs?: number) => Promise<unknown>;

/** Where failures of fire-and-forget calls (abandoning a wait, releasing a lease) are reported. */
export type LeaseWarn = (msg: string, data: Record<string, unknown>) => void;

export function leaseService(call: RuntimeCall, warn: LeaseWarn): LeaseService {
  return {
    async acquire<T extends object>(kind: string, spec: unknown, opts: LeaseOptions = {}): Promise<ResourceLease<T>> {
      opts.signal?.throwIfAborted();
      const waitId = randomUUID();
      const waitMs = opts.waitMs;
      const onAbort = () => void call('lease.abandon', { kind, waitId }).catch((err: unknown) => warn('abandoning a lease wait failed', { kind, err: (err as Error).message }));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let granted: { lid: string; label: string; port: MessagePort };
      try {
        // The main thread always answers (a grant, its wait deadline, or a creation failure bounded
        // by the kind's own timeouts); this deadline only guards against a main thread gone wrong.
        granted = (await call('lease.acquire', { kind, spec, waitMs, waitId }, (waitMs ?? 120_000) + 120_000)) as typeof granted;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
      const resource = connect<T>(granted.port, { timeoutMs: opts.callTimeoutMs ?? 30_000, methodTimeoutsMs: opts.methodTimeoutsMs, label: granted.label });
      let released = false;
      return {
        id: granted.lid,
        label: granted.label,
        resource,
        lost: resource.lost,
        get isLost() {
          return resource.isLost;
        },
        async release() {
          if (released) return;
          released = true;
          resource.close();
          // The lease is released with the session's incarnation anyway; say why it was not released now.
          await call('lease.release', { kind, lid: granted.lid }).catch((err: unknown) => warn('releasing a lease failed', { kind, err: (err as Error).message }));
        },
      };
    },
  };
}
