// Entry point of a session actor thread: wiring only.
import { parentPort, workerData } from 'node:worker_threads';
import type { ActorBootData } from '../src/shared/actor-messages.js';
import { lowerThreadPriority } from '../src/shared/thread-priority.js';

if (!parentPort) throw new Error('workers/session.js must run as a worker thread');
const port = parentPort;
const boot = workerData as ActorBootData;
// Down to the actors' priority before loading anything, so a booting thread never competes with
// the edge (runSessionActor tries again and reports a failure).
lowerThreadPriority(boot.nice);
void import('../src/actor/session-runtime.js').then(({ runSessionActor }) => runSessionActor(port, boot));
