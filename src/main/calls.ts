/**
 * The runtime calls actor threads make (`{t: 'call', op, args}` → `{t: 'result'}`): one registry of
 * handlers by operation name. The runtime registers the session calls, resource kinds their lease
 * calls, integrations their own. A handler answers for the actor that asked.
 */
import { codedError } from '../shared/errors.js';
import type { SessionActor } from './sessions/session-actor.js';

export type CallHandler = (actor: SessionActor, args: Record<string, unknown>) => Promise<unknown>;

export class CallRegistry {
  private readonly handlers = new Map<string, CallHandler>();

  register(op: string, handler: CallHandler): void {
    if (this.handlers.has(op)) throw new Error(`runtime call "${op}" is already registered`);
    this.handlers.set(op, handler);
  }

  call(actor: SessionActor, op: string, args: Record<string, unknown>): Promise<unknown> {
    const handler = this.handlers.get(op);
    if (!handler) return Promise.reject(codedError('UNKNOWN_CALL', `unknown runtime call "${op}"`));
    return handler(actor, args);
  }
}
