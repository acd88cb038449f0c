/**
 * Session lifecycle through the real server: the session cap, idle timeout, hibernation of a
 * thousand sessions, and a graceful SIGTERM with requests in flight.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';
import { callTool, initializeRequest, openSession, send, structured } from '../support/mcp-http.js';
import { ADMIN_TOKEN, fingerprint, untilAccepted, waitFor } from '../support/wait.js';

async function health(origin: string): Promise<any> {
  return (await fetch(`${origin}/health`)).json();
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('limits', () => {
  it('refuses initialize past maxSessions with 503, Retry-After and a JSON-RPC error; a freed slot can be used', async () => {
    const server = await startServer({ toolsets: ['diagnostics'], config: { sessions: { maxSessions: 3 }, http: { retryAfterSeconds: 7 } } });
    try {
      const sessions = [await openSession(server.url), await openSession(server.url), await openSession(server.url)];
      const refused = await send(server.url, initializeRequest());
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('7');
      expect(refused.json.error.data.code).toBe('SERVER_BUSY');
      expect(refused.json.error.message).toMatch(/limit 3/);
      expect((await send(server.url, undefined, { session: sessions[0], method: 'DELETE' })).status).toBe(200);
      const fresh = await openSession(server.url);
      expect(structured(await callTool(server.url, fresh, 'echo', { text: 'in' })).text).toBe('in');
    } finally {
      await server.stop();
    }
  });

  it('ends a session idle past the idle timeout (404 afterwards)', async () => {
    const server = await startServer({ toolsets: ['diagnostics'], config: { sessions: { idleTimeoutMs: 800, hibernateAfterMs: 0 } } });
    try {
      const idle = await openSession(server.url);
      const busy = await openSession(server.url);
      expect(structured(await callTool(server.url, idle, 'echo', { text: 'x' })).text).toBe('x');
      const idleEnded = () => server.logs().some((l) => l.msg === 'session ended' && l.session === fingerprint(idle) && String(l.reason).startsWith('idle timeout'));
      // Deliberate: busy calls every 200 ms for at least 2 s (2.5 idle timeouts: activity keeps a
      // session alive), and on until the server has logged the end of the idle one.
      const until = Date.now() + 2_000;
      const cap = Date.now() + 15_000;
      while ((Date.now() < until || !idleEnded()) && Date.now() < cap) {
        await callTool(server.url, busy, 'echo', { text: 'keep' });
        await new Promise((r) => setTimeout(r, 200));
      }
      const gone = await callTool(server.url, idle, 'echo', { text: 'x' });
      expect(gone.status).toBe(404);
      expect(gone.json.error.code).toBe(-32001);
      expect(structured(await callTool(server.url, busy, 'echo', { text: 'y' })).text).toBe('y');
      expect(server.logs().some((l) => l.msg === 'session ended' && String(l.reason).startsWith('idle timeout'))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

describe('hibernation', () => {
  it('hibernates 1,000 idle sessions down to the warm pool, and every one answers correctly afterwards', async () => {
    const server = await startServer({
      toolsets: ['diagnostics'],
      config: { warmPool: { min: 2, max: 8 }, sessions: { hibernateAfterMs: 300 } },
    });
    try {
      const ids = await pool(Array.from({ length: 1000 }, (_, i) => i), 16, async () => {
        const s = await openSession(server.url);
        const who = structured(await callTool(server.url, s, 'whoami'));
        expect(who.executed).toBe(1);
        return s;
      });
      expect(new Set(ids).size).toBe(1000);

      // Everyone idle past the hibernation time: threads fall to the warm pool's size.
      // (a thread being stopped or renewed counts as live but not yet as spare: wait for it to settle)
      let h: any;
      await waitFor(
        '1,000 hibernated sessions and the threads down to the warm pool',
        async () => {
          h = await health(server.origin);
          return h.sessions.hibernated >= 1000 && h.threads <= 8 && h.threads === h.warmPool.spare + h.warmPool.booting;
        },
        20_000,
      ).catch(() => undefined); // the expectations below say what is wrong
      expect(h.sessions.total).toBe(1000);
      expect(h.sessions.hibernated).toBe(1000);
      expect(h.threads).toBeLessThanOrEqual(8);
      expect(h.threads).toBe(h.warmPool.spare + h.warmPool.booting);

      // Every one of them wakes up with its own state (executed = 2) and session id.
      await pool(ids, 16, async (s) => {
        const who = structured(await callTool(server.url, s, 'whoami'));
        expect(who.sessionId).toBe(s);
        expect(who.executed).toBe(2);
      });
    } finally {
      await server.stop();
    }
  }, 180_000);
});

describe('hibernation when the thread cannot be renewed in time', () => {
  it('wakes a session whose hibernating thread had to be killed (no stuck restart)', async () => {
    // A 1 ms shutdown timeout: renewing the thread always takes longer, so it is terminated.
    const server = await startServer({ toolsets: ['diagnostics'], config: { warmPool: { min: 2, max: 4 }, sessions: { hibernateAfterMs: 200, shutdownTimeoutMs: 1, requestTimeoutMs: 5_000 } } });
    try {
      const s = await openSession(server.url);
      expect(structured(await callTool(server.url, s, 'whoami')).executed).toBe(1);
      await waitFor('the session to hibernate', async () => (await health(server.origin)).sessions.hibernated >= 1, 10_000).catch(() => undefined); // checked below
      expect((await health(server.origin)).sessions.hibernated).toBe(1);
      const t0 = Date.now();
      const who = structured(await callTool(server.url, s, 'whoami'));
      expect(who.executed).toBe(2);
      expect(Date.now() - t0).toBeLessThan(4_000);
      // Work that arrives while the session is hibernating is served once it is idle.
      for (let i = 0; i < 3; i++) {
        // Deliberate: past hibernateAfterMs (200) at a different offset each time, so the call lands
        // at a different point of the hibernation (thread stopped, being killed, renewed).
        await new Promise((r) => setTimeout(r, 250 + i * 40));
        expect(structured(await callTool(server.url, s, 'echo', { text: `x${i}` })).text).toBe(`x${i}`);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with 100 requests in flight across 20 sessions: all 100 answered, new sessions refused, exit 0', async () => {
    const server = await startServer({ toolsets: ['diagnostics'], config: { admin: { token: ADMIN_TOKEN }, warmPool: { min: 4, max: 20 }, shutdown: { drainTimeoutMs: 20_000 } } });
    const sessions = await Promise.all(Array.from({ length: 20 }, () => openSession(server.url)));
    // Activate every actor first, so the 100 calls below are accepted quickly.
    await Promise.all(sessions.map((s) => callTool(server.url, s, 'echo', { text: 'warm' })));
    const perSession = sessions.map((s) => Array.from({ length: 5 }, () => callTool(server.url, s, 'sleep', { ms: 300 })));
    const calls = perSession.flat();
    await untilAccepted(server, Object.fromEntries(sessions.map((s, i) => [s, perSession[i]!]))); // all 100 accepted; most still queued
    server.proc.kill('SIGTERM');
    await waitFor('the server to start draining', () => server.logs().some((l) => l.msg === 'shutting down: draining accepted requests'));
    const refused = await send(server.url, initializeRequest()).catch(() => undefined);
    if (refused) expect(refused.status).toBe(503);
    const results = await Promise.all(calls);
    for (const r of results) expect(structured(r).sleptMs).toBeGreaterThanOrEqual(295);
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    expect(server.logs().some((l) => l.msg === 'stopped')).toBe(true);
  }, 60_000);
});
