// Entry of a session actor thread booted from the one-file bundle of workers/session.ts (see
// scripts/bundle-workers.mjs), compiled with a V8 code cache: wiring only.
import { parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { ActorBootData } from '../src/shared/actor-messages.js';
import { runCachedBundle } from '../src/shared/code-cache.js';
import { actorLogger } from '../src/actor/actor-log.js';
import { lowerThreadPriority } from '../src/shared/thread-priority.js';

/** When a thread that found no usable cache writes one: after boot and its first requests. */
const PERSIST_AFTER_MS = 5_000;

const boot = workerData as ActorBootData;
// Down to the actors' priority before compiling anything, so a booting thread never competes with
// the edge (the actor runtime tries again and reports a failure).
lowerThreadPriority(boot.nice);
const outcome = runCachedBundle(fileURLToPath(new URL('./session.bundle.cjs', import.meta.url)), boot.codeCacheFile);
if (outcome.cache === 'missing' || outcome.cache === 'rejected') {
  setTimeout(() => {
    try {
      outcome.persist();
    } catch (err) {
      actorLogger((m) => parentPort?.postMessage(m), boot.logLevel).warn({ err: (err as Error).message, was: outcome.cache }, 'could not write the actor code cache');
    }
  }, PERSIST_AFTER_MS).unref();
}
