/**
 * Cluster mode through the real thing: a real nats-server with JetStream, nodes as separate
 * `mcp-actors serve --cluster` processes, a real nginx doing round robin, unmodified SDK clients.
 *
 * Every node answers every session and handle; a node's SIGKILL costs at most the requests it was
 * running (answered NODE_LOST, never silence), and the next request through any node takes the
 * actor over from its record with its state. Concurrent first use of one key through two nodes
 * ends with one owner: the per-actor counter (whoami's `executed`, kept in ctx.state) never
 * repeats a value, which two owners — each counting from the same record — would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startServer, type ServerProcess } from '../support/server.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { startNginx, type NginxHandle } from '../support/nginx.js';
import { initializeRequest, modernTool, parseSse, request, send, ACCEPT, PROTOCOL_VERSION, type RawResponse } from '../support/mcp-http.js';
import { ADMIN_TOKEN, metric, sessionViews, waitFor } from '../support/wait.js';
import { connect } from '@nats-io/transport-node';

const ALICE = 'alice-token-0123456789abcdef0123';
const BOB = 'bob-token-0123456789abcdef012345';

let nats: NatsServerHandle;
let nginx: NginxHandle | undefined;
const nodes: ServerProcess[] = [];

function startNode(): Promise<ServerProcess> {
  return startServer({
    toolsets: ['everything', 'diagnostics'],
    args: ['--cluster', nats.url],
    config: {
      admin: { token: ADMIN_TOKEN },
      auth: { tokens: [{ token: ALICE, principal: 'alice' }, { token: BOB, principal: 'bob' }] },
      sessions: { hibernateAfterMs: 0 },
      warmPool: { min: 1 },
      stateless: { threads: 1 },
    },
  });
}

/** Starts a node and keeps it for afterAll. */
async function addNode(): Promise<ServerProcess> {
  const n = await startNode();
  nodes.push(n);
  return n;
}

beforeAll(async () => {
  nats = await startNatsServer();
  for (const n of await Promise.all([startNode(), startNode(), startNode()])) nodes.push(n);
  nginx = await startNginx(nodes.map((n) => new URL(n.url).host));
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  await nats?.stop();
});

const auth = (token = ALICE) => ({ authorization: `Bearer ${token}` });

async function openSession(url: string, token = ALICE): Promise<string> {
  const res = await send(url, initializeRequest(), { headers: auth(token) });
  expect(res.status, res.text).toBe(200);
  const session = res.headers.get('mcp-session-id')!;
  const ack = await send(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session, headers: auth(token) });
  expect(ack.status).toBe(202);
  return session;
}

const whoamiOnce = (url: string, session: string, token = ALICE) => send(url, request('tools/call', { name: 'whoami', arguments: {} }), { session, headers: auth(token) });

/** A request the cluster may answer "node lost" (its node died under it) or refuse while it fails over: retried. */
function retriable(r: RawResponse): boolean {
  return r.status === 503 || r.status === 502;
}

/** whoami's per-actor counter, through `url`, retrying what a failover may answer; how long it took. */
async function executed(url: string, call: () => Promise<RawResponse>, deadlineMs = 10_000): Promise<{ executed: number; ms: number; retries: number }> {
  const t0 = Date.now();
  let retries = 0;
  for (;;) {
    let r: RawResponse | undefined;
    try {
      r = await call();
    } catch (err) {
      if (Date.now() - t0 > deadlineMs) throw err;
    }
    if (r && !retriable(r)) {
      expect(r.status, r.text).toBe(200);
      expect(r.json.error, r.text).toBeUndefined();
      return { executed: r.json.result.structuredContent.executed, ms: Date.now() - t0, retries };
    }
    if (Date.now() - t0 > deadlineMs) throw new Error(`${url}: no answer within ${deadlineMs} ms: ${r?.status} ${r?.text}`);
    retries++;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The session of the SIGKILL test, taken over twice (A's death, then B's). */
let survivor: string | undefined;

const alive = (n: ServerProcess) => n.proc.exitCode === null && n.proc.signalCode === null;

async function forwardedTotal(): Promise<number> {
  let total = 0;
  for (const n of nodes) {
    if (!alive(n)) continue;
    for (const outcome of ['200', '202']) total += await metric(n, 'mcp_actors_cluster_forwarded_total', `outcome="${outcome}"`);
  }
  return total;
}

describe('cluster mode (3 nodes, one nats-server)', () => {
  it('serves an unmodified SDK client behind a round-robin nginx: one session, consecutive requests on different nodes', async () => {
    const before = await forwardedTotal();
    const client = new Client({ name: 'cluster-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', content: { type: 'text', text: 'sampled across nodes' }, model: 'test-model' }));
    const transport = new StreamableHTTPClientTransport(new URL(`${nginx!.url}/mcp`), { requestInit: { headers: auth() } });
    await client.connect(transport);
    try {
      const counts: number[] = [];
      for (let i = 0; i < 6; i++) counts.push((await client.callTool({ name: 'whoami', arguments: {} })).structuredContent!.executed as number);
      expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
      // Progress notifications come back through the relay (an SSE response of another node).
      const progress: number[] = [];
      const r = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.progress) });
      expect(r.isError).not.toBe(true);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      // A server-to-client request from the owning node, answered by a POST that lands on another node.
      const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hello' } });
      expect(JSON.stringify(sampled.content)).toContain('sampled across nodes');
      // Cancellation reaches the owner: the session's mailbox runs one request at a time, so the
      // next call is answered promptly only if the 60 s sleep was really stopped there.
      const abort = new AbortController();
      const sleeping = client.callTool({ name: 'sleep', arguments: { ms: 60_000 } }, undefined, { signal: abort.signal });
      await waitFor('the sleep to be running on its node', async () => {
        for (const n of nodes.filter(alive)) for (const v of (await sessionViews(n)).values()) if (v.inFlight === 'tools/call') return true;
        return false;
      });
      abort.abort('test');
      await expect(sleeping).rejects.toThrow();
      const t0 = Date.now();
      expect((await client.callTool({ name: 'whoami', arguments: {} })).structuredContent!.executed).toBe(7);
      expect(Date.now() - t0).toBeLessThan(20_000);
      // Round robin over 3 nodes: most of these requests reached a node that does not own the session.
      expect((await forwardedTotal()) - before).toBeGreaterThanOrEqual(4);
      await transport.terminateSession();
    } finally {
      await client.close();
    }
  });

  it('keeps a session bound to its principal on every node', async () => {
    const [a, b] = nodes;
    const session = await openSession(a!.url, ALICE);
    const other = await whoamiOnce(b!.url, session, BOB);
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe(-32001);
    expect((await executed(b!.url, () => whoamiOnce(b!.url, session, ALICE))).executed).toBe(1);
  });

  it('relays a GET stream to the owning node, which receives events published on any node', async () => {
    const [a, b, c] = nodes;
    const session = await openSession(c!.url);
    const controller = new AbortController();
    const res = await fetch(a!.url, { headers: { accept: ACCEPT, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL_VERSION, ...auth() }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const got = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += new TextDecoder().decode(value);
        if (parseSse(text).some((e) => e.data.includes('notifications/tools/list_changed'))) return true;
      }
    })();
    try {
      // Published from B's stateless pool (a 2026-07-28 request): reaches the session's stream on C, relayed by A.
      await waitFor('the event to reach the relayed GET stream', async () => {
        const p = await modernTool(b!.url, 'publish_event', { kind: 'tools_list_changed' }, { token: ALICE });
        expect(p.status, p.text).toBe(200);
        return Promise.race([got, new Promise<false>((r) => setTimeout(() => r(false), 300))]);
      });
    } finally {
      controller.abort();
    }
  });

  it('sends no bearer token and no integration credentials over NATS, in relayed requests or in records', async () => {
    const [a, b] = nodes;
    const seen: string[] = [];
    const snoop = await connect({ servers: nats.url });
    const sub = snoop.subscribe('>', { callback: (_err, msg) => seen.push(`${msg.subject} ${msg.string()} ${msg.headers ? [...msg.headers].join(',') : ''}`) });
    try {
      const secret = 'ccxt-secret-0123456789abcdef';
      const session = await openSession(a!.url);
      const r = await send(b!.url, request('tools/call', { name: 'whoami', arguments: {} }), { session, headers: { ...auth(), 'x-ccxt-accounts': secret, cookie: `c=${secret}` } });
      expect(r.status, r.text).toBe(200);
      await snoop.flush();
      await waitFor('the relayed request to be seen on NATS', () => seen.some((m) => m.includes(session)));
      const leaks = seen.filter((m) => m.includes(ALICE) || m.includes(secret));
      expect(leaks).toEqual([]);
    } finally {
      sub.unsubscribe();
      await snoop.close();
    }
  });

  it('answers a session created through A through A, B and C, and through B then C after A is SIGKILLed, its state intact', async () => {
    const [a, b, c] = nodes;
    const session = await openSession(a!.url);
    for (const [i, n] of [a, b, c].entries()) expect((await executed(n!.url, () => whoamiOnce(n!.url, session))).executed).toBe(i + 1);
    // A session of C's whose GET stream A relays: when A dies, C closes the stream it fed to A.
    const onC = await openSession(c!.url);
    const get = (n: ServerProcess, signal?: AbortSignal) =>
      fetch(n.url, { headers: { accept: ACCEPT, 'mcp-session-id': onC, 'mcp-protocol-version': PROTOCOL_VERSION, ...auth() }, signal });
    const relayed = await get(a!);
    expect(relayed.status).toBe(200);
    a!.proc.kill('SIGKILL');
    await a!.exited;
    await waitFor('C to let go of the GET stream relayed to the dead node', async () => {
      const controller = new AbortController();
      const r = await get(c!, controller.signal);
      controller.abort();
      return r.status === 200;
    });
    const viaB = await executed(b!.url, () => whoamiOnce(b!.url, session));
    expect(viaB.executed).toBe(4);
    expect(viaB.ms).toBeLessThan(5_000);
    expect((await executed(c!.url, () => whoamiOnce(c!.url, session))).executed).toBe(5);
    survivor = session;
  });

  it('answers a 2026 handle created through B through C, before and after B dies', async () => {
    const [, b, c] = nodes;
    const opened = await modernTool(b!.url, 'open_handle', {}, { token: ALICE });
    expect(opened.status, opened.text).toBe(200);
    const handle = opened.json.result.structuredContent.handle as string;
    const viaNode = (n: ServerProcess) => () => modernTool(n.url, 'whoami', { handle }, { token: ALICE });
    expect((await executed(c!.url, viaNode(c!))).executed).toBe(1);
    expect((await executed(b!.url, viaNode(b!))).executed).toBe(2);
    // Another principal with the handle: exactly the unknown-handle answer, on the non-owner too.
    const bob = await modernTool(c!.url, 'whoami', { handle }, { token: BOB });
    expect(bob.json.result?.isError ?? bob.json.error !== undefined, bob.text).toBe(true);
    b!.proc.kill('SIGKILL');
    await b!.exited;
    const after = await executed(c!.url, viaNode(c!));
    expect(after.executed).toBe(3);
    expect(after.ms).toBeLessThan(5_000);
    // B had taken over A's session: its record, as B last wrote it, moves on to C.
    expect((await executed(c!.url, () => whoamiOnce(c!.url, survivor!))).executed).toBe(6);
  });

  it('gives a key one owner when its first requests after a takeover arrive through two nodes at once (repeated)', async () => {
    const c = nodes[2]!;
    const [x, y] = await Promise.all([addNode(), addNode()]);
    // Eight sessions owned by X, each at executed 1.
    const sessions = await Promise.all(Array.from({ length: 8 }, () => openSession(x.url)));
    for (const s of sessions) expect((await executed(x.url, () => whoamiOnce(x.url, s))).executed).toBe(1);
    x.proc.kill('SIGKILL');
    await x.exited;
    // For each session, three requests through C and three through Y at the same moment (two
    // sessions at a time: a principal may have 32 requests in flight per node).
    for (let i = 0; i < sessions.length; i += 2) {
      await Promise.all(
        sessions.slice(i, i + 2).map(async (s) => {
          const calls = [c, c, c, y, y, y].map((n) => executed(n.url, () => whoamiOnce(n.url, s)));
          const seen = (await Promise.all(calls)).map((r) => r.executed).sort((p, q) => p - q);
          expect(seen).toEqual([2, 3, 4, 5, 6, 7]);
        }),
      );
    }
  }, 60_000);

  it('hands the sessions of a node stopped with SIGTERM over to the others, state intact', async () => {
    const [c] = nodes.filter(alive) as [ServerProcess];
    const z = await addNode();
    const session = await openSession(z.url);
    expect((await executed(z.url, () => whoamiOnce(z.url, session))).executed).toBe(1);
    expect((await executed(c.url, () => whoamiOnce(c.url, session))).executed).toBe(2);
    expect((await z.stop('SIGTERM')).code).toBe(0);
    const after = await executed(c.url, () => whoamiOnce(c.url, session));
    expect(after.executed).toBe(3);
    expect(after.retries).toBe(0);
  }, 30_000);

  it('fails fast with 503 + Retry-After while NATS is down, keeps local and stateless work going, and loses nothing once it is back', async () => {
    const [c, y] = nodes.filter(alive) as [ServerProcess, ServerProcess];
    const onC = await openSession(c.url);
    expect((await executed(c.url, () => whoamiOnce(c.url, onC))).executed).toBe(1);
    await nats.kill();
    await waitFor('node Y to notice NATS is gone', async () => (await whoamiOnce(y.url, onC)).status === 503);
    const refused = await whoamiOnce(y.url, onC);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(refused.json.error.data.code).toMatch(/CLUSTER_UNAVAILABLE|NODE_LOST/);
    // A new session needs the directory: refused the same way.
    const init = await send(y.url, initializeRequest(), { headers: auth() });
    expect(init.status).toBe(503);
    // The session's own node still serves it; stateless 2026 requests need no NATS at all.
    expect((await executed(c.url, () => whoamiOnce(c.url, onC))).executed).toBe(2);
    const stateless = await modernTool(y.url, 'whoami', {}, { token: ALICE });
    expect(stateless.status, stateless.text).toBe(200);
    await nats.restart();
    // Back: the session answers through the other node again, its count continuing.
    expect((await executed(y.url, () => whoamiOnce(y.url, onC), 15_000)).executed).toBe(3);
    expect((await openSession(y.url)).length).toBeGreaterThan(10);
  }, 60_000);
});
