/**
 * Shared start threads (warmPool.sharedStartThreads, issue 15), through the real server: a burst
 * of new sessions is served at once on shared threads instead of waiting for boots; each session
 * moves to a thread of its own at an idle moment with its state intact; a crash on a shared
 * thread fails only the request that was running there and the sessions go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, structured } from '../support/mcp-http.js';
import { metric, waitFor } from '../support/wait.js';

const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(pool: { min: number; max: number } = { min: 0, max: 40 }): Promise<ServerProcess> {
  const s = await startServer({
    toolsets: ['diagnostics'],
    config: { warmPool: { ...pool, sharedStartThreads: 1, sharedStartSlots: 64 }, sessions: { restartIntensity: { maxRestarts: 10, periodMs: 60_000 } } },
  });
  servers.push(s);
  return s;
}

const whoami = async (s: ServerProcess, sid: string) => structured(await callTool(s.url, sid, 'whoami', {})) as { threadId: number; executed: number };

describe('shared start threads', () => {
  it('serves a burst of new sessions on a shared thread at once, then moves each to its own thread with its state', async () => {
    const s = await serve();
    const sids = await Promise.all(Array.from({ length: 20 }, () => openSession(s.url)));
    const first = await Promise.all(sids.map((sid) => whoami(s, sid)));
    expect(first.every((w) => w.executed === 1)).toBe(true);
    expect(await metric(s, 'mcp_actors_actor_starts_total', 'kind="shared"')).toBeGreaterThan(0);
    // Slot mates answer from the same thread.
    const count = new Map<number, number>();
    for (const w of first) count.set(w.threadId, (count.get(w.threadId) ?? 0) + 1);
    const sharedThreads = new Set([...count].filter(([, n]) => n > 1).map(([id]) => id));
    expect(sharedThreads.size).toBeGreaterThan(0);
    // Each keeps calling until it answers from a thread of its own; its state came along.
    await Promise.all(
      sids.map(async (sid) => {
        let last = first[sids.indexOf(sid)]!;
        await waitFor(
          `session ${sid} on a thread of its own`,
          async () => {
            const w = await whoami(s, sid);
            expect(w.executed).toBe(last.executed + 1);
            last = w;
            return !sharedThreads.has(w.threadId) || undefined;
          },
          30_000,
        );
      }),
    );
    const own = await Promise.all(sids.map((sid) => whoami(s, sid)));
    expect(new Set(own.map((w) => w.threadId)).size).toBe(20);
  }, 60_000);

  it('a crash on a shared thread fails the running request with an error; its slot mates and the crasher go on', async () => {
    // max 0: no spares beyond the one the server starts with, so the actors stay on the shared thread.
    const s = await serve({ min: 0, max: 0 });
    const sids = await Promise.all([0, 1, 2].map(() => openSession(s.url)));
    const ws = await Promise.all(sids.map((sid) => whoami(s, sid)));
    const [a, b] = sids.filter((_, i) => ws.filter((w) => w.threadId === ws[i]!.threadId).length > 1);
    expect(a && b).toBeTruthy();
    const crashed = await callTool(s.url, a!, 'crash', {});
    expect(crashed.json?.error?.message ?? '').toMatch(/crash|thread/i);
    expect(await metric(s, 'mcp_actors_actor_starts_total', 'kind="shared"')).toBeGreaterThanOrEqual(2);
    const after = await whoami(s, b!);
    expect(after.executed).toBe(2);
    const again = await whoami(s, a!);
    expect(again.executed).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
