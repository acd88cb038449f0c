// Entry point of a resource host thread (exchange host, computer host): wiring only.
import { parentPort, workerData } from 'node:worker_threads';
import type { HostBootData } from '../src/shared/host-messages.js';
import { runResourceHost } from '../src/host/host-runtime.js';

if (!parentPort) throw new Error('workers/resource-host.js must run as a worker thread');
void runResourceHost(parentPort, workerData as HostBootData);
