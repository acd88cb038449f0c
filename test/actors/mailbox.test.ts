/**
 * Mailbox semantics through the real HTTP server and real worker threads: in-session order,
 * cross-session parallelism, cancellation of queued and running requests, and a tool that asks
 * its own client (elicitation) without deadlocking its mailbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, percentile, request, send, structured } from '../support/mcp-http.js';
import { ADMIN_TOKEN, untilRunning } from '../support/wait.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ toolsets: ['diagnostics', 'everything'], config: { admin: { token: ADMIN_TOKEN }, warmPool: { min: 4, max: 8 } } });
});
afterAll(async () => {
  await server?.stop();
});

describe('mailbox', () => {
  it('runs 50 concurrent calls of one session strictly in arrival order', async () => {
    const session = await openSession(server.url);
    const results = await Promise.all(Array.from({ length: 50 }, () => callTool(server.url, session, 'whoami')));
    const calls = results.map(structured).sort((a, b) => a.seq - b.seq);
    // Arrival stamps are distinct and consecutive; execution order equals arrival order.
    expect(new Set(calls.map((c) => c.seq)).size).toBe(50);
    expect(calls.at(-1).seq - calls[0].seq).toBe(49);
    expect(calls.map((c) => c.executed)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // One at a time: each call finished before the next one started.
    for (let i = 1; i < calls.length; i++) expect(calls[i].startedAt).toBeGreaterThanOrEqual(calls[i - 1].finishedAt);
    expect(calls.every((c) => c.inFlight === 1)).toBe(true);
    // All on one actor thread, not the main thread.
    expect(new Set(calls.map((c) => c.threadId)).size).toBe(1);
    expect(calls[0].threadId).toBeGreaterThan(0);
  });

  it('keeps other sessions responsive while one burns CPU', async () => {
    const a = await openSession(server.url);
    const b = await openSession(server.url);
    await callTool(server.url, b, 'echo', { text: 'warm' });
    const burn = callTool(server.url, a, 'cpu_burn', { ms: 1000 });
    await untilRunning(server, a);
    const latencies: number[] = [];
    const started = Date.now();
    let burnDone = false;
    void burn.then(() => (burnDone = true));
    while (!burnDone && Date.now() - started < 5000) {
      const t0 = performance.now();
      const r = await callTool(server.url, b, 'echo', { text: 'ping' });
      latencies.push(performance.now() - t0);
      expect(structured(r).text).toBe('ping');
    }
    const burned = structured(await burn);
    expect(burned.burnedMs).toBeGreaterThanOrEqual(1000);
    // B answered many times during A's 1 s burn, each quickly (generous bound: shared 2-core box).
    expect(latencies.length).toBeGreaterThan(10);
    expect(percentile(latencies, 99)).toBeLessThan(200);
  });

  it('never runs a queued request that was cancelled', async () => {
    const session = await openSession(server.url);
    const running = callTool(server.url, session, 'sleep', { ms: 800 }, 'sleeper');
    await untilRunning(server, session);
    const queued = callTool(server.url, session, 'whoami', {}, 'victim');
    await untilRunning(server, session, 1); // the victim waits behind the sleep
    const cancel = await send(server.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'victim', reason: 'test' } }, { session });
    expect(cancel.status).toBe(202);
    const victim = await queued;
    expect(victim.json.error.data.code).toBe('REQUEST_CANCELLED');
    expect(structured(await running).sleptMs).toBeGreaterThanOrEqual(795);
    const after = structured(await callTool(server.url, session, 'whoami'));
    expect(after.executed).toBe(1); // the cancelled whoami never executed
  });

  it('aborts a running sleep when it is cancelled, and the next request runs right after', async () => {
    const session = await openSession(server.url);
    const sleeping = callTool(server.url, session, 'sleep', { ms: 20_000 }, 'long-sleep');
    await untilRunning(server, session);
    const queued = callTool(server.url, session, 'whoami');
    const t0 = Date.now();
    await send(server.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'long-sleep' } }, { session });
    const cancelled = await sleeping;
    expect(cancelled.json.error.data.code).toBe('REQUEST_CANCELLED');
    const next = structured(await queued);
    expect(Date.now() - t0).toBeLessThan(5_000); // not the 20 s the sleep asked for
    expect(next.inFlight).toBe(1); // the sleep handler really ended: nothing else is running
  });

  it('lets a tool ask its own client (elicitation) without deadlocking its mailbox', async () => {
    const client = new Client({ name: 'elicit-test', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action: 'accept', content: { response: 'alice' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who are you?' } });
    expect(asked).toBe(1);
    expect(JSON.stringify(result.content)).toContain('alice');
    // The session still works after the round trip.
    const again = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
    expect(again.structuredContent).toEqual({ text: 'still here' });
    await client.close();
  });

  it('answers a request beyond the mailbox depth with "session busy" and does not run it', async () => {
    const small = await startServer({ toolsets: ['diagnostics'], config: { admin: { token: ADMIN_TOKEN }, warmPool: { min: 1, max: 2 }, sessions: { mailboxDepth: 2 } } });
    try {
      const session = await openSession(small.url);
      const calls = [callTool(small.url, session, 'sleep', { ms: 300 })];
      await untilRunning(small, session); // running, not queued: the mailbox's 2 places are free
      for (let i = 0; i < 4; i++) calls.push(callTool(small.url, session, 'whoami'));
      const results = await Promise.all(calls);
      const busy = results.filter((r) => r.json?.error?.data?.code === 'SESSION_BUSY');
      expect(busy).toHaveLength(2);
      expect(busy[0]!.json.error.message).toMatch(/busy/i);
      const after = structured(await callTool(small.url, session, 'whoami'));
      expect(after.executed).toBe(3); // 2 queued whoami ran, the 2 refused did not
    } finally {
      await small.stop();
    }
  });

  it('answers ping while a long request runs (ping bypasses the queue)', async () => {
    const session = await openSession(server.url);
    const sleeping = callTool(server.url, session, 'sleep', { ms: 1500 });
    await untilRunning(server, session);
    const t0 = Date.now();
    const pong = await send(server.url, request('ping'), { session });
    expect(pong.json.result).toEqual({});
    expect(Date.now() - t0).toBeLessThan(1000);
    await sleeping;
  });
});
