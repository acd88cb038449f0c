/**
 * cluster: mcp-actors in cluster mode, a nats-server (JetStream) and 3 nodes on this machine, each
 * its own child process; mcp-actors only (the SDK server has no cluster mode).
 *
 * - Forwarding overhead: a session opened on node A; `echo` calls one at a time, alternately
 *   through A (local) and through B (relayed to A over NATS); p50 and p99 of each, and the gap.
 * - Throughput: sessions × callers for a fixed window, every call through node A with the sessions
 *   opened there (no relaying), vs the sessions opened round robin over the nodes and every call
 *   sent to the next node in turn (2 in 3 relayed), as a load balancer without stickiness does.
 * - Failover: two sessions owned by node X, one with a caller busy through node B, one idle; X is
 *   SIGKILLed; from the kill to each one's first successful `whoami` (retrying NODE_LOST, other
 *   503s and connection errors), and whether its `executed` counter (ctx.state) carried on. A new
 *   node then takes X's place.
 */
import type { HttpClient } from '../loadgen/reply.js';
import { createHttpClient } from '../loadgen/http-client.js';
import { classifyResponse } from '../loadgen/session.js';
import { bump } from '../loadgen/stats.js';
import { startCluster, type ClusterProcesses } from '../servers.js';
import { ACCEPT, openSession, PROTOCOL_VERSION, request, send } from '../support/mcp-http.js';
import type { Goal, Metric, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, pct, Series, sleep, toolCall, waitForHealth } from './util.js';

const NODES = 3;
const NO_BASELINE = 'the SDK server has no cluster mode';
const CALL_TIMEOUT_MS = 10_000;
/** A failover that has not answered by then is reported as not recovered. */
const GIVE_UP_MS = 15_000;
const ECHO = toolCall('echo', { text: 'hello' });

function plan(quick: boolean) {
  return quick
    ? { warmupCalls: 20, calls: 50, sessions: 4, perSession: 2, warmupSec: 0.5, windowSec: 1, kills: 1 }
    : { warmupCalls: 100, calls: 500, sessions: 20, perSession: 2, warmupSec: 1, windowSec: 4, kills: 2 };
}
type Plan = ReturnType<typeof plan>;

// ---- sessions called through any node ------------------------------------------------------

interface Session {
  id: string;
  /** The node it was opened on (its owner until a failover). */
  url: string;
  headers: Readonly<Record<string, string>>;
  next: number;
}

async function open(url: string): Promise<Session> {
  const id = await openSession(url);
  return { id, url, next: 1, headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': PROTOCOL_VERSION, 'mcp-session-id': id } };
}

const end = (url: string, session: string) => send(url, undefined, { session, method: 'DELETE' }).catch(() => undefined);

/** The load generator's raw keep-alive HTTP client, one per node: `echo` for any session through any node. */
class Via {
  private readonly clients = new Map<string, HttpClient>();

  async echo(url: string, s: Session): Promise<{ ms: number; error: string | null }> {
    let c = this.clients.get(url);
    if (!c) this.clients.set(url, (c = createHttpClient(new URL(url), { maxSockets: 64 })));
    const id = s.next++;
    const t0 = performance.now();
    const o = await c.exchange({ method: 'POST', headers: s.headers, body: `${ECHO.prefix}${id}}`, expectId: id, timeoutMs: CALL_TIMEOUT_MS });
    const ms = performance.now() - t0;
    return { ms, error: !o.ok ? o.kind : o.message === undefined ? 'bad_response' : (classifyResponse(o.message)?.kind ?? null) };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

// ---- forwarding overhead and throughput ----------------------------------------------------

/** `calls` echo pairs on one session opened on `local`: one through `local`, one through `remote` (after `warmupCalls` pairs). */
async function overhead(via: Via, local: string, remote: string, p: Plan) {
  const s = await open(local);
  const ms = { local: [] as number[], forwarded: [] as number[] };
  const errors: Record<string, number> = {};
  try {
    for (let i = 0; i < p.warmupCalls + p.calls; i++) {
      for (const [url, into] of [[local, ms.local], [remote, ms.forwarded]] as const) {
        const r = await via.echo(url, s);
        if (r.error) bump(errors, r.error);
        else if (i >= p.warmupCalls) into.push(r.ms);
      }
    }
  } finally {
    await end(local, s.id);
  }
  return { ...ms, errors };
}

/** `sessions` sessions opened on node 0 (`spread`: round robin over the nodes), each activated with one call. */
async function openSet(via: Via, urls: string[], spread: boolean, p: Plan): Promise<Session[]> {
  const sessions = await Promise.all(Array.from({ length: p.sessions }, (_, i) => open(urls[spread ? i % urls.length : 0]!)));
  await Promise.all(sessions.map((s) => via.echo(s.url, s)));
  return sessions;
}

/** Closed loop: `perSession` callers per session, each call through node 0 or (`spread`) the next node in turn; ok calls per second in the window. */
async function throughput(via: Via, urls: string[], sessions: Session[], spread: boolean, p: Plan) {
  let turn = 0;
  let ok = 0;
  let measuring = false;
  let stop = false;
  const errors: Record<string, number> = {};
  const caller = async (s: Session) => {
    while (!stop) {
      const r = await via.echo(urls[spread ? turn++ % urls.length : 0]!, s);
      if (r.error) bump(errors, r.error);
      else if (measuring) ok++;
    }
  };
  const callers = Array.from({ length: sessions.length * p.perSession }, (_, j) => caller(sessions[j % sessions.length]!));
  await sleep(p.warmupSec * 1000);
  measuring = true;
  const t0 = performance.now();
  await sleep(p.windowSec * 1000);
  measuring = false;
  const sec = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(callers);
  return { rps: ok / sec, errors };
}

// ---- failover --------------------------------------------------------------------------------

/** whoami through `url`: the session's executed counter, or why not (error code, HTTP status, connection error). */
async function whoami(url: string, session: string): Promise<number | string> {
  try {
    const r = await send(url, request('tools/call', { name: 'whoami', arguments: {} }), { session, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    const sc = r.json?.result?.structuredContent;
    if (r.status === 200 && sc?.sessionId === session && typeof sc.executed === 'number') return sc.executed;
    if (r.status === 200 && sc) return `misrouted (${JSON.stringify(sc).slice(0, 120)})`;
    return r.json?.error?.data?.code ?? `http_${r.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.name === 'TimeoutError' ? 'timeout' : `conn_${e.cause?.code ?? e.name}`;
  }
}

interface Attempt {
  start: number;
  end: number;
  r: number | string;
}

/**
 * Calls whoami on one session again and again (10 ms pause after a failure) until a call sent at
 * or after `since` (set later, e.g. once the node is gone) answers, or until the deadline.
 */
function loop(url: string, session: string) {
  const calls: Attempt[] = [];
  const l = { calls, since: Infinity, deadline: Infinity, done: Promise.resolve() };
  l.done = (async () => {
    for (;;) {
      const start = performance.now();
      const r = await whoami(url, session);
      calls.push({ start, end: performance.now(), r });
      if ((typeof r === 'number' && start >= l.since) || performance.now() > l.deadline) return;
      if (typeof r !== 'number') await sleep(10);
    }
  })();
  return l;
}

interface Recovery {
  /** ms from the SIGKILL to the first successful answer to a call sent after the node was gone. */
  ms?: number;
  /** The executed counter before the kill and in that answer. */
  before: number;
  after?: number;
  /** Kept: after = before + 1, or + 2 when a call was in flight at the kill (its owner may have run it). */
  kept: boolean;
  errors: Record<string, number>;
  /** The 6 calls after the failover that did not count on by one. */
  later: string[];
}

function recovery(calls: Attempt[], before: number, killAt: number, goneAt: number): Recovery {
  const ok = (a: Attempt): a is Attempt & { r: number } => typeof a.r === 'number';
  const prior = calls.filter((a) => a.start < goneAt);
  const last = Math.max(before, ...prior.filter(ok).map((a) => a.r));
  const inFlight = prior.some((a) => !ok(a)) ? 1 : 0;
  // The loop stops at the first answer to a call sent after the node was gone (or at the deadline).
  const answer = calls.at(-1);
  const first = answer && answer.start >= goneAt && ok(answer) ? answer : undefined;
  const errors: Record<string, number> = {};
  for (const a of calls) if (!ok(a)) bump(errors, String(a.r));
  return {
    ms: first && first.end - killAt,
    before: last,
    after: first?.r,
    kept: first !== undefined && first.r > last && first.r <= last + 1 + inFlight,
    errors,
    later: [],
  };
}

/** Kills the node in slot `victim` under two of its sessions (one busy, one idle) and replaces it. */
async function failover(cluster: ClusterProcesses, victim: number) {
  const [x, b, c] = [0, 1, 2].map((d) => cluster.nodes[(victim + d) % NODES]!);
  const busy = await openSession(x.url);
  const idle = await openSession(x.url);
  let idleBefore = 0;
  for (const url of [x.url, b.url, c.url]) {
    for (const s of [busy, idle]) {
      const r = await whoami(url, s);
      if (typeof r !== 'number') throw new Error(`whoami before the kill failed: ${r}`);
      if (s === idle) idleBefore = r;
    }
  }
  const busyLoop = loop(b.url, busy);
  await sleep(300);
  const killAt = performance.now();
  await x.kill();
  const goneAt = performance.now();
  const idleLoop = loop(c.url, idle);
  for (const l of [busyLoop, idleLoop]) {
    l.since = goneAt;
    l.deadline = killAt + GIVE_UP_MS;
  }
  await Promise.all([busyLoop.done, idleLoop.done]);
  const result = { busy: recovery(busyLoop.calls, 0, killAt, goneAt), idle: recovery(idleLoop.calls, idleBefore, killAt, goneAt), goneMs: goneAt - killAt };
  // Afterwards: both survivors agree on the new owner, and the counter goes on one by one.
  for (const [s, r] of [[busy, result.busy], [idle, result.idle]] as const) {
    let prev = r.after;
    for (let i = 0; i < 6 && prev !== undefined; i++) {
      const n = await whoami((i % 2 ? c : b).url, s);
      if (n !== prev + 1) r.later.push(`call ${i + 1} after the failover: ${n} (expected ${prev + 1})`);
      prev = typeof n === 'number' ? n : prev + 1;
    }
  }
  await Promise.all([end(b.url, busy), end(b.url, idle)]);
  await cluster.respawn(victim);
  return result;
}

// ---- the scenario ----------------------------------------------------------------------------

export const cluster: Scenario = {
  name: 'cluster',
  title: 'Cluster mode: forwarding overhead, throughput, failover',
  definition:
    'mcp-actors only (the SDK server has no cluster mode): a nats-server with JetStream and 3 nodes (`serve --cluster`, toolsets everything and ' +
    'diagnostics), all on this machine. **This machine has 2 cores shared by the three nodes, nats-server and the load generator: it cannot show ' +
    'throughput scaling with nodes; the scenario shows the cost of relaying and that failover is correct.** ' +
    '"Local / forwarded": one session opened on node A, `echo` called one at a time, alternately through A and through B (B relays the request ' +
    'to A over NATS and the response back), 100 pairs of warm-up, then 500 pairs measured; "overhead" = forwarded − local (p50, p99). The pair of ' +
    'nodes rotates each round. "Throughput" 20×40: 20 sessions, 2 callers each (closed loop, `echo`), 1 s warm-up then 4 s measured; "one node" = the sessions ' +
    'opened on node A and every call through A; "round robin" = the sessions opened round robin over the 3 nodes and every call sent to the next ' +
    'node in turn (2 in 3 relayed); the same sessions every round. "Failover" (after the other rounds; 2 kills a round, the victim rotating): two ' +
    'sessions opened on node X and called through every node, one then with a caller looping `whoami` through node B, the other idle; X is ' +
    'SIGKILLed; figure = ms from the kill to the first successful `whoami` sent after X was gone, retrying NODE_LOST, other 503s and connection ' +
    'errors (busy: through B, which had a request in flight to X; idle: through C); "state kept" = that answer\'s `executed` counter (kept in ' +
    'ctx.state) carried on from before the kill (+1, or +2 when a request was in flight), and 6 more calls through B and C count on one by one; ' +
    'then a new node takes X\'s place. `--quick`: 20 + 50 pairs, 4 sessions with 2 callers each, 0.5 + 1 s, 1 kill.',
  estimateSec(rounds, quick) {
    // Measured here: ~12 s to start the cluster and open and activate the sessions; ~3 ms per call; a kill ~4.5 s (~1.5 s to fail over, ~2 s for the new node).
    const p = plan(quick);
    return 12 + rounds * (2 * (p.warmupCalls + p.calls) * 0.003 + 2 * (p.warmupSec + p.windowSec + 0.5) + p.kills * 4.5);
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const p = plan(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: Record<string, unknown[]> = { overhead: [], throughput: [], failover: [] };
    const cl = await startCluster(NODES, { toolsets: ['everything', 'diagnostics'] }, (o) => ctx.start('ours', o));
    const via = new Via();
    const urls = () => cl.nodes.map((n) => n.url);
    const failures = (tag: string, errors: Record<string, number>) => {
      if (Object.keys(errors).length > 0) notes.push(`${tag}: failed calls ${JSON.stringify(errors)}`);
    };
    try {
      ctx.log(`nats-server ${cl.nats.url}, nodes ${urls().join(' ')}`);
      const sets = { one: await openSet(via, urls(), false, p), spread: await openSet(via, urls(), true, p) };
      await Promise.all(cl.nodes.map((n) => waitForHealth(n, (h) => h.warmPool.booting === 0, 10_000)));
      for (let round = 0; round < ctx.rounds; round++) {
        const tag = `round ${round + 1}/${ctx.rounds}`;
        const [a, b] = [round % NODES, (round + 1) % NODES];
        ctx.log(`${tag}: ${p.calls} echo pairs on a session of node ${a + 1}, local and through node ${b + 1}`);
        const o = await overhead(via, urls()[a]!, urls()[b]!, p);
        failures(`${tag} overhead`, o.errors);
        const stats = { local: { p50: pct(o.local, 50), p99: pct(o.local, 99) }, forwarded: { p50: pct(o.forwarded, 50), p99: pct(o.forwarded, 99) } };
        for (const k of ['local', 'forwarded'] as const) for (const q of ['p50', 'p99'] as const) series.add(`cluster.call.${k}.${q}`, 'ours', stats[k][q]);
        series.add('cluster.call.overhead.p50', 'ours', stats.forwarded.p50 - stats.local.p50);
        series.add('cluster.call.overhead.p99', 'ours', stats.forwarded.p99 - stats.local.p99);
        raw.overhead!.push({ round, nodes: [a, b], ...stats, errors: o.errors });

        for (const mode of round % 2 === 0 ? (['one', 'spread'] as const) : (['spread', 'one'] as const)) {
          ctx.log(`${tag}: throughput, ${mode === 'one' ? 'one node' : 'round robin'}`);
          const t = await throughput(via, urls(), sets[mode], mode === 'spread', p);
          failures(`${tag} throughput ${mode}`, t.errors);
          series.add(`cluster.rps.${mode}`, 'ours', t.rps);
          raw.throughput!.push({ round, mode, rps: t.rps, errors: t.errors });
        }
        const [one, spread] = [series.get('cluster.rps.one', 'ours').at(-1), series.get('cluster.rps.spread', 'ours').at(-1)];
        if (one && spread) series.add('cluster.rps.ratio', 'ours', spread / one);
      }
      await Promise.all([...sets.one, ...sets.spread].map((s) => end(s.url, s.id)));

      let kept = 0;
      let total = 0;
      for (let round = 0; round < ctx.rounds; round++) {
        for (let k = 0; k < p.kills; k++) {
          const victim = (round * p.kills + k) % NODES;
          ctx.log(`round ${round + 1}/${ctx.rounds}: SIGKILL node ${victim + 1} (kill ${k + 1}/${p.kills})`);
          try {
            const f = await failover(cl, victim);
            raw.failover!.push({ round, victim, ...f });
            for (const w of ['busy', 'idle'] as const) {
              const r = f[w];
              const tag = `round ${round + 1}, kill ${k + 1}: the ${w} session`;
              total++;
              if (r.kept && r.later.length === 0) kept++;
              if (r.ms !== undefined) series.add(`cluster.failover.${w}`, 'ours', r.ms);
              else notes.push(`${tag} did not answer within ${GIVE_UP_MS / 1000} s of the kill (${JSON.stringify(r.errors)})`);
              if (!r.kept && r.after !== undefined) notes.push(`${tag}'s counter went from ${r.before} to ${r.after} across the failover`);
              for (const line of r.later) notes.push(`${tag}, ${line}`);
            }
          } catch (err) {
            total += 2;
            notes.push(`round ${round + 1}, kill ${k + 1}: ${(err as Error).message}`);
          }
        }
      }
      if (total > 0) series.add('cluster.failover.kept', 'ours', (100 * kept) / total);
      const retried: Record<string, number> = {};
      for (const f of raw.failover as Array<Record<'busy' | 'idle', Recovery>>) for (const w of ['busy', 'idle'] as const) for (const [k, n] of Object.entries(f[w].errors)) bump(retried, `${w} ${k}`, n);
      notes.push(`Failover: ${total / 2} kills; failed attempts retried before the first answer, all kills together: ${JSON.stringify(retried)}.`);
    } finally {
      via.close();
      await cl.stop();
    }

    const ids = ['local.p50', 'local.p99', 'forwarded.p50', 'forwarded.p99', 'overhead.p50', 'overhead.p99'].map((s) => `cluster.call.${s}`);
    for (const id of [...ids, 'cluster.rps.one', 'cluster.rps.spread', 'cluster.rps.ratio', 'cluster.failover.busy', 'cluster.failover.idle', 'cluster.failover.kept']) {
      series.skip(id, 'baseline', NO_BASELINE);
    }
    const shape = `${p.sessions}×${p.sessions * p.perSession}`;
    const metrics = [
      series.metric('cluster.call.local.p50', 'echo on one session through its own node (local): p50', 'ms', 'lower'),
      series.metric('cluster.call.forwarded.p50', 'echo on that session through another node (forwarded over NATS): p50', 'ms', 'lower'),
      series.metric('cluster.call.overhead.p50', 'forwarding overhead p50 (forwarded − local)', 'ms', 'lower', 'headline'),
      series.metric('cluster.call.local.p99', 'echo local: p99', 'ms', 'lower'),
      series.metric('cluster.call.forwarded.p99', 'echo forwarded: p99', 'ms', 'lower'),
      series.metric('cluster.call.overhead.p99', 'forwarding overhead p99 (forwarded − local)', 'ms', 'lower'),
      series.metric('cluster.rps.one', `echo ${shape} throughput, every call through one node`, 'req/s', 'higher'),
      series.metric('cluster.rps.spread', `echo ${shape} throughput, calls round robin over 3 nodes`, 'req/s', 'higher'),
      series.metric('cluster.rps.ratio', 'round robin ÷ one node (2 cores: not a scaling figure)', '×', 'higher'),
      series.metric('cluster.failover.busy', 'failover, a caller busy through another node: SIGKILL → first answer', 'ms', 'lower', { panel: 'timing', label: 'cluster failover' }),
      series.metric('cluster.failover.idle', 'failover, an idle session: SIGKILL → first answer', 'ms', 'lower'),
      series.metric('cluster.failover.kept', 'failovers with the session state carried on', '%', 'higher'),
    ];
    notes.push(
      'Failover figures are medians over every kill of the run (not per round). What a client sees meanwhile: a request in flight to the killed ' +
        'node is answered NODE_LOST at the relaying node\'s next ping (cluster.pingMs); requests for its sessions are answered 503 CLUSTER_UNAVAILABLE ' +
        'until its heartbeat is older than cluster.nodeTimeoutMs, and then taken over (the counts by code are above).',
    );
    return { metrics, goals: clusterGoals(metrics), notes, rounds: ctx.rounds, raw };
  },
};

/** The goals: forwarded echo p50 overhead ≤ 1 ms (goal 0.5 ms); failover ≤ 2 s with the state kept (judged on the slowest kill). */
export function clusterGoals(metrics: Metric[]): Goal[] {
  const cell = (id: string) => metrics.find((m) => m.id === id)?.ours;
  const overhead = cell('cluster.call.overhead.p50');
  const [local, forwarded] = [cell('cluster.call.local.p50'), cell('cluster.call.forwarded.p50')];
  const [busy, idle, kept] = [cell('cluster.failover.busy'), cell('cluster.failover.idle'), cell('cluster.failover.kept')];
  const goals: Goal[] = [];
  goals.push(
    isFigure(overhead) && isFigure(local) && isFigure(forwarded)
      ? {
          id: 'cluster-forward-overhead-p50',
          text: 'cluster: a forwarded echo\'s p50 ≤ 1 ms over a local one (goal 0.5 ms)',
          measured: `+${fmt(overhead.median)} ms (forwarded ${fmt(forwarded.median)} vs local ${fmt(local.median)} ms); goal 0.5 ms: ${overhead.median <= 0.5 ? 'reached' : 'not reached'}`,
          met: overhead.median <= 1,
        }
      : { id: 'cluster-forward-overhead-p50', text: 'cluster: a forwarded echo\'s p50 ≤ 1 ms over a local one (goal 0.5 ms)', measured: 'not measured', met: null },
  );
  const text = 'cluster: failover ≤ 2 s (owner SIGKILLed → first answer through another node, state kept), every kill';
  if (isFigure(busy) && isFigure(idle) && isFigure(kept)) {
    const worst = Math.max(busy.max, idle.max);
    goals.push({
      id: 'cluster-failover',
      text,
      measured: `slowest ${fmt(worst)} ms (busy caller median ${fmt(busy.median)} ms, idle session ${fmt(idle.median)} ms); state kept in ${fmt(kept.median)} % of failovers`,
      met: worst <= 2_000 && kept.median === 100,
    });
  } else goals.push({ id: 'cluster-failover', text, measured: 'not measured', met: null });
  return goals;
}
