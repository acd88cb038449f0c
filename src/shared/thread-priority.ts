/**
 * Lowers the calling thread's CPU priority below the edge's (config `sessions.actorNice`): session
 * actors and resource hosts then never preempt the one thread that routes every session's
 * traffic. On Linux, setpriority for pid 0 applies to the calling thread only (and to the
 * processes it spawns afterwards); elsewhere it would lower the whole process, so it is left
 * alone. Never raises a priority: a server started under `nice` keeps at least its own value.
 * Returns why it failed, if it did.
 */
import { getPriority, setPriority } from 'node:os';

export function lowerThreadPriority(nice: number): string | undefined {
  if (nice <= 0 || process.platform !== 'linux') return undefined;
  try {
    if (getPriority() >= nice) return undefined;
    setPriority(nice);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The priority of resource host threads: halfway between the edge and the session actors. A host
 * serves many sessions at once (an exchange host, every session's market data), so at the same
 * priority as one session thread it would get one session's share of the CPU and every session
 * waiting on it would crawl; above the sessions outright, a host parsing a cold loadMarkets would
 * stall them all. Measured in the ccxt bench (2 cores): hosts at 10 instead of 19 halve the cold
 * call (0.8 -> 0.4 s) with the same echo p99 during it.
 */
export function resourceHostNice(actorNice: number): number {
  return Math.ceil(actorNice / 2);
}
