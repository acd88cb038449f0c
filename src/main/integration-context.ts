/**
 * What an integration's main-side setup sees of the runtime (a narrow interface, not the Runtime).
 */
import type { Config } from './config.js';
import type { CallHandler } from './calls.js';
import type { Logger } from './observability/log.js';
import type { ResourceKind } from './resources/kind.js';
import type { SessionRecord } from './sessions/session-record.js';
import type { Supervisor } from './supervision/supervisor.js';

/** Told when a session is created (with the headers of its initialize request) and when it ends. */
export interface SessionHooks {
  created?(record: SessionRecord, headers: Record<string, string | undefined> | undefined): void;
  /** A 2026-07-28 request reached a state handle's actor, with its headers (rebind per request). */
  request?(record: SessionRecord, headers: Record<string, string | undefined> | undefined): void;
  ended?(record: SessionRecord): void;
}

/** What an integration's setup may do with the runtime. */
export interface IntegrationContext {
  readonly config: Config;
  readonly log: Logger;
  /** Supervises resource host threads (permanent children). */
  readonly resourceSupervisor: Supervisor;
  addResourceKind<S>(kind: ResourceKind<S>): void;
  registerCall(op: string, handler: CallHandler): void;
  onSession(hooks: SessionHooks): void;
  /** Runs on close, after sessions have ended (integrations stop their hosts here). */
  onClose(fn: () => Promise<void>): void;
}

export interface IntegrationSetup {
  setup(ctx: IntegrationContext): Promise<void>;
}

