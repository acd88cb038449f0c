/**
 * A session's record: plain, serializable data — everything needed to bring the session back on
 * a fresh thread (after a crash, or after hibernation), and nothing that only lives in a thread.
 * Keep it small: thousands of hibernated sessions are just thousands of these.
 */
import { randomUUID } from 'node:crypto';
import { fingerprint } from '../observability/log.js';
import type { Handshake } from '../../shared/actor-messages.js';

export interface SessionRecord {
  readonly id: string;
  /** What logs, metrics and the admin listing show instead of the id. */
  readonly fingerprint: string;
  readonly createdAt: number;
  lastActivity: number;
  clientIp: string | undefined;
  principal: string | undefined;
  handshake: Handshake | undefined;
  protocolVersion: string | undefined;
  /** Toolset state (ctx.state), keyed "<toolset>:<key>". */
  state: Record<string, unknown>;
  restarts: number;
}

/** A new session id: 122 random bits, visible ASCII (a UUID), as the Streamable HTTP spec asks. */
export function newSessionId(): string {
  return randomUUID();
}

export function newSessionRecord(id: string = newSessionId(), clientIp?: string, principal?: string): SessionRecord {
  const now = Date.now();
  return {
    id,
    fingerprint: fingerprint(id),
    createdAt: now,
    lastActivity: now,
    clientIp,
    principal,
    handshake: undefined,
    protocolVersion: undefined,
    state: {},
    restarts: 0,
  };
}
