/**
 * The runtime calls of the `session` service (ctx.service('session') in a toolset): a session's
 * stats, and ending a session — itself (after its current request), or, with the admin role or
 * the admin token, another one (by id or fingerprint).
 */
import { timingSafeEqual } from 'node:crypto';
import { codedError } from '../../shared/errors.js';
import type { CallRegistry } from '../calls.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/log.js';
import type { SessionActor } from './session-actor.js';

export interface SessionCallsHost {
  readonly config: Config;
  readonly log: Logger;
  sessionCounts(): { active: number; hibernated: number; starting: number; restarting: number };
  sessionTotal(): number;
  /** The session an id or a fingerprint names. */
  findSession(idOrFingerprint: string): SessionActor | undefined;
  /** Whether a session was created by an admin principal. */
  isAdmin(actor: SessionActor): boolean;
}

/** Timing-safe check against the configured admin token. */
export function isAdminToken(config: Config, token: string | undefined): boolean {
  const expected = config.admin.token;
  if (!expected || !token) return false;
  const a = Buffer.from(token);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerSessionCalls(calls: CallRegistry, host: SessionCallsHost): void {
  calls.register('session.stats', async ({ actor }) => {
    const counts = host.sessionCounts();
    const r = actor?.record;
    return {
      total_sessions: host.sessionTotal(),
      max_concurrent: host.config.sessions.maxSessions,
      active_sessions: counts.active + counts.starting + counts.restarting,
      hibernated_sessions: counts.hibernated,
      ...(actor &&
        r && {
          session: {
            created_at: new Date(r.createdAt).toISOString(),
            last_activity: new Date(r.lastActivity).toISOString(),
            active_tasks: actor.queueDepth + (actor.inFlightMethod ? 1 : 0),
            restarts: r.restarts,
          },
        }),
    };
  });

  calls.register('session.end', async ({ actor: caller }, args) => {
    if (!caller) throw codedError('FORBIDDEN', 'a stateless request has no session to end: pass its session_id');
    const target = String(args.target ?? '');
    const adminToken = typeof args.adminToken === 'string' ? args.adminToken : undefined;
    if (target === caller.id || target === caller.record.fingerprint) {
      host.log.info({ session: caller.record.fingerprint }, 'session ending itself');
      return { ended: true, deferred: caller.endSoon('ended by its own request') };
    }
    if (!host.isAdmin(caller) && !isAdminToken(host.config, adminToken)) {
      host.log.warn({ session: caller.record.fingerprint }, 'refused: ending another session needs the admin token');
      throw codedError('FORBIDDEN', 'ending another session requires the admin token');
    }
    const victim = host.findSession(target);
    if (!victim) return { ended: false, deferred: false };
    host.log.info(
      { audit: 'admin.action', action: 'session.end', session: victim.record.fingerprint, principal: victim.record.principal, by: caller.record.fingerprint, byPrincipal: caller.record.principal },
      'admin action: session ended',
    );
    await victim.end('ended by an admin');
    return { ended: true, deferred: false };
  });
}
