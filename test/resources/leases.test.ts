/**
 * Resource actors and leases through the real server, with a test resource kind ("counter",
 * test/support/resources): exclusive instances in a host thread, pool limits with a wait
 * deadline, release on session end and hibernation, reset before reuse, deadlines, error codes
 * across threads, and recovery when an instance or its whole host thread dies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, send } from '../support/mcp-http.js';
import { metric, waitFor } from '../support/wait.js';

let server: ServerProcess;

const TOOLSET = `${ROOT}/dist/test/support/resources/lease-toolset.js`;
const FACTORY = `${ROOT}/dist/test/support/resources/counter-factory.js`;

beforeAll(async () => {
  server = await startServer({
    args: ['--toolsets', `${TOOLSET},diagnostics`],
    config: {
      warmPool: { min: 2, max: 6 },
      sessions: { hibernateAfterMs: 0 },
      resources: { counter: { factory: FACTORY, hosts: 1, maxInstances: 2, maxLeases: 2, waitTimeoutMs: 600, idleTtlMs: 60_000, healthIntervalMs: 300 } },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function call(session: string, method: string, args: unknown[] = [], waitMs?: number): Promise<{ ok: boolean; value: any; error?: { code: string; message: string } }> {
  const r = await callTool(server.url, session, 'lease_call', { method, args, ...(waitMs ? { waitMs } : {}) });
  expect(r.status).toBe(200);
  const result = r.json.result;
  if (result.isError) return { ok: false, value: undefined, error: result.structuredContent };
  return { ok: true, value: result.structuredContent.value };
}

/** Waits until a lease request waits for a counter (the pool is full). */
const untilWaiting = () => waitFor('a lease request to wait', async () => (await metric(server, 'mcp_actors_pool_waiting', 'kind="counter"')) >= 1);

/** How many times the server has logged an instance's death (for a reason starting with `reason`). */
const diedLines = (reason = '') => server.logs().filter((l) => l.msg === 'resource instance died' && String(l.reason).startsWith(reason)).length;

describe('leases', () => {
  let a: string;
  let b: string;

  it('gives each session its own instance in a resource host thread, kept across calls', async () => {
    a = await openSession(server.url);
    b = await openSession(server.url);
    const a1 = await call(a, 'hit');
    const a2 = await call(a, 'hit');
    const b1 = await call(b, 'hit');
    expect(a1.value.hits).toBe(1);
    expect(a2.value.hits).toBe(2);
    expect(a2.value.instance).toBe(a1.value.instance);
    expect(b1.value.hits).toBe(1);
    expect(b1.value.instance).not.toBe(a1.value.instance);
    // The instance lives in a host thread, not in the session's actor thread.
    const who = (await callTool(server.url, a, 'whoami')).json.result.structuredContent;
    expect(a1.value.threadId).not.toBe(who.threadId);
    expect(a1.value.threadId).toBeGreaterThan(0);
  });

  it('makes a lease past the pool limit wait, then fail clearly at its deadline', async () => {
    const c = await openSession(server.url);
    const t0 = Date.now();
    const r = await call(c, 'hit');
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe('LEASE_TIMEOUT');
    expect(r.error!.message).toMatch(/no counter became available within 600 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    // Pool leases and lease timeouts are visible in /metrics.
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/mcp_actors_pool_leases\{kind="counter"\} 2/);
    expect(metrics).toMatch(/mcp_actors_pool_events_total\{kind="counter",event="timeout"\} [1-9]/);
    expect(metrics).toMatch(/mcp_actors_lease_wait_seconds_count\{kind="counter"\} [1-9]/);
  });

  it('releases a session\'s leases when it ends; the next session gets that instance reset', async () => {
    const c = await openSession(server.url);
    const waiting = call(c, 'hit', [], 5_000);
    await untilWaiting();
    const instanceOfA = (await call(a, 'hit')).value.instance;
    expect((await send(server.url, undefined, { session: a, method: 'DELETE' })).status).toBe(200);
    const got = await waiting;
    expect(got.ok).toBe(true);
    expect(got.value.instance).toBe(instanceOfA);
    expect(got.value.hits).toBe(1); // reset before reuse
    expect(got.value.resets).toBe(1);
    a = c;
  });

  it('carries error codes across threads and enforces per-call deadlines', async () => {
    const failed = await call(b, 'fail', ['INSUFFICIENT_FUNDS']);
    expect(failed.error).toEqual({ code: 'INSUFFICIENT_FUNDS', message: 'failing with INSUFFICIENT_FUNDS', retryable: false });
    const slow = await call(b, 'slow', [5_000]);
    expect(slow.error!.code).toBe('TIMEOUT');
    expect(slow.error!.message).toMatch(/got no answer within 500 ms/);
    expect((await call(b, 'hit')).ok).toBe(true); // the lease survives a timed-out call
  });

  it('cuts the lessee off when its instance dies, and the next lease gets a fresh one', async () => {
    const before = (await call(b, 'hit')).value.instance;
    const died = diedLines();
    expect((await call(b, 'die')).ok).toBe(true);
    await waitFor('the instance to die', () => diedLines() > died);
    const lost = await call(b, 'hit');
    // Either this call noticed the loss, or the toolset had already re-leased a fresh instance.
    if (!lost.ok) {
      expect(lost.error!.code).toBe('RESOURCE_LOST');
      expect(lost.error!.message).toMatch(/is gone/);
    }
    const fresh = lost.ok ? lost : await call(b, 'hit');
    expect(fresh.ok).toBe(true);
    expect(fresh.value.instance).not.toBe(before);
    expect(fresh.value.hits).toBe(1);
  });

  it('replaces an instance that fails its health check', async () => {
    const before = (await call(b, 'hit')).value.instance;
    const died = diedLines('health check failed');
    expect((await call(b, 'unhealthy')).ok).toBe(true);
    await waitFor('the health check to fail', () => diedLines('health check failed') > died);
    let r = await call(b, 'hit');
    if (!r.ok) r = await call(b, 'hit');
    expect(r.ok).toBe(true);
    expect(r.value.instance).not.toBe(before);
    expect(server.logs().some((l) => l.msg === 'resource instance died' && String(l.reason).startsWith('health check failed'))).toBe(true);
  });

  it('survives its host thread crashing: calls fail clearly, the host restarts, later leases work', async () => {
    const hostDied = () => server.logs().filter((l) => l.msg === 'resource host died; restarting it').length;
    const diedBefore = hostDied();
    expect((await call(b, 'crashHost')).ok).toBe(true);
    await waitFor('the host to die', () => hostDied() > diedBefore);
    const lost = await call(b, 'hit');
    if (!lost.ok) expect(lost.error!.code).toBe('RESOURCE_LOST');
    // A new lease comes from the restarted host (while it restarts, the pool may answer "try again").
    const again = lost.ok ? lost : await waitFor('a lease on the restarted host', async () => {
      const r = await call(b, 'hit');
      return r.ok && r;
    }, 5_000);
    expect(again.ok).toBe(true);
    expect(again.value.hits).toBe(1);
    expect(server.logs().some((l) => l.msg === 'resource host died; restarting it')).toBe(true);
    // Sessions are unaffected throughout.
    expect((await callTool(server.url, b, 'echo', { text: 'fine' })).json.result.structuredContent.text).toBe('fine');
  });

  it('releases leases when the session\'s actor crashes (its incarnation ended)', async () => {
    const c = await openSession(server.url);
    // a's instance went down with the crashed host (above): a leases again, so both are held.
    if (!(await call(a, 'hit')).ok) expect((await call(a, 'hit')).ok).toBe(true);
    // Both instances are held (a and b); c waits, and b's actor crashes: its lease is released.
    const waiting = call(c, 'hit', [], 5_000);
    await untilWaiting();
    expect((await callTool(server.url, b, 'crash')).json.error.data.code).toBe('ACTOR_CRASHED');
    const got = await waiting;
    expect(got.ok).toBe(true);
    expect(got.value.hits).toBe(1);
  });
});
