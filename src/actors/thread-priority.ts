/**
 * Lowers the calling thread's CPU priority below the edge's (config `sessions.actorNice`): session
 * actors and resource hosts then never preempt the one thread that routes every session's traffic,
 * and stay equal among themselves. On Linux, setpriority for pid 0 applies to the calling thread
 * only (and to the processes it spawns afterwards); elsewhere it would lower the whole process, so
 * it is left alone. Returns why it failed, if it did.
 */
import { setPriority } from 'node:os';

export function lowerThreadPriority(nice: number): string | undefined {
  if (nice <= 0 || process.platform !== 'linux') return undefined;
  try {
    setPriority(nice);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
