/**
 * The audit trail: one structured log line per security-relevant event, each with an `audit`
 * field naming the event. Lines carry principals and session fingerprints — never a token, never
 * a session id.
 *
 *   auth.failure     a request's credentials were missing, wrong, expired, for another audience…
 *   session.created  (runtime.ts) principal + fingerprint
 *   session.ended    (runtime.ts) principal + fingerprint + reason
 *   admin.action     what an admin principal did (listing sessions, ending one)
 */
import type { Logger } from '../../observability/log.js';

export type AuditEvent = 'auth.failure' | 'session.created' | 'session.ended' | 'admin.action';

export function audit(log: Logger, event: AuditEvent, fields: Record<string, unknown>, msg: string): void {
  const line = { audit: event, ...fields };
  if (event === 'auth.failure') log.warn(line, msg);
  else log.info(line, msg);
}
