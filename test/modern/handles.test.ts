/**
 * MCP 2026-07-28 state handles through the real server: a handle is an actor key. Two handles'
 * workflows run in parallel while calls on one handle keep their order; a crash restarts the
 * handle's actor with its ctx.state; another principal using a handle gets exactly the error of
 * an unknown one; a handle survives hibernation, ends when destroyed or idle too long.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { modernTool, type RawResponse } from '../support/mcp-http.js';
import { ADMIN_TOKEN, fingerprint, metric, sessionViews, waitFor } from '../support/wait.js';

const ALICE = 'alice-token-0123456789abcdef0123';
const BOB = 'bob-token-0123456789abcdef012345';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['diagnostics'],
    config: {
      admin: { token: ADMIN_TOKEN },
      auth: { tokens: [{ token: ALICE, principal: 'alice' }, { token: BOB, principal: 'bob' }] },
      sessions: { hibernateAfterMs: 400, deadlineGraceMs: 500, backoff: { baseMs: 10, maxMs: 100, jitter: 0 } },
      handles: { idleTimeoutMs: 6_000 },
    },
  });
});

afterAll(async () => {
  await server?.stop();
});

/** A tool result's structuredContent; fails the test on any error. */
function ok(r: RawResponse): any {
  expect(r.status, r.text).toBe(200);
  expect(r.json.error, r.text).toBeUndefined();
  expect(r.json.result.isError, r.text).not.toBe(true);
  return r.json.result.structuredContent;
}

async function openHandle(token = ALICE): Promise<string> {
  return ok(await modernTool(server.url, 'open_handle', {}, { token })).handle;
}

const call = (name: string, args: Record<string, unknown>, token = ALICE) => modernTool(server.url, name, args, { token });

describe('state handles (MCP 2026-07-28)', () => {
  it('mints opaque handles of at least 128 random bits, each its own actor on its own thread', async () => {
    const [a, b] = await Promise.all([openHandle(), openHandle()]);
    expect(a).not.toBe(b);
    for (const h of [a, b]) expect(Buffer.from(h.replace(/^h_/, ''), 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    const [wa, wb] = [ok(await call('whoami', { handle: a })), ok(await call('whoami', { handle: b }))];
    expect(wa.actor).toBe('handle');
    expect(wb.actor).toBe('handle');
    expect(wa.threadId).not.toBe(wb.threadId);
  });

  it('runs two handles in parallel while the calls on one handle keep their arrival order', async () => {
    const [a, b] = await Promise.all([openHandle(), openHandle()]);
    const t0 = Date.now();
    const sleeps = await Promise.all([call('sleep', { ms: 1_500, handle: a }), call('sleep', { ms: 1_500, handle: b })]);
    const both = Date.now() - t0;
    for (const r of sleeps) expect(ok(r).sleptMs).toBeGreaterThanOrEqual(1_490);
    expect(both).toBeLessThan(2_700); // one after the other would take 3 s

    // Eight whoamis sent at once behind a sleep: executed in the order the mailbox took them.
    const slow = call('sleep', { ms: 300, handle: a });
    const whoamis = await Promise.all(Array.from({ length: 8 }, () => call('whoami', { handle: a })));
    ok(await slow);
    const seen = whoamis.map(ok).sort((x, y) => x.seq - y.seq);
    expect(seen.map((w) => w.executed)).toEqual(seen.map((_, i) => seen[0].executed + i));
    expect(seen.every((w) => w.inFlight === 1)).toBe(true);
    expect(new Set(seen.map((w) => w.threadId)).size).toBe(1);
  });

  it('restarts a crashed handle actor with its ctx.state; the handle keeps working', async () => {
    const h = await openHandle();
    ok(await call('whoami', { handle: h }));
    const before = ok(await call('whoami', { handle: h }));
    expect(before.executed).toBe(2);
    const crashed = await call('crash', { handle: h });
    expect(crashed.status).toBe(200);
    expect(crashed.json.error.data.code).toBe('ACTOR_CRASHED');
    const after = ok(await call('whoami', { handle: h }));
    expect(after.executed).toBe(3);
    expect(after.threadId).not.toBe(before.threadId);
    expect(await metric(server, 'mcp_actors_actor_restarts_total', 'reason="exit"')).toBeGreaterThan(0);
  });

  it("gives another principal using a handle exactly the error of an unknown handle, and leaves the owner's handle alone", async () => {
    const h = await openHandle(ALICE);
    ok(await call('whoami', { handle: h }, ALICE));
    const foreign = await call('whoami', { handle: h }, BOB);
    const unknown = await call('whoami', { handle: 'h_AAAAAAAAAAAAAAAAAAAAAAAA' }, BOB);
    expect(foreign.status).toBe(200);
    expect(foreign.json.result.isError).toBe(true);
    expect(foreign.json.result.structuredContent.code).toBe('UNKNOWN_HANDLE');
    expect(foreign.json.result.content[0].text).toMatch(/Call open_handle/);
    const { id: _f, ...f } = foreign.json;
    const { id: _u, ...u } = unknown.json;
    expect(f).toEqual(u);
    // Without credentials there is no principal to own anything: refused before any routing.
    const anonymous = await modernTool(server.url, 'whoami', { handle: h });
    expect(anonymous.status).toBe(401);
    expect(ok(await call('whoami', { handle: h }, ALICE)).executed).toBe(2);
  });

  it('keeps a handle across hibernation: its thread stops, its state waits, the next call wakes it', async () => {
    const h = await openHandle();
    const first = ok(await call('whoami', { handle: h }));
    const view = await waitFor('the handle to hibernate', async () => {
      const v = (await sessionViews(server)).get(fingerprint(h));
      return v?.state === 'hibernated' && v;
    });
    expect(view).toMatchObject({ kind: 'handle' });
    const woken = ok(await call('whoami', { handle: h }));
    expect(woken.executed).toBe(first.executed + 1);
  });

  it('ends a handle with its destroying tool, and one idle past handles.idleTimeoutMs; both then answer as unknown', async () => {
    const h = await openHandle();
    ok(await call('whoami', { handle: h }));
    expect(ok(await call('close_handle', { handle: h })).closed).toBe(true);
    await waitFor('the handle to end', () => server.logs().some((l) => l.msg === 'state handle ended' && l.handle === fingerprint(h)));
    expect((await call('whoami', { handle: h })).json.result.structuredContent.code).toBe('UNKNOWN_HANDLE');

    const idle = await openHandle();
    await waitFor('the idle handle to expire', () => server.logs().some((l) => l.msg === 'state handle ended' && l.handle === fingerprint(idle) && String(l.reason).startsWith('idle timeout')), 20_000);
    expect((await call('whoami', { handle: idle })).json.result.structuredContent.code).toBe('UNKNOWN_HANDLE');
  });

  it('never writes a handle into the log (fingerprints only)', async () => {
    const h = await openHandle();
    ok(await call('whoami', { handle: h }));
    expect(server.stderr.some((line) => line.includes(h))).toBe(false);
  });
});
