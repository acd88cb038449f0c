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
 * "lost", one with another id, text or session is "misrouted". RSS of the server process (all its
 * threads) is sampled throughout; the verdict compares the level at the end with the level after
 * warm-up (20% of the run, between 40 s and 2 min).
 *
 *   node dist/bench/soak.js [--minutes 10] [--settle-sec 0] [--out file.json]
 *
 * Exit code 0 when nothing was lost or misrouted, the server stayed up, and end RSS is within 10%
 * of the warm RSS; 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startServer, type ServerProcess } from './servers.js';

const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL_VERSION = '2025-11-25';
const CALL_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 20_000;

interface Tally {
  ok: number;
  /** An error the test asked for (a crash, a hang, a malformed request) answered as expected. */
  expectedErrors: number;
  lost: number;
  misrouted: number;
  /** Answered, with the right id, but not as expected (wrong status or error). */
  unexpected: number;
  problems: string[];
}

const tally: Tally = { ok: 0, expectedErrors: 0, lost: 0, misrouted: 0, unexpected: 0, problems: [] };
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
}

let server: ServerProcess;
let stopping = false;

let lastFailure = '';

async function post(body: string | Buffer, headers: Record<string, string>, method = 'POST'): Promise<Reply | undefined> {
  try {
    const res = await fetch(server.url, {
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
    return undefined;
  }
}

let seq = 0;
const uid = () => `${(++seq).toString(36)}-${randomBytes(4).toString('hex')}`;

class Client {
  session = '';
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
    else if (r.status !== 200) note('unexpected', `${label}:delete`, `${r.status} ${r.text.slice(0, 200)}`);
    else note('ok', `${label}:delete`);
    this.session = '';
  }

  /** tools/call; `check` judges the JSON-RPC message once its id is known to be ours. */
  async call(label: string, name: string, args: Record<string, unknown>, check: (m: any) => 'ok' | 'expected' | string): Promise<void> {
    const id = `${label}-${uid()}`;
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }), this.headers);
    if (!r) return note('lost', label, `no answer to ${name}`);
    if (r.json?.id !== id) return note(r.json?.id === undefined || r.json?.id === null ? 'unexpected' : 'misrouted', label, `${r.status} ${r.text.slice(0, 200)}`);
    const verdict = check(r.json);
    if (verdict === 'ok') note('ok', label);
    else if (verdict === 'expected') note('expectedErrors', label);
    else note(verdict.startsWith('misrouted') ? 'misrouted' : 'unexpected', label, verdict);
  }

  echo(label: string): Promise<void> {
    const text = `echo ${uid()} ${'✓'.repeat(seq % 5)}`;
    return this.call(label, 'echo', { text }, (m) => (m.result?.structuredContent?.text === text ? 'ok' : m.result ? `misrouted: got ${JSON.stringify(m.result).slice(0, 120)}` : `error ${JSON.stringify(m.error)}`));
  }

  whoami(label: string): Promise<void> {
    const mine = this.session;
    return this.call(label, 'whoami', {}, (m) => (m.result?.structuredContent?.sessionId === mine ? 'ok' : m.result ? `misrouted: whoami named another session` : `error ${JSON.stringify(m.error)}`));
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
      const res = await fetch(server.url, { headers: { ...c.headers, accept: 'text/event-stream' }, signal: ctl.signal });
      if (res.status !== 200) note('unexpected', 'sse:get', `${res.status}`);
      else {
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
    options: { minutes: { type: 'string', default: '10' }, 'settle-sec': { type: 'string', default: '0' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write('Usage: node dist/bench/soak.js [--minutes 10] [--settle-sec 0] [--out file.json]\n');
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

  const alice = randomBytes(24).toString('base64url');
  const bob = randomBytes(24).toString('base64url');
  const roomy = { requestsPerSecond: 100_000, burst: 100_000, maxSessions: 10_000, maxInFlight: 1_000 };
  server = await startServer('ours', {
    toolsets: ['diagnostics'],
    config: {
      auth: { tokens: [{ token: alice, principal: 'alice', limits: roomy }, { token: bob, principal: 'bob', limits: roomy }] },
      sessions: { idleTimeoutMs: IDLE_TIMEOUT_MS, hibernateAfterMs: 5_000, toolTimeoutsMs: { hang: 1_000 }, deadlineGraceMs: 500 },
    },
  });
  process.stderr.write(`soak: ${minutes} min against ${server.url} (pid ${server.pid}); warm-up ${Math.round(warmupMs / 1000)} s\n`);

  const t0 = Date.now();
  const samples: Sample[] = [];
  const sampler = setInterval(async () => {
    const rss = server.rss();
    const h = await server.health(2_000);
    if (rss !== undefined) samples.push({ t: Date.now() - t0, rssMb: rss / 1048576, sessions: h?.sessions.total, threads: h?.threads });
  }, 2_000);

  const loops = [
    ...Array.from({ length: 6 }, (_, i) => normalCaller(i % 2 ? alice : bob, i)),
    crasher(alice),
    hanger(bob),
    malformed(alice, bob),
    abandoner(bob),
    streamer(alice),
  ];
  const progress = setInterval(() => {
    const last = samples.at(-1);
    process.stderr.write(
      `soak: ${Math.round((Date.now() - t0) / 1000)} s, ok ${tally.ok}, expected errors ${tally.expectedErrors}, lost ${tally.lost}, misrouted ${tally.misrouted}, unexpected ${tally.unexpected}` +
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
  const finalRss = server.rss();
  const health = await server.health();
  const alive = !server.exited && health?.status === 'ok';
  await server.stop();

  const warm = samples.filter((s) => s.t >= warmupMs && s.t < warmupMs + windowMs).map((s) => s.rssMb);
  const end = samples.filter((s) => s.t > endedAt - windowMs && s.t <= endedAt).map((s) => s.rssMb);
  const warmRss = mean(warm);
  const endRss = mean(end);
  const growth = (endRss - warmRss) / warmRss;
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const summary = {
    minutes,
    warmupSeconds: Math.round(warmupMs / 1000),
    windowSeconds: Math.round(windowMs / 1000),
    requests: tally.ok + tally.expectedErrors + tally.lost + tally.misrouted + tally.unexpected,
    ok: tally.ok,
    expectedErrors: tally.expectedErrors,
    lost: tally.lost,
    misrouted: tally.misrouted,
    unexpected: tally.unexpected,
    rssWarmMb: Number(warmRss.toFixed(1)),
    rssEndMb: Number(endRss.toFixed(1)),
    rssGrowthPct: Number((growth * 100).toFixed(1)),
    rssPeakMb: Number(peak.toFixed(1)),
    rssAfterSettleMb: settleMs > 0 && finalRss !== undefined ? Number((finalRss / 1048576).toFixed(1)) : undefined,
    serverAlive: alive,
    byKind: Object.fromEntries([...byKind].sort()),
    problems: tally.problems,
    samples: samples.map((s) => ({ t: Math.round(s.t / 1000), rssMb: Number(s.rssMb.toFixed(1)), sessions: s.sessions, threads: s.threads })),
  };
  if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2));
  const pass = tally.lost === 0 && tally.misrouted === 0 && alive && Math.abs(growth) <= 0.1;
  process.stdout.write(
    [
      `soak ${minutes} min: ${summary.requests} requests — ok ${summary.ok}, expected errors ${summary.expectedErrors}, lost ${summary.lost}, misrouted ${summary.misrouted}, unexpected ${summary.unexpected}`,
      `RSS after warm-up ${summary.rssWarmMb} MB, at the end ${summary.rssEndMb} MB (${summary.rssGrowthPct >= 0 ? '+' : ''}${summary.rssGrowthPct}%), peak ${summary.rssPeakMb} MB` +
        (summary.rssAfterSettleMb !== undefined ? `, after settling ${summary.rssAfterSettleMb} MB` : ''),
      `server ${alive ? 'up' : 'DOWN'} at the end; verdict: ${pass ? 'PASS' : 'FAIL'}`,
      ...(tally.problems.length ? ['problems:', ...tally.problems.slice(0, 20).map((p) => `  ${p}`)] : []),
    ].join('\n') + '\n',
  );
  process.exitCode = pass ? 0 : 1;
}

main().catch(async (err) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
  await server?.kill();
  process.exit(2);
});
