/**
 * The contract of a resource kind's host module: how to create, check, reset and destroy one
 * instance, and what lessees may call on it. It runs inside a resource host thread.
 */
export interface FactoryContext {
  readonly config: Readonly<Record<string, unknown>>;
  /** Credentials for this instance (never seen by session threads). */
  readonly secrets: Readonly<Record<string, string>> | undefined;
  /** Call when the instance dies on its own; its lessees are cut off and the pool replaces it. */
  died(reason: string): void;
  log(level: 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>): void;
}

export interface ResourceFactory<S = unknown, R = unknown> {
  create(spec: S, ctx: FactoryContext): Promise<R>;
  /** The object served to a lessee (its methods are what the lessee may call). */
  expose(resource: R, lease: { lid: string }): object;
  /** Returns the instance to a clean state before its next lease. */
  reset?(resource: R): Promise<void>;
  /** Cheap liveness probe; rejects when the instance is unusable. */
  health?(resource: R): Promise<void>;
  destroy(resource: R): Promise<void>;
  /** Called once, when the host starts (e.g. to import a heavy library). */
  init?(config: Readonly<Record<string, unknown>>): Promise<void>;
}

export function defineResourceFactory<S, R>(f: ResourceFactory<S, R>): ResourceFactory<S, R> {
  return f;
}
