/**
 * The stateless pool through the real server: MCP 2026-07-28 requests without a handle run on a
 * few long-lived threads (one at start, more as concurrency calls for them), many at once, each
 * isolated from the others' faults — a hung request is answered at its deadline and its thread
 * replaced, a crash fails only the requests on its thread, a CPU-bound request stalls no other
 * thread, the queue is bounded (503 + Retry-After), and a client that goes away cancels its
 * request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer, type ServerProcess } from '../support/server.js';
import { modernTool, type RawResponse } from '../support/mcp-http.js';
import { metric, waitFor } from '../support/wait.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['diagnostics'],
    config: {
      stateless: { threads: 3, concurrency: 8, maxQueue: 4 },
      sessions: { toolTimeoutsMs: { hang: 1_000 }, deadlineGraceMs: 500 },
    },
  });
});

afterAll(async () => {
  await server?.stop();
});

function ok(r: RawResponse): any {
  expect(r.status, r.text).toBe(200);
  expect(r.json.error, r.text).toBeUndefined();
  expect(r.json.result.isError, r.text).not.toBe(true);
  return r.json.result.structuredContent;
}

const call = (name: string, args: Record<string, unknown> = {}, signal?: AbortSignal) => modernTool(server.url, name, args, signal ? { signal } : {});

/** Calls echo in a loop until `stop()`; returns what it saw. */
function bystander() {
  let running = true;
  const errors: string[] = [];
  let calls = 0;
  const done = (async () => {
    while (running) {
      const r = await call('echo', { text: `b${calls}` }).catch((e: Error) => ({ status: 0, text: e.message, json: undefined }) as unknown as RawResponse);
      if (r.status !== 200 || r.json?.result?.structuredContent?.text !== `b${calls}`) errors.push(r.text.slice(0, 300));
      calls++;
    }
  })();
  return {
    get calls() {
      return calls;
    },
    stop: async () => {
      running = false;
      await done;
      return errors;
    },
  };
}

describe('the stateless pool (MCP 2026-07-28 requests without a handle)', () => {
  it('starts with one thread and adds one while every thread has a request in flight, up to its size', async () => {
    expect(await metric(server, 'mcp_actors_stateless', 'kind="threads"')).toBe(1);
    expect(ok(await call('echo', { text: 'alone' })).text).toBe('alone');
    expect(await metric(server, 'mcp_actors_stateless', 'kind="threads"')).toBe(1); // one request at a time needs one thread
    // Each request that finds every thread busy starts one more thread (one boot at a time).
    const sleeps: Array<Promise<RawResponse>> = [];
    await waitFor('the pool to grow to its size', async () => {
      if ((await metric(server, 'mcp_actors_stateless', 'kind="queued"')) === 0) sleeps.push(call('sleep', { ms: 1_500 }));
      return (await metric(server, 'mcp_actors_stateless', 'kind="threads"')) === 3;
    });
    sleeps.push(...Array.from({ length: 8 }, () => call('sleep', { ms: 200 })));
    for (const r of await Promise.all(sleeps)) ok(r);
    expect(await metric(server, 'mcp_actors_stateless', 'kind="threads"')).toBe(3); // never beyond its size
  });

  it('runs many requests at once on a few threads', async () => {
    const t0 = Date.now();
    const results = (await Promise.all(Array.from({ length: 12 }, () => call('sleep', { ms: 800 })))).map(ok);
    expect(Date.now() - t0).toBeLessThan(2_400); // 12 × 800 ms one after another would be 9.6 s
    const threads = new Set(results.map((r) => r.threadId));
    expect(threads.size).toBeGreaterThan(1);
    expect(threads.size).toBeLessThanOrEqual(3);
  });

  it('answers a hung request at its deadline and replaces its thread; other requests keep flowing', async () => {
    const others = bystander();
    const killedBefore = await metric(server, 'mcp_actors_stateless_thread_exits_total', 'reason="killed"');
    const t0 = Date.now();
    const hung = await call('hang');
    const answeredAfter = Date.now() - t0;
    expect(hung.status).toBe(200);
    expect(hung.json.error.data.code).toBe('DEADLINE_EXCEEDED');
    expect(answeredAfter).toBeGreaterThanOrEqual(950);
    expect(answeredAfter).toBeLessThan(2_000 + 1_000);
    await waitFor('the hung thread to be replaced', async () => (await metric(server, 'mcp_actors_stateless_thread_exits_total', 'reason="killed"')) > killedBefore);
    await waitFor('the pool to be whole again', async () => (await metric(server, 'mcp_actors_stateless', 'kind="threads"')) === 3);
    const seen = others.calls;
    await waitFor('the bystander to keep going', () => others.calls > seen + 20);
    expect(await others.stop()).toEqual([]);
    expect(ok(await call('echo', { text: 'after' })).text).toBe('after');
  });

  it('fails only the requests in flight on a crashed thread, each with an error; the rest complete', async () => {
    // Fill the threads with sleeps, then crash one of them.
    const sleeps = Array.from({ length: 9 }, () => call('sleep', { ms: 1_500 }));
    await waitFor('the sleeps to run', async () => (await metric(server, 'mcp_actors_stateless', 'kind="running"')) >= 9);
    const crash = await call('crash');
    expect(crash.json.error.data.code).toBe('POOL_THREAD_CRASHED');
    expect(crash.json.error.message).toMatch(/other threads were not affected/);
    const results = await Promise.all(sleeps);
    const failed = results.filter((r) => r.json.error);
    const done = results.filter((r) => !r.json.error).map(ok);
    expect(done.length).toBeGreaterThanOrEqual(5); // the two other threads' share
    expect(failed.length).toBeLessThanOrEqual(4);
    for (const f of failed) expect(f.json.error.data.code).toBe('POOL_THREAD_CRASHED');
    await waitFor('the pool to be whole again', async () => (await metric(server, 'mcp_actors_stateless', 'kind="threads"')) === 3);
    expect(ok(await call('echo', { text: 'still here' })).text).toBe('still here');
  });

  it('lets a CPU-bound request stall no request on another thread', async () => {
    const burn = call('cpu_burn', { ms: 2_000 });
    await waitFor('the burn to run', async () => (await metric(server, 'mcp_actors_stateless', 'kind="running"')) >= 1);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = Date.now();
      ok(await call('echo', { text: 'quick' }));
      latencies.push(Date.now() - t);
    }
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(ok(await burn).burnedMs).toBeGreaterThanOrEqual(1_990);
  });

  it('sends no request to a thread stuck in a CPU-bound handler while another thread responds, even under concurrency', async () => {
    const two = await startServer({ toolsets: ['diagnostics'], config: { stateless: { threads: 2, concurrency: 8 } } });
    try {
      const started = Date.now();
      const burn = modernTool(two.url, 'cpu_burn', { ms: 2_000 });
      // The pool can tell a thread is stuck once it has been silent for a while (100 ms).
      await waitFor('the burn to run for 300 ms', async () => (await metric(two, 'mcp_actors_stateless', 'kind="running"')) >= 1 && Date.now() - started >= 300);
      const latencies: number[] = [];
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const t = Date.now();
            expect(ok(await modernTool(two.url, 'echo', { text: `q${round}-${i}` })).text).toBe(`q${round}-${i}`);
            latencies.push(Date.now() - t);
          }),
        );
      }
      expect(Math.max(...latencies)).toBeLessThan(1_000); // none waited behind the 2 s burn
      expect(ok(await burn).burnedMs).toBeGreaterThanOrEqual(1_990);
    } finally {
      await two.stop();
    }
  });

  it('moves a request its thread has not taken up (a CPU-bound handler started there first) to another thread, and runs it once', async () => {
    // One thread at start: the burn takes it, and the echoes sent right behind it go to the same
    // thread (not yet silent long enough to count as stuck) while the second thread boots.
    const two = await startServer({ toolsets: ['diagnostics'], config: { logLevel: 'debug', stateless: { threads: 2, concurrency: 8 } } });
    try {
      expect(await metric(two, 'mcp_actors_stateless', 'kind="threads"')).toBe(1);
      const t0 = Date.now();
      const burn = modernTool(two.url, 'cpu_burn', { ms: 4_000 });
      // Echoes sent one every 10 ms from then on: those that arrive within ~100 ms of the burn
      // starting go to its thread (the only one bound) and are still unread there when it blocks.
      const sent: Array<Promise<{ text: string; at: number }>> = [];
      for (let i = 0; i < 20; i++) {
        sent.push(modernTool(two.url, 'echo', { text: `e${i}` }).then((r) => ({ text: ok(r).text as string, at: Date.now() - t0 })));
        await new Promise((r) => setTimeout(r, 10));
      }
      const echoes = await Promise.all(sent);
      expect(echoes.map((e) => e.text)).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
      // Answered on the other thread, long before the 4 s burn ends.
      expect(Math.max(...echoes.map((e) => e.at))).toBeLessThan(2_500);
      const burned = ok(await burn);
      expect(burned.burnedMs).toBeGreaterThanOrEqual(3_990);
      const moved = () => two.logs().filter((l) => typeof l.msg === 'string' && /was not taken up within/.test(l.msg));
      expect(moved().length).toBeGreaterThanOrEqual(1);
      // Once free, the burning thread reads the messages it was sent and drops the withdrawn ones
      // (had it run one, its answer would arrive for a request already answered: logged as dropped),
      // and it serves again: concurrent sleeps spread over both threads.
      const sleeps = (await Promise.all(Array.from({ length: 4 }, () => modernTool(two.url, 'sleep', { ms: 300 })))).map(ok);
      expect(new Set(sleeps.map((r) => r.threadId)).size).toBe(2);
      expect(two.logs().filter((l) => typeof l.msg === 'string' && /late response/.test(l.msg))).toEqual([]);
    } finally {
      await two.stop();
    }
  });

  it('serves again from a thread it moved requests away from, once that thread reads its messages again', async () => {
    // A thread busy outside any request (a toolset's background work) leaves a request untaken
    // and counts as stuck; when it reads its messages again it must get requests again, although
    // it has nothing of its own to answer.
    const hog = `${ROOT}/dist/test/support/background-hog-toolset.js`;
    const two = await startServer({ args: ['--toolsets', `diagnostics,${hog}`], config: { logLevel: 'debug', stateless: { threads: 2, concurrency: 8 } } });
    try {
      // Two threads, both serving.
      await waitFor('the pool to have grown to 2 threads', async () => {
        await Promise.all(Array.from({ length: 4 }, () => modernTool(two.url, 'sleep', { ms: 100 }).then(ok)));
        return (await metric(two, 'mcp_actors_stateless', 'kind="threads"')) === 2;
      });
      const moved = () => two.logs().filter((l) => typeof l.msg === 'string' && /was not taken up within/.test(l.msg)).length;
      const before = moved();
      const hogged = ok(await modernTool(two.url, 'hog_later', { ms: 1_500, delayMs: 50 })).threadId as number;
      // Requests while it hogs: the ones sent to it are moved to the other thread.
      const t0 = Date.now();
      const during: Array<Promise<unknown>> = [];
      for (let i = 0; i < 10; i++) {
        during.push(modernTool(two.url, 'echo', { text: `d${i}` }).then((r) => expect(ok(r).text).toBe(`d${i}`)));
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(during);
      expect(Date.now() - t0).toBeLessThan(1_400); // none waited for the 1.5 s hog
      expect(moved()).toBeGreaterThan(before);
      // Once it is done, both threads take requests again.
      await waitFor('the hogging thread to serve again', async () => {
        const sleeps = (await Promise.all(Array.from({ length: 4 }, () => modernTool(two.url, 'sleep', { ms: 200 })))).map(ok);
        return sleeps.some((r) => r.threadId === hogged);
      });
    } finally {
      await two.stop();
    }
  });

  it('answers 503 with Retry-After beyond the queue bound, and takes requests again once there is room', async () => {
    const strict = await startServer({ toolsets: ['diagnostics'], config: { stateless: { threads: 1, concurrency: 1, maxQueue: 1 } } });
    try {
      const first = modernTool(strict.url, 'sleep', { ms: 1_000 });
      await waitFor('the first to run', async () => (await metric(strict, 'mcp_actors_stateless', 'kind="running"')) === 1);
      const second = modernTool(strict.url, 'sleep', { ms: 10 });
      await waitFor('the second to wait', async () => (await metric(strict, 'mcp_actors_stateless', 'kind="queued"')) === 1);
      const third = await modernTool(strict.url, 'echo', { text: 'x' });
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(third.json.error.data.code).toBe('SERVER_BUSY');
      expect(third.json.id).toBeDefined();
      expect(ok(await first).sleptMs).toBeGreaterThanOrEqual(990);
      ok(await second);
      expect(ok(await modernTool(strict.url, 'echo', { text: 'y' })).text).toBe('y');
    } finally {
      await strict.stop();
    }
  });

  it('cancels a request whose client closes the response', async () => {
    const cancelledBefore = await metric(server, 'mcp_actors_request_duration_seconds_count', 'outcome="REQUEST_CANCELLED"');
    const controller = new AbortController();
    const pending = call('sleep', { ms: 60_000 }, controller.signal).catch((e: Error) => e);
    await waitFor('the sleep to run', async () => (await metric(server, 'mcp_actors_stateless', 'kind="running"')) >= 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor('the request to be cancelled and its handler to stop', async () => {
      const cancelled = await metric(server, 'mcp_actors_request_duration_seconds_count', 'outcome="REQUEST_CANCELLED"');
      const running = await metric(server, 'mcp_actors_stateless', 'kind="running"');
      return cancelled > cancelledBefore && running === 0;
    });
  });
});
