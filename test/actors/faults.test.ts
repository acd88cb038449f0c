/**
 * Crash and runaway isolation through the real server: a session's fault is answered with a clear
 * error, its actor restarts with the handshake replayed (same session id, same logging level),
 * queued requests run in order afterwards, the restart shows in /metrics — and 20 other sessions
 * calling echo the whole time see nothing (each test checks them through its own fault).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, request, send, structured } from '../support/mcp-http.js';
import { ADMIN_TOKEN, fingerprint, untilAccepted, waitFor } from '../support/wait.js';

let server: ServerProcess;
const bystanders: { errors: string[]; calls: number; stop: boolean; done: Promise<void>[] } = { errors: [], calls: 0, stop: false, done: [] };

beforeAll(async () => {
  server = await startServer({
    toolsets: ['diagnostics', 'everything'],
    config: {
      admin: { token: ADMIN_TOKEN }, // untilAccepted reads the mailboxes on /sessions
      warmPool: { min: 4, max: 8 },
      sessions: {
        heapLimitMb: 96,
        toolTimeoutsMs: { hang: 1_000 },
        deadlineGraceMs: 500,
        restartIntensity: { maxRestarts: 20, periodMs: 60_000 },
        backoff: { baseMs: 10, maxMs: 200, jitter: 0.5 },
      },
    },
  });
  // 20 other sessions call echo in a loop for the whole file.
  for (let i = 0; i < 20; i++) {
    const s = await openSession(server.url);
    bystanders.done.push(
      (async () => {
        while (!bystanders.stop) {
          const r = await callTool(server.url, s, 'echo', { text: `b${i}` }).catch((e: Error) => ({ status: 0, json: { error: e.message } }) as never);
          bystanders.calls++;
          if (r.status !== 200 || r.json?.error || r.json?.result?.structuredContent?.text !== `b${i}`) bystanders.errors.push(JSON.stringify(r.json ?? r.status));
          await new Promise((res) => setTimeout(res, 20)); // deliberate pacing: a steady client, not a flood
        }
      })(),
    );
  }
});

afterAll(async () => {
  bystanders.stop = true;
  await Promise.all(bystanders.done);
  await server?.stop();
});

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function logsAtLevelError(session: string): Promise<number> {
  // test_tool_with_logging emits info-level messages: with the level at "error" none may arrive.
  const r = await send(server.url, request('tools/call', { name: 'test_tool_with_logging', arguments: {} }), { session });
  expect(r.status).toBe(200);
  expect(r.json.result).toBeTruthy();
  return r.events.filter((e) => e.data.includes('notifications/message')).length;
}

/**
 * Runs one fault scenario and checks the bystanders through it: they kept getting answers (at
 * least one more round of all 20 after the fault) and none of those answers was an error. Each
 * test checks this itself, so none depends on another having run.
 */
async function withBystanders(scenario: () => Promise<void>): Promise<void> {
  const calls = bystanders.calls;
  const errors = bystanders.errors.length;
  await scenario();
  await waitFor('the bystanders to get another round of answers', () => bystanders.calls >= calls + 20);
  expect(bystanders.errors.slice(errors)).toEqual([]);
}

describe('faults in one session', () => {
  it('crash{}: clear error, same session keeps working with its logging level, restart in /metrics', async () => {
    await withBystanders(async () => {
      const s = await openSession(server.url);
      const control = await openSession(server.url);
      expect(await logsAtLevelError(control)).toBeGreaterThan(0); // by default the tool's logs do arrive
      expect((await send(server.url, request('logging/setLevel', { level: 'error' }), { session: s })).status).toBe(200);
      expect(await logsAtLevelError(s)).toBe(0);
      const before = structured(await callTool(server.url, s, 'whoami'));
      const restartsBefore = await metric('mcp_actors_actor_restarts_total', 'reason="exit"');

      const crashed = await callTool(server.url, s, 'crash');
      expect(crashed.status).toBe(200);
      expect(crashed.json.error.data.code).toBe('ACTOR_CRASHED');
      expect(crashed.json.error.message).toMatch(/crashed/);

      const after = structured(await callTool(server.url, s, 'whoami'));
      expect(after.sessionId).toBe(s);
      expect(after.executed).toBe(before.executed + 1); // state survived
      expect(after.threadId).not.toBe(before.threadId);
      expect(await logsAtLevelError(s)).toBe(0); // the logging level was replayed
      expect(await metric('mcp_actors_actor_restarts_total', 'reason="exit"')).toBeGreaterThan(restartsBefore);
    });
  });

  it('fail{}: the error comes back as a tool error and the session carries on', async () => {
    await withBystanders(async () => {
      const s = await openSession(server.url);
      const r = await callTool(server.url, s, 'fail', { message: 'deliberate failure' });
      expect(r.json.result.isError).toBe(true);
      expect(JSON.stringify(r.json.result.content)).toContain('deliberate failure');
      expect(structured(await callTool(server.url, s, 'echo', { text: 'ok' })).text).toBe('ok');
    });
  });

  it('alloc{} past the per-session heap limit: out-of-memory error, restart, session intact', async () => {
    await withBystanders(async () => {
      const s = await openSession(server.url);
      const before = structured(await callTool(server.url, s, 'whoami'));
      const oomBefore = await metric('mcp_actors_actor_restarts_total', 'reason="oom"');
      const r = await callTool(server.url, s, 'alloc', { mb: 400 });
      expect(r.json.error.data.code).toBe('ACTOR_OOM');
      expect(r.json.error.message).toMatch(/memory/);
      const after = structured(await callTool(server.url, s, 'whoami'));
      expect(after.sessionId).toBe(s);
      expect(after.executed).toBe(before.executed + 1);
      expect(await metric('mcp_actors_actor_restarts_total', 'reason="oom"')).toBeGreaterThan(oomBefore);
    });
  });

  it('hang{} past its deadline: timeout error at the deadline, thread terminated, actor restarted', async () => {
    await withBystanders(async () => {
      const s = await openSession(server.url);
      const t0 = Date.now();
      const r = await callTool(server.url, s, 'hang');
      const elapsed = Date.now() - t0;
      expect(r.json.error.data.code).toBe('DEADLINE_EXCEEDED');
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(5_000);
      // The next call waits for the hung thread to be killed (grace) and the actor to restart.
      const next = await callTool(server.url, s, 'whoami');
      expect(structured(next).sessionId).toBe(s);
      expect(Date.now() - t0).toBeLessThan(8_000);
      expect(await metric('mcp_actors_actor_restarts_total', 'reason="killed"')).toBeGreaterThan(0);
      expect(await metric('mcp_actors_deadline_expired_total', 'tool="hang"')).toBeGreaterThan(0);
    });
  });

  it('runs the requests queued behind a crashing one, in order, on the restarted actor', async () => {
    await withBystanders(async () => {
      const s = await openSession(server.url);
      const first = structured(await callTool(server.url, s, 'whoami'));
      // Each request is sent once the mailbox has taken the previous one: arrival order = send order.
      const sleeping = callTool(server.url, s, 'sleep', { ms: 400 });
      await untilAccepted(server, { [s]: [sleeping] });
      const crash = callTool(server.url, s, 'crash');
      await untilAccepted(server, { [s]: [sleeping, crash] });
      const queued = [];
      for (let i = 0; i < 5; i++) {
        queued.push(callTool(server.url, s, 'whoami'));
        await untilAccepted(server, { [s]: [sleeping, crash, ...queued] });
      }
      expect(structured(await sleeping).sleptMs).toBeGreaterThanOrEqual(395);
      expect((await crash).json.error.data.code).toBe('ACTOR_CRASHED');
      const results = (await Promise.all(queued)).map(structured);
      expect(results.map((r) => r.executed)).toEqual([2, 3, 4, 5, 6].map((n) => n + first.executed - 1));
      expect(results.map((r) => r.seq)).toEqual([...results.map((r) => r.seq)].sort((a, b) => a - b));
      expect(new Set(results.map((r) => r.threadId)).size).toBe(1);
      expect(results[0].threadId).not.toBe(first.threadId);
    });
  });

});

describe('restart intensity', () => {
  it('past the intensity the session ends and answers 404; the server is fine', async () => {
    const strict = await startServer({
      toolsets: ['diagnostics'],
      config: { warmPool: { min: 2, max: 4 }, sessions: { restartIntensity: { maxRestarts: 2, periodMs: 60_000 }, backoff: { baseMs: 10, maxMs: 50, jitter: 0 } } },
    });
    try {
      const s = await openSession(strict.url);
      const other = await openSession(strict.url);
      for (let i = 0; i < 3; i++) expect((await callTool(strict.url, s, 'crash')).json.error.data.code).toBe('ACTOR_CRASHED');
      // After the third crash the supervisor gives up: the session is over.
      await waitFor('the session to end', () => strict.logs().some((l) => l.msg === 'session ended' && l.session === fingerprint(s)));
      const gone = await callTool(strict.url, s, 'whoami');
      expect(gone.status).toBe(404);
      expect(gone.json.error.code).toBe(-32001);
      expect(structured(await callTool(strict.url, other, 'echo', { text: 'fine' })).text).toBe('fine');
      const health = await (await fetch(`${strict.origin}/health`)).json();
      expect(health.status).toBe('ok');
      expect(strict.logs().some((l) => l.msg === 'session actor restart intensity exceeded; ending the session')).toBe(true);
    } finally {
      await strict.stop();
    }
  });
});
