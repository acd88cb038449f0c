/**
 * cold: what users hit right after a server starts — no warm-up of any kind, on purpose.
 *
 * Every measurement starts a NEW server process (ours as shipped, or the SDK baseline) and begins
 * the moment it logs its "listening" line (ready); starting the process is outside the window,
 * session initialization is inside it:
 * - fresh-start curve (MCP 2025-11-25 sessions): at ready, S sessions initialize at once and C
 *   callers loop `echo` over them (the echo scenario's 20×20 and 100×50 shapes); completed echo
 *   results are counted per second for the first 10 s;
 * - bursts of new workflows (2025-11-25): W waves, each S new sessions at once, each session
 *   initialize + K echo calls + DELETE; the next wave starts when the previous one has finished;
 *   makespan of all waves, and per session the time from its start (before initialize) to its
 *   first tools/call result;
 * - the same bursts in MCP 2026-07-28 with state handles (open_handle + K echo{handle} +
 *   close_handle, as modern.ts's workflow()), and a 2026 fresh-start curve (each caller opens a
 *   handle, then loops echo{handle}).
 * - mcp-actors with shared start threads (`warmPool.sharedStartThreads`, opt-in, off as shipped),
 *   on the 2025 curves and bursts, beside the same baseline figures: what that trade buys.
 */
import { prepareCalls, validateMix, type PreparedCall } from '../loadgen/scenario.js';
import { HttpDriver, type BenchSession } from '../loadgen/session.js';
import type { ServerKind, ServerProcess } from '../servers.js';
import { modernTool, type RawResponse } from '../support/mcp-http.js';
import type { Goal, Metric, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { figure, fmt, isFigure, openSessions, pct, Series, sleep, timedCall, toolCall } from './util.js';

const MODERN_VERSION = '2026-07-28';

interface FreshShape {
  sessions: number;
  callers: number;
}
interface BurstShape {
  /** New sessions (workflows) per wave, all at once. */
  sessions: number;
  /** echo calls per session. */
  calls: number;
}

interface Plan {
  /** Seconds counted after ready in a fresh-start curve. */
  windowSec: number;
  fresh: FreshShape[];
  bursts: BurstShape[];
  waves: number;
  /** Concurrent callers of the 2026 fresh-start curve. */
  modernCallers: number;
  /**
   * Rounds of each part (at most the --rounds value): fewer for the 10 s curves and the 2026 parts
   * than for the 2025 bursts, to keep the scenario within ~4 minutes.
   */
  rounds: { curves: number; modernCurve: number; bursts: number; modernBursts: number; shared: number };
}

/** Rounds of the parts with fewer rounds than --rounds in a full run (the 2025 bursts run them all). */
const ROUNDS = { curves: 2, modernCurve: 1, modernBursts: 2, shared: 2 } as const;

/**
 * The opt-in configuration measured beside the shipped one: a new actor that finds no spare runs
 * its first requests on one of 2 shared start threads (many actors per isolate, the way a
 * single-threaded server runs) instead of waiting for a boot, and moves to a thread of its own
 * later. Off as shipped because slot mates share a fate while they share (README, Known limits).
 */
export const SHARED_START_CONFIG = { warmPool: { sharedStartThreads: 2 } } as const;

export function coldPlan(quick: boolean, rounds: number): Plan {
  return quick
    ? {
        windowSec: 2,
        fresh: [
          { sessions: 4, callers: 4 },
          { sessions: 10, callers: 5 },
        ],
        bursts: [{ sessions: 5, calls: 3 }],
        waves: 2,
        modernCallers: 4,
        rounds: { curves: 1, modernCurve: 1, bursts: 1, modernBursts: 1, shared: 1 },
      }
    : {
        windowSec: 10,
        fresh: [
          { sessions: 20, callers: 20 },
          { sessions: 100, callers: 50 },
        ],
        bursts: [
          { sessions: 20, calls: 10 },
          { sessions: 100, calls: 5 },
        ],
        waves: 5,
        modernCallers: 20,
        rounds: {
          curves: Math.min(rounds, ROUNDS.curves),
          modernCurve: Math.min(rounds, ROUNDS.modernCurve),
          bursts: rounds,
          modernBursts: Math.min(rounds, ROUNDS.modernBursts),
          shared: Math.min(rounds, ROUNDS.shared),
        },
      };
}

const freshId = (s: FreshShape) => `${s.sessions}x${s.callers}`;
const freshLabel = (s: FreshShape) => `${s.sessions}×${s.callers}`;
const burstId = (s: BurstShape) => `${s.sessions}x${s.calls}`;
const burstLabel = (s: BurstShape) => `${s.sessions}×${s.calls}`;

/** The spans reported from a curve: second 1, seconds 1–4, and the whole window (deduplicated). */
export function spans(windowSec: number): number[] {
  return [...new Set([1, Math.min(4, windowSec), windowSec])];
}
const spanId = (n: number) => (n === 1 ? 's1' : `s1-${n}`);
const spanLabel = (n: number) => (n === 1 ? 'second 1' : `seconds 1–${n}`);

/** Per-call timeout: long enough for a cold thread on a loaded machine, short enough to stay bounded. */
const CALL_TIMEOUT_MS = 20_000;
/** A wave that has not finished after this long fails the measurement (bounded run time). */
const WAVE_TIMEOUT_MS = 60_000;

export interface Curve {
  /** Completed ok echo results in each second after ready (index 0 = second 1). */
  perSecond: number[];
  /** Failed calls per second. */
  errorsPerSecond: number[];
  /** ms from ready to the first ok echo result (undefined: none in the window). */
  firstResultMs: number | undefined;
  /** Sessions (or handles) that failed to open within the window, by error kind. */
  openErrors: Record<string, number>;
  /** Sessions (or handles) still opening when the window ended (cut off by the end of the measurement). */
  stillOpening: number;
  /** Calls that failed, by kind. */
  errorsByKind: Record<string, number>;
}

/** Counts completions into per-second bins from `t0` until `t0 + windowSec`. */
class Bins {
  readonly ok: number[];
  readonly errors: number[];
  readonly errorsByKind: Record<string, number> = {};
  firstMs: number | undefined;
  readonly openErrors: Record<string, number> = {};
  stillOpening = 0;
  constructor(
    private readonly t0: number,
    readonly windowSec: number,
  ) {
    this.ok = new Array<number>(windowSec).fill(0);
    this.errors = new Array<number>(windowSec).fill(0);
  }
  get end(): number {
    return this.t0 + this.windowSec * 1000;
  }
  open(): boolean {
    return performance.now() < this.end;
  }
  /** A call completed now with `kind` (null = ok); completions after the window are not counted. */
  record(kind: string | null): void {
    const ms = performance.now() - this.t0;
    const b = Math.floor(ms / 1000);
    if (b >= this.windowSec) return;
    if (kind === null) {
      this.ok[b]!++;
      if (this.firstMs === undefined) this.firstMs = ms;
    } else {
      this.errors[b]!++;
      this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
    }
  }
  /** A session or handle failed to open now: an error within the window, else cut off by its end. */
  openFailed(kind: string, n = 1): void {
    if (this.open()) this.openErrors[kind] = (this.openErrors[kind] ?? 0) + n;
    else this.stillOpening += n;
  }
  curve(): Curve {
    return {
      perSecond: this.ok,
      errorsPerSecond: this.errors,
      firstResultMs: this.firstMs,
      openErrors: this.openErrors,
      stillOpening: this.stillOpening,
      errorsByKind: this.errorsByKind,
    };
  }
}

/**
 * Fresh-start curve, 2025-11-25 sessions: at `t0` (ready) all `shape.sessions` sessions start
 * initializing at once; each of the `shape.callers` callers starts calling echo as soon as its own
 * sessions are open (callers spread over sessions as the echo scenario does: with more sessions
 * than callers each caller takes turns over its own share).
 */
async function legacyCurve(server: ServerProcess, shape: FreshShape, windowSec: number, t0: number): Promise<Curve> {
  const bins = new Bins(t0, windowSec);
  const driver = new HttpDriver({ url: server.url, concurrency: Math.max(shape.sessions, shape.callers), openParallelism: 1 });
  const echo = toolCall('echo', { text: 'hello' });
  const callers = (async () => {
    const opening: Array<Promise<BenchSession | undefined>> = Array.from({ length: shape.sessions }, () =>
      driver.open(1, CALL_TIMEOUT_MS).then((o) => {
        for (const [k, v] of Object.entries(o.errors)) bins.openFailed(k, v);
        return o.sessions[0];
      }),
    );
    const share = (i: number): number[] =>
      shape.sessions > shape.callers ? Array.from({ length: shape.sessions }, (_, j) => j).filter((j) => j % shape.callers === i) : [i % shape.sessions];
    await Promise.all(
      Array.from({ length: shape.callers }, async (_, i) => {
        const mine = (await Promise.all(share(i).map((j) => opening[j]!))).filter((s): s is BenchSession => s !== undefined);
        if (mine.length === 0) return;
        let k = 0;
        while (bins.open() && !server.exited) {
          const err = await mine[k++ % mine.length]!.call(echo, CALL_TIMEOUT_MS);
          bins.record(err === null ? null : err.kind);
        }
      }),
    );
  })();
  try {
    await windowEnd(bins, callers, server);
  } finally {
    // The server is gone: the DELETEs fail at once, the sockets close, calls still in flight fail
    // (after the window: not counted).
    await Promise.race([driver.close(), sleep(10_000)]);
    await Promise.race([callers, sleep(10_000)]);
  }
  return bins.curve();
}

/**
 * Waits until the window is over (or every caller has stopped), then kills the server: calls in
 * flight at the end of the window would not count, and waiting for them (a session whose thread
 * is still booting, DELETEs of 100 sessions) only makes the scenario longer.
 */
async function windowEnd(bins: Bins, callers: Promise<unknown>, server: ServerProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([callers.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, bins.end - performance.now()))))]);
  clearTimeout(timer);
  if (server.exited) throw new Error(`the ${server.kind} server exited during the window: ${server.tail()}`);
  killedAtWindowEnd.add(server);
  await server.kill();
}

/** Servers a curve killed at the end of its window (not a crash). */
const killedAtWindowEnd = new WeakSet<ServerProcess>();

const modernOk = (r: RawResponse | undefined): boolean => r !== undefined && r.status === 200 && r.json?.result !== undefined && r.json.result.isError !== true;

/** open_handle (2026-07-28); the handle, or the error kind. */
async function openHandle(url: string): Promise<{ handle: string } | { kind: string }> {
  const r = await modernTool(url, 'open_handle', {}, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch((e: unknown) => ({ error: e }));
  if ('error' in r) return { kind: (r.error as Error).name === 'TimeoutError' ? 'open_timeout' : 'open_conn' };
  const handle = r.json?.result?.structuredContent?.handle as unknown;
  if (r.status !== 200) return { kind: `open_http_${r.status}` };
  if (typeof handle !== 'string') return { kind: r.json?.error ? `open_rpc_${r.json.error.code}` : 'open_no_handle' };
  return { handle };
}

async function closeHandle(url: string, handle: string): Promise<boolean> {
  const r = await modernTool(url, 'close_handle', { handle }, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(() => undefined);
  return modernOk(r);
}

/**
 * Fresh-start curve, 2026-07-28 with handles: at `t0` each of `callers` callers calls
 * open_handle, then loops echo{handle} (the load generator's 2026 requests) until the window
 * ends.
 */
async function modernCurve(server: ServerProcess, callers: number, windowSec: number, t0: number): Promise<Curve> {
  const bins = new Bins(t0, windowSec);
  const driver = new HttpDriver({ url: server.url, concurrency: callers, protocolVersion: MODERN_VERSION });
  const looping = (async () => {
    const { sessions } = await driver.open(callers, CALL_TIMEOUT_MS);
    await Promise.all(
      sessions.map(async (session, i) => {
        const opened = await openHandle(server.url);
        if ('kind' in opened) {
          bins.openFailed(opened.kind);
          return;
        }
        const call: PreparedCall = prepareCalls(validateMix([{ tool: 'echo', args: { text: `c${i}`, handle: opened.handle } }]), {
          protocolVersion: MODERN_VERSION,
        })[0]!;
        while (bins.open() && !server.exited) {
          const err = await session.call(call, CALL_TIMEOUT_MS);
          bins.record(err === null ? null : err.kind);
        }
      }),
    );
  })();
  // No close_handle: the server is killed at the end of the window (see windowEnd).
  try {
    await windowEnd(bins, looping, server);
  } finally {
    await driver.close();
    await Promise.race([looping, sleep(10_000)]);
  }
  return bins.curve();
}

export interface BurstResult {
  makespanMs: number;
  /** Per workflow that got one: ms from its start (before initialize / open_handle) to its first echo result. */
  firstResultMs: number[];
  /** Workflows with any failure (open, a call, the check, or close). */
  failed: number;
  failures: Record<string, number>;
  /** Each wave's wall time. */
  waveMs: number[];
}

/** One 2025-11-25 workflow: its own client — initialize + notifications/initialized, K echo calls, DELETE. */
async function legacyWorkflow(url: string, calls: number, fail: (kind: string) => void): Promise<number | undefined> {
  const t0 = performance.now();
  const client = await openSessions(url, 1, { parallelism: 1, concurrency: 1, timeoutMs: CALL_TIMEOUT_MS });
  let first: number | undefined;
  try {
    const s = client.sessions[0];
    if (!s) {
      fail(Object.keys(client.errors)[0] ?? 'init_failed');
      return undefined;
    }
    const echo = toolCall('echo', { text: 'hello' });
    for (let k = 0; k < calls; k++) {
      const r = await timedCall(s, echo, CALL_TIMEOUT_MS);
      if (r.kind !== null) {
        fail(r.kind);
        return first;
      }
      first ??= r.end - t0;
    }
    return first;
  } finally {
    await client.close();
  }
}

/** One 2026-07-28 workflow (as modern.ts's workflow()): open_handle, K echo{handle}, close_handle. */
async function modernWorkflow(url: string, calls: number, i: number, fail: (kind: string) => void): Promise<number | undefined> {
  const t0 = performance.now();
  const opened = await openHandle(url);
  if ('kind' in opened) {
    fail(opened.kind);
    return undefined;
  }
  let first: number | undefined;
  try {
    for (let c = 0; c < calls; c++) {
      const text = `w${i}-${c}`;
      const r = await modernTool(url, 'echo', { text, handle: opened.handle }, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(() => undefined);
      if (!modernOk(r) || r!.json.result.structuredContent?.text !== text) {
        fail(r === undefined ? 'call_failed' : r.status !== 200 ? `http_${r.status}` : r.json?.error ? `rpc_${r.json.error.code}` : 'bad_result');
        return first;
      }
      first ??= performance.now() - t0;
    }
    return first;
  } finally {
    if (!(await closeHandle(url, opened.handle))) fail('close_failed');
  }
}

/** W waves of S workflows at once; the next wave starts when the previous one has finished. */
async function bursts(
  shape: BurstShape,
  waves: number,
  workflow: (calls: number, i: number, fail: (kind: string) => void) => Promise<number | undefined>,
): Promise<BurstResult> {
  const firstResultMs: number[] = [];
  const failures: Record<string, number> = {};
  const waveMs: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  for (let w = 0; w < waves; w++) {
    const ws = performance.now();
    const wave = Promise.all(
      Array.from({ length: shape.sessions }, async (_, j) => {
        let bad = false;
        const fail = (kind: string) => {
          bad = true;
          failures[kind] = (failures[kind] ?? 0) + 1;
        };
        const first = await workflow(shape.calls, w * shape.sessions + j, fail).catch((e: unknown) => {
          fail(`threw: ${(e as Error).message}`);
          return undefined;
        });
        if (first !== undefined) firstResultMs.push(first);
        if (bad) failed++;
      }),
    );
    const finished = await Promise.race([wave.then(() => true), sleep(WAVE_TIMEOUT_MS).then(() => false)]);
    waveMs.push(performance.now() - ws);
    if (!finished) throw new Error(`wave ${w + 1} did not finish within ${WAVE_TIMEOUT_MS / 1000} s`);
  }
  return { makespanMs: performance.now() - t0, firstResultMs, failed, failures, waveMs };
}

/** Runs `measure` against a server started just for it; `t0` is the moment it reported ready. */
async function onFreshServer<T>(
  ctx: ScenarioContext,
  kind: ServerKind,
  measure: (server: ServerProcess, t0: number) => Promise<T>,
  config?: typeof SHARED_START_CONFIG,
): Promise<{ result: T; startMs: number }> {
  const server = await ctx.start(kind, { toolsets: ['diagnostics'], ...(config ? { config } : {}) });
  const t0 = performance.now();
  try {
    const result = await measure(server, t0);
    if (server.exited && !killedAtWindowEnd.has(server)) throw new Error(`the ${kind} server exited during the measurement: ${server.tail()}`);
    return { result, startMs: server.startMs };
  } finally {
    // A server used for one measurement only: nothing to drain gracefully.
    await server.kill();
  }
}

const sum = (xs: number[], n = xs.length) => xs.slice(0, n).reduce((a, b) => a + b, 0);
const countOf = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Median per index over several curves (the curve shown in the notes). */
function medianCurve(curves: number[][]): number[] {
  const len = Math.max(0, ...curves.map((c) => c.length));
  return Array.from({ length: len }, (_, i) => figure(curves.map((c) => c[i] ?? 0)).median);
}

export const cold: Scenario = {
  name: 'cold',
  title: 'Cold start: a fresh server, no warm-up',
  definition:
    'No warm-up of any kind, on purpose: every measurement starts a new server process (mcp-actors with its shipped configuration, or the SDK baseline) ' +
    'and begins the moment the server logs that it listens ("ready"); the process start itself is outside the window, session initialization inside it. ' +
    '"Fresh start S×C" (MCP 2025-11-25): at ready, all S sessions initialize at once and C callers loop `echo{text}` over them as soon as their ' +
    'own sessions are open (spread as in the echo scenario: at 100×50 each caller takes turns over its own 2 sessions); ok echo results are counted per second ' +
    'after ready; "req/s, seconds 1–4" = results in the first 4 s ÷ 4. "Burst S×K": W = 5 waves, each S new workflows at once, the next wave when the previous ' +
    'has finished; a 2025 workflow is its own client (new connection): initialize + notifications/initialized, K `echo` calls, DELETE; ' +
    'a 2026-07-28 workflow (no session, as in the modern scenario): `open_handle`, K `echo{handle}`, `close_handle` (HTTP keep-alive across workflows); ' +
    'makespan = wall time of all waves; first result = from a workflow\'s start (before initialize / open_handle) to its first echo result. ' +
    '"2026 fresh start": C callers each call open_handle at ready, then loop echo{handle}. At the end of a curve\'s window the server is killed ' +
    '(calls still in flight would not count). Rounds, to keep the scenario near 4 minutes: the 2025 bursts every round, the 2025 curves ' +
    `${ROUNDS.curves}, the 2026 bursts ${ROUNDS.modernBursts}, the 2026 curve ${ROUNDS.modernCurve} (fewer when --rounds is smaller); a new server for every measurement. ` +
    '"Shared start threads" rows: mcp-actors configured with `warmPool.sharedStartThreads: 2` (opt-in; off as shipped, see the README\'s Known limits) ' +
    `on the 2025 curves and bursts (${ROUNDS.shared} rounds), beside the same SDK baseline figures as the shipped rows. ` +
    '`--quick`: 2 s curves at 4×4 and 10×5 and with 4 callers (2026), bursts 5×3 in 2 waves (each era).',
  estimateSec(rounds, quick) {
    // Per measurement: a server start (~1.5 s ours, ~0.6 s the baseline), then the window or the
    // waves (~2.5 ms per 2025 call, ~5 ms per 2026 call, from runs on the shared 2-core box).
    const p = coldPlan(quick, rounds);
    const start = 1.1;
    const r = p.rounds;
    const curves = 2 * (r.curves * p.fresh.length + r.modernCurve) * (p.windowSec + start);
    const calls = p.bursts.reduce((a, b) => a + p.waves * b.sessions * b.calls, 0);
    const bursts = 2 * (r.bursts * (p.bursts.length * start + calls * 0.0025) + r.modernBursts * (p.bursts.length * start + calls * 0.005));
    // Shared start: ours only, the 2025 curves and bursts.
    const shared = r.shared * (p.fresh.length * (p.windowSec + start) + p.bursts.length * start + calls * 0.0025);
    return Math.round(curves + bursts + shared + 2);
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const plan = coldPlan(ctx.quick, ctx.rounds);
    const series = new Series();
    const notes: string[] = [];
    const raw: Array<Record<string, unknown>> = [];
    const curves = new Map<string, Record<ServerKind, number[][]>>();
    const keepCurve = (id: string, kind: ServerKind, perSecond: number[]) => {
      let c = curves.get(id);
      if (!c) curves.set(id, (c = { ours: [], baseline: [] }));
      c[kind].push(perSecond);
    };
    const startMs: Record<ServerKind, number[]> = { ours: [], baseline: [] };
    const winSpans = spans(plan.windowSec);

    const addCurve = (prefix: string, kind: ServerKind, c: Curve) => {
      for (const n of winSpans) series.add(`${prefix}.${spanId(n)}`, kind, sum(c.perSecond, n) / n);
      if (c.firstResultMs !== undefined) series.add(`${prefix}.first`, kind, c.firstResultMs);
      keepCurve(prefix, kind, c.perSecond);
    };
    const curveNotes = (tag: string, c: Curve) => {
      const errs = countOf(c.errorsByKind);
      if (errs > 0) notes.push(`${tag}: ${errs} echo calls failed in the window (${JSON.stringify(c.errorsByKind)})`);
      if (countOf(c.openErrors) > 0) notes.push(`${tag}: ${countOf(c.openErrors)} sessions/handles failed to open (${JSON.stringify(c.openErrors)})`);
      if (c.stillOpening > 0) notes.push(`${tag}: ${c.stillOpening} sessions/handles were still opening when the ${plan.windowSec} s window ended`);
    };
    const addBurst = (prefix: string, kind: ServerKind, b: BurstResult, tag: string, total: number) => {
      series.add(`${prefix}.makespan`, kind, b.makespanMs);
      if (b.firstResultMs.length > 0) {
        series.add(`${prefix}.first.p50`, kind, pct(b.firstResultMs, 50));
        series.add(`${prefix}.first.p99`, kind, pct(b.firstResultMs, 99));
      }
      if (b.failed > 0) notes.push(`${tag}: ${b.failed} of ${total} workflows failed (${JSON.stringify(b.failures)})`);
    };

    const rounds = Math.max(...Object.values(plan.rounds));
    let modernCurveSkipped: string | undefined;
    for (let round = 0; round < rounds; round++) {
      const order = ctx.order(round);
      const step = async (what: string, kind: ServerKind, fn: () => Promise<void>) => {
        const tag = `round ${round + 1}/${rounds} ${kind} ${what}`;
        ctx.log(tag);
        try {
          await fn();
        } catch (err) {
          notes.push(`${tag}: ${(err as Error).message}`);
        }
      };
      // A 2025 fresh-start curve / a burst, on the shipped configuration or (shared) on shared start threads.
      const legacyFresh = (kind: ServerKind, shape: FreshShape, shared = false) => {
        const what = `fresh start ${freshLabel(shape)}${shared ? ', shared start threads' : ''}`;
        return step(what, kind, async () => {
          const config = shared ? SHARED_START_CONFIG : undefined;
          const { result, startMs: ms } = await onFreshServer(ctx, kind, (server, t0) => legacyCurve(server, shape, plan.windowSec, t0), config);
          startMs[kind].push(ms);
          addCurve(`cold.${shared ? 'shared.' : ''}fresh.${freshId(shape)}`, kind, result);
          curveNotes(`round ${round + 1}, ${kind} ${what}`, result);
          raw.push({ round, server: kind, ...(config && { config }), kind: 'fresh', shape: freshId(shape), startMs: ms, ...result });
        });
      };
      const burst = (era: 'legacy' | 'modern', kind: ServerKind, shape: BurstShape, shared = false) => {
        const what = `${era === 'modern' ? '2026 ' : ''}burst ${burstLabel(shape)} × ${plan.waves} waves${shared ? ', shared start threads' : ''}`;
        return step(what, kind, async () => {
          const config = shared ? SHARED_START_CONFIG : undefined;
          const { result, startMs: ms } = await onFreshServer(
            ctx,
            kind,
            (server) => bursts(shape, plan.waves, (calls, i, fail) => (era === 'legacy' ? legacyWorkflow(server.url, calls, fail) : modernWorkflow(server.url, calls, i, fail))),
            config,
          );
          startMs[kind].push(ms);
          const prefix = `cold.${shared ? 'shared.' : ''}${era === 'modern' ? 'modern.' : ''}burst.${burstId(shape)}`;
          addBurst(prefix, kind, result, `round ${round + 1}, ${kind} ${what}`, plan.waves * shape.sessions);
          raw.push({ round, server: kind, ...(config && { config }), kind: `${era}-burst`, shape: burstId(shape), waves: plan.waves, startMs: ms, ...result });
        });
      };
      if (round < plan.rounds.curves) {
        for (const shape of plan.fresh) for (const kind of order) await legacyFresh(kind, shape);
      }
      if (round < plan.rounds.modernCurve) {
        // Optional: skipped when the suite's time budget runs short.
        const need = 2 * (plan.windowSec + 2);
        if (ctx.remainingSec() < need) {
          modernCurveSkipped = `the 2026 fresh-start curve was skipped in round ${round + 1} (time budget: ${Math.round(ctx.remainingSec())} s left)`;
        } else {
          for (const kind of order) {
            const what = `2026 fresh start, ${plan.modernCallers} callers`;
            await step(what, kind, async () => {
              const { result, startMs: ms } = await onFreshServer(ctx, kind, (server, t0) => modernCurve(server, plan.modernCallers, plan.windowSec, t0));
              startMs[kind].push(ms);
              addCurve(`cold.modern.fresh.${plan.modernCallers}`, kind, result);
              curveNotes(`round ${round + 1}, ${kind} ${what}`, result);
              raw.push({ round, server: kind, kind: 'modern-fresh', callers: plan.modernCallers, startMs: ms, ...result });
            });
          }
        }
      }
      for (const era of ['legacy', 'modern'] as const) {
        if (round < (era === 'legacy' ? plan.rounds.bursts : plan.rounds.modernBursts)) {
          for (const shape of plan.bursts) for (const kind of order) await burst(era, kind, shape);
        }
      }
      // Shared start threads: ours only, beside the same baseline figures (copied below).
      if (round < plan.rounds.shared) {
        for (const shape of plan.fresh) await legacyFresh('ours', shape, true);
        for (const shape of plan.bursts) await burst('legacy', 'ours', shape, true);
      }
    }
    // The shared-start rows compare with the same baseline measurements as the shipped rows.
    const sharedRows = (prefix: string, suffixes: string[]) => {
      for (const suffix of suffixes) for (const v of series.get(`cold.${prefix}.${suffix}`, 'baseline')) series.add(`cold.shared.${prefix}.${suffix}`, 'baseline', v);
    };
    for (const shape of plan.fresh) sharedRows(`fresh.${freshId(shape)}`, [...winSpans.map(spanId), 'first']);
    for (const shape of plan.bursts) sharedRows(`burst.${burstId(shape)}`, ['makespan', 'first.p50', 'first.p99']);

    // A figure with no value at all: say why instead of a bare "not measured".
    const noFirst = (prefix: string) => {
      for (const kind of ['ours', 'baseline'] as const) {
        if (series.get(`${prefix}.first`, kind).length === 0 && series.get(`${prefix}.s1`, kind).length > 0) {
          series.skip(`${prefix}.first`, kind, `no echo result within ${plan.windowSec} s of ready`);
        }
      }
    };
    if (modernCurveSkipped) {
      const prefix = `cold.modern.fresh.${plan.modernCallers}`;
      for (const kind of ['ours', 'baseline'] as const) {
        if (series.get(`${prefix}.s1`, kind).length > 0) continue;
        for (const id of [...winSpans.map((n) => `${prefix}.${spanId(n)}`), `${prefix}.first`]) series.skip(id, kind, 'skipped: time budget');
      }
    }

    const metrics: Metric[] = [];
    const curveMetrics = (prefix: string, what: string, primary: boolean) => {
      noFirst(prefix);
      for (const n of winSpans) {
        const show = primary && n === Math.min(4, plan.windowSec) ? ({ panel: 'throughput', label: `cold ${what.replace(/^fresh start /, '')} 1–${n} s` } as const) : primary && n === 1 ? 'headline' : undefined;
        metrics.push(series.metric(`${prefix}.${spanId(n)}`, `${what}: echo results per second, ${spanLabel(n)} after ready`, 'req/s', 'higher', show));
      }
      metrics.push(series.metric(`${prefix}.first`, `${what}: first echo result after ready`, 'ms', 'lower'));
    };
    plan.fresh.forEach((shape, i) => curveMetrics(`cold.fresh.${freshId(shape)}`, `fresh start ${freshLabel(shape)}`, i === 0));
    curveMetrics(`cold.modern.fresh.${plan.modernCallers}`, `2026 fresh start, ${plan.modernCallers} callers with handles`, false);
    for (const era of ['legacy', 'modern'] as const) {
      plan.bursts.forEach((shape, i) => {
        const prefix = `cold.${era === 'modern' ? 'modern.' : ''}burst.${burstId(shape)}`;
        const what = `${era === 'modern' ? '2026 handles, ' : ''}burst ${burstLabel(shape)} (${plan.waves} waves of ${shape.sessions} new workflows × ${shape.calls} calls)`;
        const primary = i === 0;
        metrics.push(
          series.metric(
            `${prefix}.makespan`,
            `${what}: makespan`,
            'ms',
            'lower',
            primary && era === 'legacy' ? { panel: 'timing', label: `burst ${burstLabel(shape)} makespan` } : primary ? 'headline' : undefined,
          ),
          series.metric(`${prefix}.first.p50`, `${what}: first result p50`, 'ms', 'lower'),
          series.metric(`${prefix}.first.p99`, `${what}: first result p99`, 'ms', 'lower', primary && era === 'legacy' ? { panel: 'p99', label: `burst ${burstLabel(shape)} 1st result` } : undefined),
        );
      });
    }

    const shared = 'with shared start threads (opt-in)';
    plan.fresh.forEach((shape) => {
      const prefix = `cold.shared.fresh.${freshId(shape)}`;
      for (const n of new Set([1, Math.min(4, plan.windowSec)])) {
        metrics.push(series.metric(`${prefix}.${spanId(n)}`, `fresh start ${freshLabel(shape)}, ${shared}: echo results per second, ${spanLabel(n)} after ready`, 'req/s', 'higher'));
      }
    });
    plan.bursts.forEach((shape) => {
      const prefix = `cold.shared.burst.${burstId(shape)}`;
      const what = `burst ${burstLabel(shape)}, ${shared}`;
      metrics.push(series.metric(`${prefix}.makespan`, `${what}: makespan`, 'ms', 'lower'), series.metric(`${prefix}.first.p99`, `${what}: first result p99`, 'ms', 'lower'));
    });

    // The curves themselves (median per second across rounds), for the notes.
    for (const [id, c] of curves) {
      const line = (k: ServerKind) => (c[k].length > 0 ? medianCurve(c[k]).map((x) => fmt(x)).join(', ') : 'not measured');
      const rounds = Math.max(c.ours.length, c.baseline.length);
      if (id.startsWith('cold.shared.')) notes.push(`\`${id}\` ok echo results in each second after ready (median of ${rounds} round(s)): mcp-actors with shared start threads [${line('ours')}] (the SDK baseline: as in the shipped row).`);
      else notes.push(`\`${id}\` ok echo results in each second after ready (median of ${rounds} round(s)): mcp-actors [${line('ours')}]; SDK baseline [${line('baseline')}].`);
    }
    const med = (xs: number[]) => (xs.length > 0 ? fmt(pct(xs, 50)) : '—');
    notes.push(
      `Process start to ready (outside the windows; median over all the servers started): mcp-actors ${med(startMs.ours)} ms, SDK baseline ${med(startMs.baseline)} ms.`,
    );
    notes.push('The load generator runs in the bench process on the same 2 shared cores as the server under test; the 2026 bursts use fetch (undici), the rest the load generator\'s raw HTTP client.');
    notes.push(
      'mcp-actors as shipped boots its actor threads from a worker bundle with a V8 code cache kept on disk (warmPool.codeCacheDir, by default ' +
        '~/.cache/mcp-actors): its fresh processes here use the cache earlier runs on this machine wrote — a restart on the same host, not the first boot of a new container.',
    );
    if (modernCurveSkipped) notes.push(modernCurveSkipped);

    return { metrics, goals: coldGoals(metrics, plan), notes, rounds: plan.rounds.bursts, raw };
  },
};

/**
 * The goals, each with a floor that decides met / not met and, where there is one, a stretch
 * target reported alongside. Evaluated on the full shapes only (--quick runs smaller ones).
 */
export function coldGoals(metrics: Metric[], plan: Plan): Goal[] {
  const get = (id: string) => metrics.find((m) => m.id === id);
  const goal = (id: string, metric: string, text: string, unit: string, better: 'higher' | 'lower', floor: number, target?: number): Goal => {
    const m = get(metric);
    if (!m || !isFigure(m.ours) || !isFigure(m.baseline) || m.baseline.median <= 0) return { id, text, measured: 'not measured', met: null };
    const r = m.ours.median / m.baseline.median;
    const ok = (x: number) => (better === 'higher' ? r >= x : r <= x);
    const stretch = target === undefined ? '' : `; goal ${target}×: ${ok(target) ? 'reached' : 'not reached'}`;
    return { id, text, measured: `${r.toFixed(2)}× (${fmt(m.ours.median)} vs ${fmt(m.baseline.median)} ${unit})${stretch}`, met: ok(floor) };
  };
  const early = Math.min(4, plan.windowSec);
  return [
    goal('cold-fresh-20x20-early', `cold.fresh.20x20.${spanId(early)}`, 'fresh start 20×20: echo results in the first 4 s after ready ≥ 1.0× the SDK baseline (goal 1.5×)', 'req/s', 'higher', 1.0, 1.5),
    goal('cold-fresh-20x20-s1', 'cold.fresh.20x20.s1', 'fresh start 20×20: echo results in the first second after ready ≥ 0.5× the SDK baseline', 'req/s', 'higher', 0.5),
    goal('cold-burst-20x10-makespan', 'cold.burst.20x10.makespan', 'burst of new sessions 20×10 (5 waves): makespan ≤ 1.0× the SDK baseline (goal 0.7×)', 'ms', 'lower', 1.0, 0.7),
    goal('cold-burst-20x10-first-p99', 'cold.burst.20x10.first.p99', 'burst of new sessions 20×10: first-result p99 ≤ 1.5× the SDK baseline (goal 1.0×)', 'ms', 'lower', 1.5, 1.0),
    goal('cold-burst-100x5-makespan', 'cold.burst.100x5.makespan', 'burst of new sessions 100×5 (5 waves): makespan ≤ 1.0× the SDK baseline', 'ms', 'lower', 1.0),
  ];
}
