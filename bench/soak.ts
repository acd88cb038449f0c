#!/usr/bin/env node
/**
 * Soak test: mixed traffic against one mcp-actors server (its own child process, authentication
 * on) for `--minutes`, then a verdict:
 *
 * - normal callers: sessions that call echo (a unique text each) and whoami (must name the
 *   caller's own session), then end their session and open another;
 * - crashes: a session whose tool calls process.exit (ACTOR_CRASHED), then carries on;
 * - hangs: a session whose tool never yields (deadline answer, thread killed), then carries on;
 * - malformed requests: bad JSON, invalid UTF-8, deep nesting, oversized bodies, bad tokens,
 *   unknown sessions, another principal's session — each must get its 4xx;
 * - abandoned sessions: opened, used once, never ended (the idle timeout reaps them);
 * - SSE: standalone GET streams opened and dropped.
 *
 * Every call carries a unique id (and text) it must get back: a response that never comes is
 * "lost", one with another id, text or session is "misrouted"; whoami's per-session counter must
 * go on one by one (else "state lost"). RSS of the server process (all its threads) is sampled
 * throughout; the verdict compares the level at the end with the level after warm-up (20% of the
 * run, between 40 s and 2 min).
 *
 * --cluster: the same traffic against a nats-server and 3 nodes, each request sent to the next
 * node in turn (a session's requests land on every node), and every --kill-every-sec one node is
 * SIGKILLed and a new one started. A request answered NODE_LOST or CLUSTER_UNAVAILABLE (503), or
 * cut by a connection error, is sent again to the next node and counted as "retried". RSS (all
 * nodes) is reported, not judged: nodes come and go.
 *
 *   node dist/bench/soak.js [--minutes 10] [--settle-sec 0] [--out file.json] [--cluster [--kill-every-sec 60]]
 *
 * Exit code 0 when nothing was lost or misrouted, no state was lost, the server (every node) stayed
 * up, and (one server) end RSS is within 10% of the warm RSS; 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startCluster, startServer, type ClusterProcesses, type ServerProcess } from './servers.js';

const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL_VERSION = '2025-11-25';
const CALL_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 20_000;
const CLUSTER_NODES = 3;
/** Cluster mode: JSON-RPC error codes (data.code) that ask for the request to be sent again. */
const RETRY_CODES = new Set(['NODE_LOST', 'CLUSTER_UNAVAILABLE', 'ACTOR_MOVED']);
const RETRY_PAUSE_MS = 50;

const HELP = `Usage: node dist/bench/soak.js [options]     (npm run soak [-- options])

Mixed traffic (echo/whoami callers, crashes, hangs, malformed requests, abandoned sessions, SSE)
against mcp-actors, then a verdict: nothing lost or misrouted, no state lost, the server up, RSS
steady. Exit code 0 on PASS, 1 on FAIL.

Options:
  --minutes <m>         how long the traffic runs (default 10; more than the warm-up of 40 s)
  --settle-sec <s>      after the traffic, wait this long and report RSS again (default 0)
  --out <file>          write the summary, RSS samples and (--cluster) kills as JSON
  --cluster             a nats-server (JetStream) and ${CLUSTER_NODES} nodes instead of one server; each request
                        goes to the next node in turn; one answered NODE_LOST or CLUSTER_UNAVAILABLE
                        (503), or cut by a connection error, is sent again to the next node and
                        counted as "retried". RSS (all nodes) is reported, not judged
  --kill-every-sec <s>  with --cluster: every s seconds SIGKILL one node (each in turn) and start a
                        new one in its place (default 60; 0: never)
  -h, --help            this text
`;

interface Tally {
  ok: number;
  /** An error the test asked for (a crash, a hang, a malformed request) answered as expected. */
  expectedErrors: number;
  lost: number;
  misrouted: number;
  /** Answered, with the right id, but not as expected (wrong status or error). */
  unexpected: number;
  /** whoami's per-session counter did not go on one by one (the session's state went back or jumped). */
  stateLost: number;
  problems: string[];
}

const tally: Tally = { ok: 0, expectedErrors: 0, lost: 0, misrouted: 0, unexpected: 0, stateLost: 0, problems: [] };
/** Cluster mode: requests sent again (each counted once), and the attempts that failed, by cause. */
const retried = { requests: 0, byCause: new Map<string, number>() };
const byKind = new Map<string, number>();

function note(kind: keyof Omit<Tally, 'problems'>, label: string, detail?: string): void {
  tally[kind]++;
  const key = kind === 'ok' ? label : `${label} (${kind})`;
  byKind.set(key, (byKind.get(key) ?? 0) + 1);
  if (detail && tally.problems.length < 50) tally.problems.push(`${kind} ${label}: ${detail}${kind === 'lost' ? ` [${lastFailure}]` : ''}`);
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  /** How many times it was sent again (cluster mode) before this answer. */
  retries: number;
}

/** One server, or the nodes of a cluster (a killed node stays in its slot until its replacement listens). */
let nodes: () => ServerProcess[] = () => [];
let cluster: ClusterProcesses | undefined;
let turn = 0;
let stopping = false;

/** The node the next request goes to: the next live one in turn. */
function target(): ServerProcess {
  const live = nodes().filter((n) => !n.exited);
  return live[turn++ % Math.max(1, live.length)] ?? nodes()[0]!;
}

let lastFailure = '';

/** Cluster mode: why a reply (or its absence: 'timeout' or a connection error) asks for the request to be sent again, else undefined. */
function retryCause(r: { json: any } | string): string | undefined {
  if (!cluster) return undefined;
  if (typeof r === 'string') return r === 'timeout' ? undefined : 'connection error';
  const code = r.json?.error?.data?.code;
  return RETRY_CODES.has(code) ? code : undefined;
}

function countRetry(cause: string, first: boolean): void {
  if (first) retried.requests++;
  retried.byCause.set(cause, (retried.byCause.get(cause) ?? 0) + 1);
}

/**
 * Sends a request; in cluster mode one answered NODE_LOST / CLUSTER_UNAVAILABLE or cut by a
 * connection error goes again to the next node. `body(n)` is the n-th attempt's body: a JSON-RPC
 * request sent again takes a new id (the first attempt may still be running on its owner).
 */
async function post(body: string | Buffer | ((retry: number) => string), headers: Record<string, string>, method = 'POST'): Promise<Reply | undefined> {
  const until = Date.now() + CALL_TIMEOUT_MS;
  for (let retries = 0; ; retries++) {
    const r = await attempt(typeof body === 'function' ? body(retries) : body, headers, method);
    const cause = Date.now() > until ? undefined : retryCause(r);
    if (cause === undefined) return typeof r === 'string' ? undefined : { ...r, retries };
    countRetry(cause, retries === 0);
    await sleep(RETRY_PAUSE_MS);
  }
}

/** The id of a request's n-th attempt (see post). */
const attemptId = (id: string, retry: number) => (retry === 0 ? id : `${id}~${retry}`);

/** One HTTP exchange: the reply, or why there is none ('timeout', or the connection error). */
async function attempt(body: string | Buffer, headers: Record<string, string>, method: string): Promise<Omit<Reply, 'retries'> | string> {
  try {
    const res = await fetch(target().url, {
      method,
      headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers },
      body: method === 'POST' ? body : undefined,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await res.text();
    let json: any;
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const data = text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6);
      json = data.length ? JSON.parse(data.at(-1)!.slice(6)) : undefined;
    } else if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, headers: res.headers, text, json };
  } catch (err) {
    // Timed out or the connection failed: no answer.
    lastFailure = `${(err as Error).name}: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`.slice(0, 200);
    return (err as Error).name === 'TimeoutError' ? 'timeout' : lastFailure;
  }
}

let seq = 0;
const uid = () => `${(++seq).toString(36)}-${randomBytes(4).toString('hex')}`;

class Client {
  session = '';
  /** The last whoami counter of this session. */
  executed = 0;
  constructor(private readonly token: string) {}

  get headers(): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (this.session) {
      h['mcp-session-id'] = this.session;
      h['mcp-protocol-version'] = PROTOCOL_VERSION;
    }
    return h;
  }

  async open(label: string): Promise<boolean> {
    this.session = '';
    this.executed = 0;
    const id = `init-${uid()}`;
    const init = await post(JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'soak', version: '1' } } }), this.headers);
    if (!init) {
      note('lost', `${label}:initialize`, 'no answer');
      return false;
    }
    if (init.status !== 200 || init.json?.id !== id || !init.headers.get('mcp-session-id')) {
      note(init.json?.id !== undefined && init.json.id !== id ? 'misrouted' : 'unexpected', `${label}:initialize`, `${init.status} ${init.text.slice(0, 200)}`);
      return false;
    }
    this.session = init.headers.get('mcp-session-id')!;
    const ack = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), this.headers);
    if (!ack) {
      note('lost', `${label}:initialized`, 'no answer');
      return false;
    }
    if (ack.status !== 202) {
      note('unexpected', `${label}:initialized`, `${ack.status}`);
      return false;
    }
    note('ok', `${label}:initialize`);
    return true;
  }

  async close(label: string): Promise<void> {
    const r = await post('', this.headers, 'DELETE');
    if (!r) note('lost', `${label}:delete`, 'no answer');
    // Sent again after its node died mid-way (cluster mode), a DELETE may find the session ended by its first attempt.
    else if (r.status !== 200 && !(r.status === 404 && r.retries > 0)) note('unexpected', `${label}:delete`, `${r.status} ${r.text.slice(0, 200)}`);
    else note('ok', `${label}:delete`);
    this.session = '';
  }

  /** tools/call; `check` judges the JSON-RPC message once its id is known to be ours (`retries`: how often it was sent again). */
  async call(label: string, name: string, args: Record<string, unknown>, check: (m: any, retries: number) => 'ok' | 'expected' | string): Promise<void> {
    const base = `${label}-${uid()}`;
    const r = await post((n) => JSON.stringify({ jsonrpc: '2.0', id: attemptId(base, n), method: 'tools/call', params: { name, arguments: args } }), this.headers);
    if (!r) return note('lost', label, `no answer to ${name}`);
    if (r.json?.id !== attemptId(base, r.retries)) return note(r.json?.id === undefined || r.json?.id === null ? 'unexpected' : 'misrouted', label, `${r.status} ${r.text.slice(0, 200)}`);
    const verdict = check(r.json, r.retries);
    if (verdict === 'ok') note('ok', label);
    else if (verdict === 'expected') note('expectedErrors', label);
    else note(verdict.startsWith('misrouted') ? 'misrouted' : verdict.startsWith('state') ? 'stateLost' : 'unexpected', label, verdict);
  }

  echo(label: string): Promise<void> {
    const text = `echo ${uid()} ${'✓'.repeat(seq % 5)}`;
    return this.call(label, 'echo', { text }, (m) => (m.result?.structuredContent?.text === text ? 'ok' : m.result ? `misrouted: got ${JSON.stringify(m.result).slice(0, 120)}` : `error ${JSON.stringify(m.error)}`));
  }

  /** whoami must name this session, and its counter go on by one (by up to 1 + retries: an attempt cut short may have run). */
  whoami(label: string): Promise<void> {
    const mine = this.session;
    return this.call(label, 'whoami', {}, (m, retries) => {
      const sc = m.result?.structuredContent;
      if (!sc) return m.result ? `misrouted: ${JSON.stringify(m.result).slice(0, 120)}` : `error ${JSON.stringify(m.error)}`;
      if (sc.sessionId !== mine) return 'misrouted: whoami named another session';
      const prev = this.executed;
      this.executed = sc.executed;
      return sc.executed > prev && sc.executed <= prev + 1 + retries ? 'ok' : `state: executed ${sc.executed} after ${prev} (${retries} retries)`;
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the traffic --------------------------------------------------------------------------

async function normalCaller(token: string, n: number): Promise<void> {
  const c = new Client(token);
  while (!stopping) {
    if (!(await c.open('normal'))) {
      await sleep(200);
      continue;
    }
    const calls = 50 + ((n * 37) % 150);
    for (let i = 0; i < calls && !stopping; i++) {
      if (i % 4 === 3) await c.whoami('normal');
      else await c.echo('normal');
      await sleep(2);
    }
    await c.close('normal');
  }
}

async function crasher(token: string): Promise<void> {
  const c = new Client(token);
  while (!stopping) {
    if (!(await c.open('crash'))) {
      await sleep(500);
      continue;
    }
    // Stay under the per-session restart intensity (5 in 60 s): three crashes, then a new session.
    for (let i = 0; i < 3 && !stopping; i++) {
      await c.call('crash', 'crash', {}, (m) => (m.error?.data?.code === 'ACTOR_CRASHED' ? 'expected' : `crash answered ${JSON.stringify(m).slice(0, 200)}`));
      await c.echo('crash-after');
      await sleep(1_500);
    }
    await c.close('crash');
  }
}

async function hanger(token: string): Promise<void> {
  const c = new Client(token);
  while (!stopping) {
    if (!(await c.open('hang'))) {
      await sleep(500);
      continue;
    }
    for (let i = 0; i < 3 && !stopping; i++) {
      await c.call('hang', 'hang', {}, (m) => (['DEADLINE_EXCEEDED', 'ACTOR_KILLED'].includes(m.error?.data?.code) ? 'expected' : `hang answered ${JSON.stringify(m).slice(0, 200)}`));
      await c.echo('hang-after');
      await sleep(3_000);
    }
    await c.close('hang');
  }
}

async function malformed(token: string, otherToken: string): Promise<void> {
  const owner = new Client(otherToken);
  while (!stopping && !(await owner.open('malformed-owner'))) await sleep(500);
  const mine = new Client(token);
  while (!stopping && !(await mine.open('malformed'))) await sleep(500);
  const cases: Array<{ name: string; status: number; send: () => Promise<Reply | undefined> }> = [
    { name: 'bad-json', status: 400, send: () => post('{"jsonrpc":"2.0","id":1,"method":', mine.headers) },
    { name: 'bad-utf8', status: 400, send: () => post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), mine.headers) },
    { name: 'too-deep', status: 400, send: () => post(`{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${'['.repeat(200)}${']'.repeat(200)}}}`, mine.headers) },
    { name: 'extra-member', status: 400, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}', mine.headers) },
    { name: 'batch', status: 400, send: () => post('[{"jsonrpc":"2.0","id":1,"method":"ping"}]', mine.headers) },
    { name: 'oversized', status: 413, send: () => post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(5 * 1024 * 1024) } } }), mine.headers) },
    { name: 'bad-token', status: 401, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...mine.headers, authorization: `Bearer ${randomBytes(16).toString('hex')}` }) },
    { name: 'no-token', status: 401, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-session-id': mine.session }) },
    { name: 'unknown-session', status: 404, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...mine.headers, 'mcp-session-id': `gone-${uid()}` }) },
    { name: 'foreign-session', status: 404, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...mine.headers, 'mcp-session-id': owner.session }) },
    { name: 'wrong-type', status: 415, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...mine.headers, 'content-type': 'text/plain' }) },
    { name: 'bad-version', status: 400, send: () => post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { ...mine.headers, 'mcp-protocol-version': '1999-01-01' }) },
  ];
  for (let i = 0; !stopping; i++) {
    const c = cases[i % cases.length]!;
    if (i % 100 === 99) {
      // Keep both sessions from idling out (malformed requests never reach them).
      await owner.call('malformed-keepalive', 'echo', { text: 'k' }, (m) => (m.result ? 'ok' : `error ${JSON.stringify(m.error)}`));
      await mine.call('malformed-keepalive', 'echo', { text: 'k' }, (m) => (m.result ? 'ok' : `error ${JSON.stringify(m.error)}`));
    }
    const r = await c.send();
    if (!r) note('lost', `malformed:${c.name}`, 'no answer');
    else if (r.status === c.status && r.json?.jsonrpc === '2.0' && r.json.error) note('expectedErrors', `malformed:${c.name}`);
    else note('unexpected', `malformed:${c.name}`, `${r.status} ${r.text.slice(0, 200)}`);
    await sleep(20);
  }
  await owner.close('malformed-owner');
  await mine.close('malformed');
}

async function abandoner(token: string): Promise<void> {
  while (!stopping) {
    const c = new Client(token);
    if (await c.open('abandoned')) await c.echo('abandoned');
    await sleep(500); // and never DELETE it
  }
}

async function streamer(token: string): Promise<void> {
  const c = new Client(token);
  while (!stopping && !(await c.open('sse'))) await sleep(500);
  while (!stopping) {
    try {
      const ctl = new AbortController();
      const res = await fetch(target().url, { headers: { ...c.headers, accept: 'text/event-stream' }, signal: ctl.signal });
      if (res.status !== 200) {
        const text = await res.text();
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        // Cluster mode: a stream refused for now (its owner being taken over) is opened again by the loop.
        const cause = retryCause({ json });
        if (cause) countRetry(cause, true);
        else note('unexpected', 'sse:get', `${res.status} ${text.slice(0, 200)}`);
      } else {
        await c.call('sse', 'notify_later', { ms: 0, text: 'ping' }, (m) => (m.result ? 'ok' : `error ${JSON.stringify(m.error)}`));
        await sleep(500);
        ctl.abort();
        note('ok', 'sse:get');
      }
    } catch {
      // the abort
    }
    await sleep(500);
  }
  await c.close('sse');
}

// ---- RSS -----------------------------------------------------------------------------------

interface Sample {
  t: number;
  rssMb: number;
  sessions: number | undefined;
  threads: number | undefined;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      'settle-sec': { type: 'string', default: '0' },
      out: { type: 'string' },
      cluster: { type: 'boolean' },
      'kill-every-sec': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
  const durationMs = minutes * 60_000;
  // Warm-up: 20% of the run, at least 40 s (abandoned sessions reach their steady number after
  // the 20 s idle timeout, their threads a little later), at most 2 min. The warm and end levels
  // are means over a window after the warm-up and at the end of the traffic.
  const warmupMs = Math.min(120_000, Math.max(40_000, durationMs * 0.2));
  const windowMs = Math.max(4_000, Math.min(20_000, (durationMs - warmupMs) / 2));
  if (durationMs <= warmupMs) throw new Error('--minutes must be more than the 40 s warm-up');
  const settleMs = Number(values['settle-sec']) * 1000;
  if (values['kill-every-sec'] !== undefined && !values.cluster) throw new Error('--kill-every-sec needs --cluster');
  const killEveryMs = Number(values['kill-every-sec'] ?? 60) * 1000;
  if (!(killEveryMs >= 0)) throw new Error('--kill-every-sec must be a number ≥ 0');

  const alice = randomBytes(24).toString('base64url');
  const bob = randomBytes(24).toString('base64url');
  const roomy = { requestsPerSecond: 100_000, burst: 100_000, maxSessions: 10_000, maxInFlight: 1_000 };
  const opts = {
    toolsets: ['diagnostics'],
    config: {
      auth: { tokens: [{ token: alice, principal: 'alice', limits: roomy }, { token: bob, principal: 'bob', limits: roomy }] },
      sessions: { idleTimeoutMs: IDLE_TIMEOUT_MS, hibernateAfterMs: 5_000, toolTimeoutsMs: { hang: 1_000 }, deadlineGraceMs: 500 },
    },
  };
  if (values.cluster) {
    const c = (cluster = await startCluster(CLUSTER_NODES, opts));
    nodes = () => c.nodes;
  } else {
    const server = await startServer('ours', opts);
    nodes = () => [server];
  }
  process.stderr.write(
    `soak: ${minutes} min against ${nodes().map((n) => `${n.url} (pid ${n.pid})`).join(', ')}` +
      (cluster ? ` through ${cluster.nats.url}; ${killEveryMs > 0 ? `a node killed every ${killEveryMs / 1000} s` : 'no kills'}` : '') +
      `; warm-up ${Math.round(warmupMs / 1000)} s\n`,
  );

  const t0 = Date.now();
  const samples: Sample[] = [];
  const sum = (xs: Array<number | undefined>) => (xs.every((x) => x !== undefined) ? xs.reduce((a: number, b) => a + b!, 0) : undefined);
  /** RSS, sessions and threads of the live nodes together. */
  const measure = async () => {
    const live = nodes().filter((n) => !n.exited);
    const hs = await Promise.all(live.map((n) => n.health(2_000)));
    return { rss: sum(live.map((n) => n.rss())), sessions: sum(hs.map((h) => h?.sessions.total)), threads: sum(hs.map((h) => h?.threads)) };
  };
  const sampler = setInterval(async () => {
    const m = await measure();
    if (m.rss !== undefined) samples.push({ t: Date.now() - t0, rssMb: m.rss / 1048576, sessions: m.sessions, threads: m.threads });
  }, 2_000);

  const loops = [
    ...Array.from({ length: 6 }, (_, i) => normalCaller(i % 2 ? alice : bob, i)),
    crasher(alice),
    hanger(bob),
    malformed(alice, bob),
    abandoner(bob),
    streamer(alice),
  ];
  // Cluster mode: at every killEveryMs, SIGKILL the next node and start a new one in its slot.
  const kills: Array<{ t: number; node: number; pid: number; newPid?: number; restartSec?: number; error?: string }> = [];
  const killer = async (c: ClusterProcesses) => {
    for (let k = 1; k * killEveryMs < durationMs; k++) {
      await sleep(t0 + k * killEveryMs - Date.now());
      const slot = (k - 1) % CLUSTER_NODES;
      const victim = c.nodes[slot]!;
      const at = Date.now();
      await victim.kill();
      const kill: (typeof kills)[number] = { t: Math.round((at - t0) / 1000), node: slot + 1, pid: victim.pid };
      try {
        kill.newPid = (await c.respawn(slot)).pid;
        kill.restartSec = Number(((Date.now() - at) / 1000).toFixed(1));
      } catch (err) {
        kill.error = (err as Error).message.slice(0, 300);
      }
      kills.push(kill);
      process.stderr.write(`soak: ${kill.t} s, SIGKILLed node ${kill.node} (pid ${kill.pid}); ${kill.error ?? `pid ${kill.newPid} in its place after ${kill.restartSec} s`}\n`);
    }
  };
  if (cluster && killEveryMs > 0) loops.push(killer(cluster));
  const progress = setInterval(() => {
    const last = samples.at(-1);
    process.stderr.write(
      `soak: ${Math.round((Date.now() - t0) / 1000)} s, ok ${tally.ok}, expected errors ${tally.expectedErrors}, lost ${tally.lost}, misrouted ${tally.misrouted}, state lost ${tally.stateLost}, unexpected ${tally.unexpected}` +
        (cluster ? `, retried ${retried.requests}` : '') +
        (last ? `, RSS ${last.rssMb.toFixed(1)} MB, sessions ${last.sessions}, threads ${last.threads}` : '') +
        '\n',
    );
  }, 30_000);

  await sleep(durationMs);
  stopping = true;
  await Promise.all(loops);
  const endedAt = Date.now() - t0;
  if (settleMs > 0) await sleep(settleMs);
  clearInterval(sampler);
  clearInterval(progress);
  const final = await measure();
  const health = await Promise.all(nodes().map((n) => n.health()));
  const alive = nodes().every((n, i) => !n.exited && health[i]?.status === 'ok');
  await (cluster ? cluster.stop() : Promise.all(nodes().map((n) => n.stop())));

  const warm = samples.filter((s) => s.t >= warmupMs && s.t < warmupMs + windowMs).map((s) => s.rssMb);
  const end = samples.filter((s) => s.t > endedAt - windowMs && s.t <= endedAt).map((s) => s.rssMb);
  const warmRss = mean(warm);
  const endRss = mean(end);
  const growth = (endRss - warmRss) / warmRss;
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const summary = {
    minutes,
    ...(cluster && { cluster: { nodes: CLUSTER_NODES, killEverySec: killEveryMs / 1000, kills } }),
    warmupSeconds: Math.round(warmupMs / 1000),
    windowSeconds: Math.round(windowMs / 1000),
    requests: tally.ok + tally.expectedErrors + tally.lost + tally.misrouted + tally.stateLost + tally.unexpected,
    ok: tally.ok,
    expectedErrors: tally.expectedErrors,
    lost: tally.lost,
    misrouted: tally.misrouted,
    stateLost: tally.stateLost,
    unexpected: tally.unexpected,
    ...(cluster && { retried: retried.requests, retriedAttempts: Object.fromEntries(retried.byCause) }),
    rssWarmMb: Number(warmRss.toFixed(1)),
    rssEndMb: Number(endRss.toFixed(1)),
    rssGrowthPct: Number((growth * 100).toFixed(1)),
    rssPeakMb: Number(peak.toFixed(1)),
    rssAfterSettleMb: settleMs > 0 && final.rss !== undefined ? Number((final.rss / 1048576).toFixed(1)) : undefined,
    serverAlive: alive,
    byKind: Object.fromEntries([...byKind].sort()),
    problems: tally.problems,
    samples: samples.map((s) => ({ t: Math.round(s.t / 1000), rssMb: Number(s.rssMb.toFixed(1)), sessions: s.sessions, threads: s.threads })),
  };
  if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2));
  // Cluster mode: RSS is not judged (killed nodes are replaced by fresh ones).
  const pass = tally.lost === 0 && tally.misrouted === 0 && tally.stateLost === 0 && alive && (cluster !== undefined || Math.abs(growth) <= 0.1);
  const failedAttempts = [...retried.byCause].map(([cause, n]) => `${cause} ${n}`).join(', ') || 'none';
  process.stdout.write(
    [
      `soak ${minutes} min: ${summary.requests} requests — ok ${summary.ok}, expected errors ${summary.expectedErrors}, lost ${summary.lost}, misrouted ${summary.misrouted}, state lost ${summary.stateLost}, unexpected ${summary.unexpected}`,
      ...(cluster
        ? [`cluster of ${CLUSTER_NODES} nodes: ${kills.length} SIGKILLed and replaced; retried ${retried.requests} requests (failed attempts: ${failedAttempts})`]
        : []),
      `RSS${cluster ? ' (all nodes, not judged)' : ''} after warm-up ${summary.rssWarmMb} MB, at the end ${summary.rssEndMb} MB (${summary.rssGrowthPct >= 0 ? '+' : ''}${summary.rssGrowthPct}%), peak ${summary.rssPeakMb} MB` +
        (summary.rssAfterSettleMb !== undefined ? `, after settling ${summary.rssAfterSettleMb} MB` : ''),
      `${cluster ? 'every node' : 'server'} ${alive ? 'up' : 'DOWN'} at the end; verdict: ${pass ? 'PASS' : 'FAIL'}`,
      ...(tally.problems.length ? ['problems:', ...tally.problems.slice(0, 20).map((p) => `  ${p}`)] : []),
    ].join('\n') + '\n',
  );
  process.exitCode = pass ? 0 : 1;
}

main().catch(async (err) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
  await Promise.all(nodes().map((n) => n.kill()));
  await cluster?.stop();
  process.exit(2);
});
