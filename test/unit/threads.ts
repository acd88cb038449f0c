/**
 * What the in-process unit tests share: real actor threads running the compiled session worker
 * (worker threads run plain Node, so they load dist/, built by global-setup) with the
 * diagnostics toolset.
 */
import type { ActorBootData } from '../../src/shared/actor-messages.js';
import { SESSION_WORKER } from '../../src/main/runtime.js';
import { ActorThread, actorEnv } from '../../src/main/threads/actor-thread.js';

const ROOT = new URL('../../', import.meta.url).href;

/** The dist/ twin of a src/ module URL. */
export const compiled = (url: string | URL) => new URL(String(url).replace(ROOT, `${ROOT}dist/`));

export const UNIT_BOOT: ActorBootData = {
  toolsets: ['builtin:diagnostics'],
  toolsetConfig: {},
  serverName: 'unit',
  serverVersion: '0',
  logLevel: 'warn',
  stateMaxBytes: 1 << 20,
  nice: 0,
  requestStateKey: 'unit-test-request-state-key-0123456789',
  requestStateTtlSeconds: 300,
  cacheHints: {},
  handleLifetime: '30 minutes',
};

/** A new actor thread on the compiled session worker. */
export function actorThread(boot: ActorBootData = UNIT_BOOT): ActorThread {
  return new ActorThread(compiled(SESSION_WORKER), boot, { env: actorEnv() });
}
