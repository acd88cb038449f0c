/**
 * The load loop: open S sessions, run an optional warm-up phase, then drive C concurrent callers
 * (spread round-robin over the sessions) until N calls have been made or D seconds have passed,
 * and summarize what happened.
 *
 * Counting is exact: a caller claims a call synchronously before starting it, so `calls: N`
 * makes exactly N calls; with `durationSec: D` calls start until D seconds have passed and the
 * in-flight ones finish and count. Warm-up calls are made before the measured phase (drained
 * before it starts) and appear in no statistic except `warmup`.
 */
import { HttpDriver, isModernVersion } from './session.js';
import { prepareCalls, validateMix, weightedPicker, type MixEntry, type PreparedCall } from './scenario.js';
import type { BenchSession, CallError, Driver } from './session.js';
import { bump, round3, Samples, summarizeShort, type LatencySummary, type ShortLatencySummary } from './stats.js';
import { StdioDriver } from './stdio-client.js';

export interface LoadOptions {
  /** Streamable HTTP endpoint (http: or https:). Exactly one of `url` and `stdio`. */
  url?: string;
  /** Command that starts a stdio MCP server: a command line (split shell-style, no expansion) or argv. */
  stdio?: string | string[];
  /** Extra HTTP headers on every request (e.g. Authorization). */
  headers?: Record<string, string>;
  /** HTTP client: "raw" (default; a lean HTTP/1.1 client on net sockets) or "node" (node:http
   *  with a keep-alive Agent). https: URLs always use node:https. */
  httpClient?: 'raw' | 'node';
  /** Sessions to open (default 1; must be 1 for stdio). */
  sessions?: number;
  /** Concurrent callers, spread round-robin over the sessions (default 10). */
  concurrency?: number;
  /** Run for this many seconds (default 10 when `calls` is not given). */
  durationSec?: number;
  /** Make exactly this many measured calls. */
  calls?: number;
  /** Tool to call (or give `mix`). */
  tool?: string;
  /** Arguments for `tool` (default {}). */
  args?: Record<string, unknown>;
  /** Weighted mix of tools (instead of `tool`/`args`). */
  mix?: MixEntry[];
  /** Warm-up calls made before measuring, excluded from the statistics. */
  warmupCalls?: number;
  /** Warm-up seconds before measuring, excluded from the statistics. */
  warmupSec?: number;
  /** Awaited after the warm-up and before measuring (e.g. to let the server settle). */
  beforeMeasure?: () => Promise<void>;
  /** Seed of the PRNG that draws from the mix (default 1). */
  seed?: number;
  /** Per-call timeout in ms (default 30000). Also bounds each session's initialize. */
  timeoutMs?: number;
  /** stdio: forward the child's stderr to ours. */
  verbose?: boolean;
  /**
   * MCP protocol version (default "2025-11-25"). "2026-07-28" (or later) sends self-contained
   * requests instead: no sessions, the per-request `_meta` envelope and the standard headers;
   * `sessions` then only spreads the callers.
   */
  protocolVersion?: string;
  /** How many sessions are initialized at once (HTTP; default 8). */
  sessionOpenParallelism?: number;
  /** Stops starting calls (in-flight ones finish); the result has `aborted` set. */
  signal?: AbortSignal;
  /** Called every `progressIntervalMs` (default 500) while calls are being made. */
  onProgress?: (p: ProgressSnapshot) => void;
  progressIntervalMs?: number;
}

export interface ProgressSnapshot {
  phase: 'warmup' | 'measure';
  elapsedSec: number;
  completed: number;
  ok: number;
  errors: number;
  inFlight: number;
  /** Completed calls per second over the last interval. */
  recentThroughput: number;
  /** The phase's goal: a call count or a number of seconds. */
  goal: { calls: number } | { durationSec: number };
}

export interface ToolStats {
  calls: number;
  ok: number;
  errors: number;
  latencyMs: LatencySummary;
}

export interface LoadResult {
  /** The URL, or `stdio:<command>`. */
  target: string;
  transport: 'http' | 'stdio';
  /** Sessions that opened (see `sessionErrors` for those that did not). */
  sessions: number;
  concurrency: number;
  /** Measured wall time in seconds: from the first measured call's start to the last one's end. */
  durationSec: number;
  calls: { total: number; ok: number; errors: number };
  errorsByKind: Record<string, number>;
  /** One message the server gave for each error kind (the first seen), when it gave one. */
  errorSamples: Record<string, string>;
  /** Completed calls (ok or not) per second of measured wall time. */
  throughput: number;
  /** Latency of the ok calls. */
  latencyMs: LatencySummary;
  /** Initialize round trip of each session that opened. */
  sessionCreateMs: ShortLatencySummary;
  /** Per-tool breakdown; present when the mix has more than one entry. */
  perTool?: Record<string, ToolStats>;
  /** Sessions that failed to open, by kind. */
  sessionErrors?: Record<string, number>;
  warmup?: { calls: number; ok: number; durationSec: number };
  seed: number;
  /** CPU the load generator's process used during the measured phase. */
  loadgenCpu: { userMs: number; systemMs: number; coreUtilization: number };
  /** Why the run stopped early, if it did (e.g. "signal", "conn_child_exited"). */
  aborted?: string;
}

export class LoadOptionsError extends Error {}

interface Normalized {
  sessions: number;
  concurrency: number;
  calls: number | undefined;
  durationSec: number | undefined;
  mix: Required<MixEntry>[];
  warmupCalls: number;
  warmupSec: number;
  seed: number;
  timeoutMs: number;
}

const isInt = (x: unknown, min: number): x is number => Number.isSafeInteger(x) && (x as number) >= min;

function normalize(o: LoadOptions): Normalized {
  const fail = (m: string): never => {
    throw new LoadOptionsError(m);
  };
  if ((o.url === undefined) === (o.stdio === undefined)) fail('give exactly one of url and stdio');
  const sessions = o.sessions ?? 1;
  if (!isInt(sessions, 1)) fail('sessions must be an integer >= 1');
  if (o.stdio !== undefined && sessions !== 1) fail('the stdio transport has exactly one session');
  const concurrency = o.concurrency ?? 10;
  if (!isInt(concurrency, 1)) fail('concurrency must be an integer >= 1');
  if (o.calls !== undefined && o.durationSec !== undefined) fail('give calls or durationSec, not both');
  if (o.calls !== undefined && !isInt(o.calls, 1)) fail('calls must be an integer >= 1');
  const durationSec = o.calls === undefined ? (o.durationSec ?? 10) : undefined;
  if (durationSec !== undefined && !(Number.isFinite(durationSec) && durationSec > 0)) {
    fail('durationSec must be a positive number');
  }
  let mix: Required<MixEntry>[];
  if (o.mix !== undefined) {
    if (o.tool !== undefined || o.args !== undefined) fail('give tool/args or mix, not both');
    try {
      mix = validateMix(o.mix);
    } catch (err) {
      throw new LoadOptionsError((err as Error).message);
    }
  } else {
    if (typeof o.tool !== 'string' || o.tool === '') fail('give a tool (or a mix)');
    try {
      mix = validateMix([{ tool: o.tool, args: o.args ?? {} }]);
    } catch (err) {
      throw new LoadOptionsError((err as Error).message.replace('mix[0].', ''));
    }
  }
  const warmupCalls = o.warmupCalls ?? 0;
  const warmupSec = o.warmupSec ?? 0;
  if (!isInt(warmupCalls, 0)) fail('warmupCalls must be an integer >= 0');
  if (!(Number.isFinite(warmupSec) && warmupSec >= 0)) fail('warmupSec must be a number >= 0');
  if (warmupCalls > 0 && warmupSec > 0) fail('give warmupCalls or warmupSec, not both');
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) fail(`invalid header name "${k}"`);
    if (typeof v !== 'string' || /[\r\n\0]/.test(v)) fail(`invalid value for header "${k}"`);
  }
  if (o.httpClient !== undefined && o.httpClient !== 'raw' && o.httpClient !== 'node') {
    fail('httpClient must be "raw" or "node"');
  }
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) fail('seed must be an integer');
  const timeoutMs = o.timeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) fail('timeoutMs must be a positive number');
  return {
    sessions,
    concurrency,
    calls: o.calls,
    durationSec,
    mix: mix!,
    warmupCalls,
    warmupSec,
    seed,
    timeoutMs,
  };
}

/** Tallies of one phase. Latencies of ok calls only; error calls are counted by kind. */
class Recorder {
  ok = 0;
  errors = 0;
  inFlight = 0;
  readonly errorsByKind: Record<string, number> = {};
  /** The first message the server gave for each error kind. */
  readonly errorSamples: Record<string, string> = {};
  readonly latency = new Samples(4096);
  readonly perTool: { ok: number; errors: number; latency: Samples }[] | undefined;

  /** `slots`: distinct tools; `breakdown`: keep per-tool tallies. */
  constructor(slots: number, breakdown: boolean) {
    this.perTool =
      breakdown
        ? Array.from({ length: slots }, () => ({ ok: 0, errors: 0, latency: new Samples(1024) }))
        : undefined;
  }

  get completed(): number {
    return this.ok + this.errors;
  }

  record(slot: number, err: CallError | null, ms: number): void {
    const t = this.perTool?.[slot];
    if (err === null) {
      this.ok++;
      this.latency.add(ms);
      if (t) {
        t.ok++;
        t.latency.add(ms);
      }
    } else {
      this.errors++;
      bump(this.errorsByKind, err.kind);
      if (err.message !== undefined && !(err.kind in this.errorSamples)) this.errorSamples[err.kind] = err.message;
      if (t) t.errors++;
    }
  }
}

interface PhaseSpec {
  phase: 'warmup' | 'measure';
  sessions: BenchSession[];
  concurrency: number;
  calls: number | undefined;
  durationSec: number | undefined;
  prepared: PreparedCall[];
  pick: () => number;
  timeoutMs: number;
  shouldStop: () => boolean;
  onProgress: ((p: ProgressSnapshot) => void) | undefined;
  progressIntervalMs: number;
}

/**
 * Each caller's share of the sessions: with fewer sessions than callers, callers share sessions
 * round-robin; with more sessions than callers, each caller takes turns over its own sessions,
 * so every session is exercised.
 */
export function spreadCallers<T>(sessions: readonly T[], concurrency: number): T[][] {
  const n = sessions.length;
  return Array.from({ length: concurrency }, (_, i) => (n > concurrency ? sessions.filter((_, j) => j % concurrency === i) : [sessions[i % n]!]));
}

async function runPhase(spec: PhaseSpec, rec: Recorder): Promise<number> {
  const { prepared, pick, timeoutMs, shouldStop } = spec;
  let remaining = spec.calls ?? Number.POSITIVE_INFINITY;
  const start = performance.now();
  const until = spec.durationSec !== undefined ? start + spec.durationSec * 1000 : Number.POSITIVE_INFINITY;
  const claim = (): boolean => {
    if (remaining <= 0 || shouldStop()) return false;
    if (until !== Number.POSITIVE_INFINITY && performance.now() >= until) return false;
    remaining--;
    return true;
  };
  /** A caller's calls go round-robin over its share of the sessions. */
  const caller = async (mine: BenchSession[]): Promise<void> => {
    let k = 0;
    while (claim()) {
      const session = mine[k++ % mine.length]!;
      const c = prepared[pick()]!;
      rec.inFlight++;
      const t0 = performance.now();
      const outcome = await session.call(c, timeoutMs);
      const ms = performance.now() - t0;
      rec.inFlight--;
      rec.record(c.slot, outcome, ms);
    }
  };
  let ticker: NodeJS.Timeout | undefined;
  if (spec.onProgress) {
    const onProgress = spec.onProgress;
    const goal = spec.calls !== undefined ? { calls: spec.calls } : { durationSec: spec.durationSec ?? 0 };
    let lastT = start;
    let lastDone = 0;
    ticker = setInterval(() => {
      const now = performance.now();
      const done = rec.completed;
      onProgress({
        phase: spec.phase,
        elapsedSec: (now - start) / 1000,
        completed: done,
        ok: rec.ok,
        errors: rec.errors,
        inFlight: rec.inFlight,
        recentThroughput: now > lastT ? ((done - lastDone) * 1000) / (now - lastT) : 0,
        goal,
      });
      lastT = now;
      lastDone = done;
    }, spec.progressIntervalMs);
    ticker.unref();
  }
  try {
    // Callers are spread over the sessions: with fewer sessions than callers several callers share
    // a session; with more sessions than callers each caller takes turns over its own share, so
    // every session is exercised (100 sessions × 50 callers uses all 100).
    await Promise.all(spreadCallers(spec.sessions, spec.concurrency).map((mine) => caller(mine)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return performance.now() - start;
}

function makeDriver(o: LoadOptions, n: Normalized): Driver {
  if (o.url !== undefined) {
    return new HttpDriver({
      url: o.url,
      headers: o.headers,
      concurrency: Math.max(n.concurrency, o.sessionOpenParallelism ?? 8),
      protocolVersion: o.protocolVersion,
      openParallelism: o.sessionOpenParallelism,
      httpClient: o.httpClient,
    });
  }
  return new StdioDriver({ command: o.stdio!, verbose: o.verbose, protocolVersion: o.protocolVersion });
}

function describeErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
}

/** Runs one load test and returns its statistics. Throws LoadOptionsError on bad options and
 *  Error when no session could be opened. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const n = normalize(options);
  let driver: Driver;
  try {
    driver = makeDriver(options, n);
  } catch (err) {
    throw new LoadOptionsError((err as Error).message);
  }
  const modern = options.protocolVersion !== undefined && isModernVersion(options.protocolVersion) ? { protocolVersion: options.protocolVersion } : undefined;
  if (modern && options.url === undefined) throw new LoadOptionsError('protocol revision 2026-07-28 and later is supported over HTTP only');
  const prepared = prepareCalls(n.mix, modern);
  const weights = n.mix.map((e) => e.weight);
  const slots = new Set(prepared.map((c) => c.tool)).size;
  const signal = options.signal;
  const shouldStop = (): boolean => signal?.aborted === true || driver.fatal !== undefined;
  const progressIntervalMs = options.progressIntervalMs ?? 500;
  try {
    const opened = await driver.open(n.sessions, n.timeoutMs);
    if (opened.sessions.length === 0) {
      throw new Error(`could not open any session to ${driver.target}: ${describeErrors(opened.errors)}`);
    }
    // Every tool of the mix must exist before any load is sent: a typo would otherwise measure errors.
    const listed = await opened.sessions[0]!.listTools(n.timeoutMs);
    if ('kind' in listed) throw new Error(`tools/list failed on ${driver.target}: ${listed.kind}${listed.message ? ` (${listed.message})` : ''}`);
    const unknown = [...new Set(n.mix.map((e) => e.tool))].filter((t) => !listed.includes(t));
    if (unknown.length > 0) {
      throw new LoadOptionsError(`${driver.target} has no tool ${unknown.map((t) => JSON.stringify(t)).join(', ')}; it lists: ${listed.join(', ') || '(none)'}`);
    }
    const common = {
      sessions: opened.sessions,
      concurrency: n.concurrency,
      prepared,
      timeoutMs: n.timeoutMs,
      shouldStop,
      onProgress: options.onProgress,
      progressIntervalMs,
    };

    let warmup: LoadResult['warmup'];
    if (n.warmupCalls > 0 || n.warmupSec > 0) {
      const wrec = new Recorder(slots, prepared.length > 1);
      const ms = await runPhase(
        {
          ...common,
          phase: 'warmup',
          calls: n.warmupCalls > 0 ? n.warmupCalls : undefined,
          durationSec: n.warmupSec > 0 ? n.warmupSec : undefined,
          // A separate stream, so the measured sequence does not depend on the warm-up's length.
          pick: weightedPicker(weights, (n.seed ^ 0x5bd1e995) >>> 0),
        },
        wrec,
      );
      warmup = { calls: wrec.completed, ok: wrec.ok, durationSec: round3(ms / 1000) };
    }

    await options.beforeMeasure?.();
    const rec = new Recorder(slots, prepared.length > 1);
    const cpu0 = process.cpuUsage();
    const wallMs = await runPhase(
      {
        ...common,
        phase: 'measure',
        calls: n.calls,
        durationSec: n.durationSec,
        pick: weightedPicker(weights, n.seed),
      },
      rec,
    );
    const cpu = process.cpuUsage(cpu0);

    const total = rec.completed;
    const result: LoadResult = {
      target: driver.target,
      transport: driver.transport,
      sessions: opened.sessions.length,
      concurrency: n.concurrency,
      durationSec: round3(wallMs / 1000),
      calls: { total, ok: rec.ok, errors: rec.errors },
      errorsByKind: rec.errorsByKind,
      errorSamples: rec.errorSamples,
      throughput: wallMs > 0 ? Math.round((total * 1e5) / wallMs) / 100 : 0,
      latencyMs: rec.latency.summary(),
      sessionCreateMs: summarizeShort(opened.createMs),
      seed: n.seed,
      loadgenCpu: {
        userMs: round3(cpu.user / 1000),
        systemMs: round3(cpu.system / 1000),
        coreUtilization: wallMs > 0 ? round3((cpu.user + cpu.system) / 1000 / wallMs) : 0,
      },
    };
    if (rec.perTool) {
      const perTool: Record<string, ToolStats> = {};
      for (const c of prepared) {
        if (perTool[c.tool] !== undefined) continue;
        const t = rec.perTool[c.slot]!;
        perTool[c.tool] = { calls: t.ok + t.errors, ok: t.ok, errors: t.errors, latencyMs: t.latency.summary() };
      }
      result.perTool = perTool;
    }
    if (Object.keys(opened.errors).length > 0) result.sessionErrors = opened.errors;
    if (warmup) result.warmup = warmup;
    const aborted = signal?.aborted ? 'signal' : driver.fatal;
    if (aborted !== undefined) result.aborted = aborted;
    return result;
  } finally {
    await driver.close();
  }
}
