// Entry point of a session actor thread: wiring only.
import { parentPort, workerData } from 'node:worker_threads';
import type { ActorBootData } from '../src/shared/actor-messages.js';
import { runSessionActor } from '../src/actor/session-runtime.js';

if (!parentPort) throw new Error('workers/session.js must run as a worker thread');
void runSessionActor(parentPort, workerData as ActorBootData);
