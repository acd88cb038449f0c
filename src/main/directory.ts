/**
 * The actor directory: which actor serves a key, on the main thread.
 *
 * A key is a value: a legacy MCP session's id, or (MCP 2026-07-28) a state handle — never a
 * string convention to be parsed. An owner of leases is one incarnation of an actor (one tenancy
 * of a thread), also a value, compared by identity. The directory is a small interface so that a
 * cluster can put remote owners behind it.
 */

/** A 2025 session, a 2026-07-28 state handle, or a thread of the stateless pool (a lease owner, never in the directory). */
export type ActorKind = 'session' | 'handle' | 'stateless';

export interface ActorKey {
  readonly kind: ActorKind;
  readonly id: string;
}

export function sessionKey(id: string): ActorKey {
  return { kind: 'session', id };
}

export function handleKey(id: string): ActorKey {
  return { kind: 'handle', id };
}

/** The map key of an actor key (kinds never share ids: a handle and a session may not collide). */
export function keyString(key: ActorKey): string {
  return `${key.kind}:${key.id}`;
}

/**
 * Who holds a lease: one incarnation of an actor. A new incarnation (a restarted or woken thread)
 * is a new owner; when an incarnation ends, everything it owns is released.
 */
export interface LeaseOwner {
  readonly key: ActorKey;
  readonly incarnation: number;
  /** The authenticated principal the actor belongs to (undefined: anonymous). */
  readonly principal: string | undefined;
}

export interface Directory<E> {
  get(key: ActorKey): E | undefined;
  /** Adds an entry; throws if the key is taken. */
  add(key: ActorKey, entry: E): void;
  /** Removes the key's entry if it is still `entry`; true if it was removed. */
  remove(key: ActorKey, entry: E): boolean;
  values(): IterableIterator<E>;
  readonly size: number;
}

/** The directory of the actors this process hosts. */
export class LocalDirectory<E> implements Directory<E> {
  private readonly byKey = new Map<string, E>();

  get(key: ActorKey): E | undefined {
    return this.byKey.get(keyString(key));
  }

  add(key: ActorKey, entry: E): void {
    const k = keyString(key);
    if (this.byKey.has(k)) throw new Error(`actor ${key.kind} key is already taken`);
    this.byKey.set(k, entry);
  }

  remove(key: ActorKey, entry: E): boolean {
    const k = keyString(key);
    if (this.byKey.get(k) !== entry) return false;
    this.byKey.delete(k);
    return true;
  }

  values(): IterableIterator<E> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }
}
