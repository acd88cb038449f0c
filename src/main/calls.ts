/**
 * The runtime calls actor threads make (`{t: 'call', op, args}` → `{t: 'result'}`): one registry of
 * handlers by operation name. The runtime registers the session calls, resource kinds their lease
 * calls, integrations their own. A handler answers for the actor that asked.
 */
import { codedError } from '../shared/errors.js';
import type { ActorKey, LeaseOwner } from './directory.js';
import type { SessionActor } from './sessions/session-actor.js';

/** Who made a runtime call: a session's or a handle's actor, or a thread of the stateless pool. */
export interface Caller {
  readonly key: ActorKey;
  /** The principal the actor belongs to (undefined: anonymous, or a stateless pool thread). */
  readonly principal: string | undefined;
  /** The current incarnation: the owner of what it leases. */
  readonly owner: LeaseOwner;
  /** The actor is over; nothing granted to it will be used. */
  readonly ended: boolean;
  /** The session or handle actor; undefined for a stateless pool thread. */
  readonly actor: SessionActor | undefined;
}

export type CallHandler = (caller: Caller, args: Record<string, unknown>) => Promise<unknown>;

export class CallRegistry {
  private readonly handlers = new Map<string, CallHandler>();

  register(op: string, handler: CallHandler): void {
    if (this.handlers.has(op)) throw new Error(`runtime call "${op}" is already registered`);
    this.handlers.set(op, handler);
  }

  call(caller: Caller, op: string, args: Record<string, unknown>): Promise<unknown> {
    const handler = this.handlers.get(op);
    if (!handler) return Promise.reject(codedError('UNKNOWN_CALL', `unknown runtime call "${op}"`));
    return handler(caller, args);
  }
}
