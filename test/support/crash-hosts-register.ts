/**
 * Test support, preloaded into every thread of a server under test (`node --import
 * dist/test/support/crash-hosts-register.js …`; workers inherit execArgv): in each resource host
 * thread it listens on a BroadcastChannel, and when a test toolset (ccxt-crash-toolset.ts) asks for
 * the host threads of a resource kind to crash, those threads throw an uncaught error — a real
 * crash of the thread, with no hook in the production code.
 */
import { BroadcastChannel, isMainThread, workerData } from 'node:worker_threads';

export const CRASH_CHANNEL = 'mcp-actors-test:crash-hosts';

const boot = workerData as { kind?: unknown; module?: unknown } | undefined;
if (!isMainThread && typeof boot?.kind === 'string' && typeof boot.module === 'string') {
  const kind = boot.kind;
  const channel = new BroadcastChannel(CRASH_CHANNEL);
  channel.unref();
  channel.onmessage = (event) => {
    if ((event as { data?: { kind?: unknown } }).data?.kind !== kind) return;
    setImmediate(() => {
      throw new Error(`the ${kind} host thread crashed on purpose (a test asked for it)`);
    });
  };
}
