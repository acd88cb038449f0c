/**
 * Typed RPC to a resource actor over a MessagePort — comlink, wrapped to fix its three gaps:
 *
 * 1. Deadlines: every call has one; past it the call rejects with code `TIMEOUT`
 *    (correlated by ./correlator.ts, like every other cross-thread call).
 * 2. Dead peers: when the port closes (the other thread ended or let go), every pending call and
 *    every later one rejects with code `RESOURCE_LOST` — comlink alone leaves them pending forever.
 * 3. Error codes: an Error thrown on the far side arrives with its `code`, `retryable` and other
 *    own plain fields (comlink keeps only name, message and stack).
 */
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { Correlator } from './correlator.js';
import { CodedError } from './errors.js';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

export { transfer } from 'comlink/dist/esm/comlink.mjs';

let installed = false;

/** Makes thrown errors keep their own plain fields across threads (once per thread). */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const builtin = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<{ value: unknown }, unknown>;
  Comlink.transferHandlers.set('throw', {
    canHandle: builtin.canHandle,
    serialize(thrown: { value: unknown }) {
      const err = thrown.value;
      if (!(err instanceof Error)) return builtin.serialize(thrown);
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(err)) {
        if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
        else if (typeof v === 'object') {
          try {
            fields[k] = structuredClone(v);
          } catch {
            // not cloneable: left out
          }
        }
      }
      return [{ isError: true, value: { ...fields, message: err.message, name: err.name, stack: err.stack } }, []];
    },
    deserialize: builtin.deserialize,
  } as Comlink.TransferHandler<unknown, unknown>);
}

/** Exposes `obj`'s methods on `port`. */
export function serve(obj: object, port: MessagePort): void {
  installErrorTransfer();
  Comlink.expose(obj, nodeEndpoint(port));
}

type AsyncMethods<T> = {
  [K in keyof T as T[K] extends (...args: any[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export type RemoteObject<T> = AsyncMethods<T> & {
  /** Resolves when the connection is gone (the peer ended, or close() was called). */
  readonly lost: Promise<void>;
  readonly isLost: boolean;
  close(): void;
};

export interface ConnectOptions {
  /** Deadline of each call, unless a method has its own in `methodTimeoutsMs`. */
  timeoutMs: number;
  methodTimeoutsMs?: Record<string, number>;
  /** Names the resource in errors ("computer xvfb:12", "binance public client"). */
  label: string;
}

/** A proxy whose methods call `port`'s served object with deadlines and peer-death detection. */
export function connect<T extends object>(port: MessagePort, options: ConnectOptions): RemoteObject<T> {
  installErrorTransfer();
  const remote = Comlink.wrap<Record<string, (...args: unknown[]) => Promise<unknown>>>(nodeEndpoint(port));
  let isLost = false;
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const lostError = () => new CodedError('RESOURCE_LOST', `${options.label} is gone (its actor stopped or the lease ended)`);
  /** Calls in flight: each settled exactly once, by its answer, its deadline or the loss. */
  const calls = new Correlator('TIMEOUT');
  const onLost = () => {
    if (isLost) return;
    isLost = true;
    markLost();
    calls.close(lostError());
  };
  port.once('close', onLost);

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (isLost) return Promise.reject(lostError());
    const ms = options.methodTimeoutsMs?.[method] ?? options.timeoutMs;
    return calls.call(
      (id) =>
        (remote[method] as (...a: unknown[]) => Promise<unknown>)(...args).then(
          (v) => calls.resolve(id, v),
          (e: unknown) => calls.reject(id, e instanceof Error ? e : new CodedError('INTERNAL', String(e))),
        ),
      ms,
      `${options.label}: ${method}`,
    );
  };

  return new Proxy({} as RemoteObject<T>, {
    get(_target, prop) {
      if (prop === 'lost') return lost;
      if (prop === 'isLost') return isLost;
      if (prop === 'close') {
        return () => {
          port.close();
          onLost();
        };
      }
      if (prop === 'then') return undefined; // not a thenable
      if (typeof prop !== 'string') return undefined;
      return (...args: unknown[]) => call(prop, args);
    },
  });
}
