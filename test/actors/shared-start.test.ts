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

async function serve(pool: Record<string, number> = { min: 0, max: 40 }): Promise<ServerProcess> {
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

  it('boots nothing for workflows shorter than sharedStartMoveAfterMs: they end where they started', async () => {
    const s = await serve({ min: 0, max: 40, sharedStartMoveAfterMs: 60_000 });
    // Every thread boot, however it booted (the histogram has a line per boot kind).
    const boots = async () =>
      (await (await fetch(`${s.origin}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('mcp_actors_actor_boot_seconds_count{'))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    await waitFor('the threads booted at start', async () => (await metric(s, 'mcp_actors_warm_pool', 'kind="booting"')) === 0 || undefined);
    const before = await boots();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const sid = await openSession(s.url);
        for (let i = 0; i < 5; i++) expect((await whoami(s, sid)).executed).toBe(i + 1);
        await fetch(s.url, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } });
      }),
    );
    const shared = await metric(s, 'mcp_actors_actor_starts_total', 'kind="shared"');
    const warm = await metric(s, 'mcp_actors_actor_starts_total', 'kind="warm"');
    expect(shared).toBeGreaterThanOrEqual(10); // the rest found a spare
    // No boot for the workflows that shared: at most the spares taken were replaced.
    expect((await boots()) - before).toBeLessThanOrEqual(warm);
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
