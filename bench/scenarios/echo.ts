/**
 * echo: `tools/call echo{text}` throughput and latency at sessions × callers of 1×1, 20×20 and
 * 100×50, against both servers, with the load generator (`runLoad`) in the bench process.
 */
import { runLoad, type LoadResult } from '../loadgen/index.js';
import { waitFor, type Health, type ServerKind, type ServerProcess } from '../servers.js';
import type { Goal, Metric, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, Series } from './util.js';

/**
 * Warm-up seconds per shape: long enough for mcp-actors to boot a thread for every session in use
 * (first call) and for its warm pool to refill behind them (~0.25 s of CPU per thread).
 */
export const SHAPES = [
  { sessions: 1, callers: 1, warmupSec: 2 },
  { sessions: 20, callers: 20, warmupSec: 15 },
  { sessions: 100, callers: 50, warmupSec: 12 },
] as const;

const shapeId = (s: { sessions: number; callers: number }) => `${s.sessions}x${s.callers}`;
const shapeLabel = (s: { sessions: number; callers: number }) => `${s.sessions}×${s.callers}`;

/** --quick: smaller shapes (a smoke test boots few threads), one short phase each. */
export const QUICK_SHAPES = [
  { sessions: 1, callers: 1, warmupSec: 0.3 },
  { sessions: 4, callers: 4, warmupSec: 0.3 },
  { sessions: 10, callers: 5, warmupSec: 0.5 },
] as const;

type Shape = { sessions: number; callers: number; warmupSec: number };

export function echoPhase(quick: boolean, shape: Shape): { warmupSec: number; durationSec: number } {
  return { warmupSec: shape.warmupSec, durationSec: quick ? 0.7 : 4 };
}

interface RoundRecord {
  round: number;
  server: ServerKind;
  shape: string;
  throughput: number;
  latencyMs: LoadResult['latencyMs'];
  calls: LoadResult['calls'];
  errorsByKind: Record<string, number>;
  loadgenCoreUtilization: number;
  sessionsOpened: number;
  poolAtMeasure?: Health['warmPool'];
}

export const echo: Scenario = {
  name: 'echo',
  title: 'echo tools/call throughput',
  definition:
    'Closed-loop load: `callers` concurrent callers, spread round-robin over `sessions` open sessions, each calling ' +
    '`echo{text:"hello"}` again as soon as its previous call returns. Warm-up (excluded: 2, 15 and 12 s, the same for both servers — ' +
    'mcp-actors runs each session in its own V8 isolate, and every isolate must JIT-compile the SDK\'s hot paths for itself, which takes a few thousand ' +
    'calls per isolate; its warm pool is sized for 128 threads and hands out its most-used threads first, so renewed, already-compiled threads serve the following rounds), then, for mcp-actors, a wait until its warm pool has stopped booting, then 4 s measured; throughput = completed calls ÷ measured wall time; latency = round trip of each ok call. With 100×50 ' +
    'each of the 50 callers takes turns over its own 2 of the 100 sessions, so all 100 are exercised. ' +
    '`--quick` runs 1×1, 4×4 and 10×5 instead.',
  estimateSec(rounds, quick) {
    // Per server and shape: warm-up + measurement + opening and closing sessions.
    const perRound = (quick ? QUICK_SHAPES : SHAPES).reduce((a: number, s: Shape) => {
      const p = echoPhase(quick, s);
      return a + p.warmupSec + p.durationSec + 1;
    }, 0);
    return rounds * 2 * perRound + 3;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const shapes: readonly Shape[] = ctx.quick ? QUICK_SHAPES : SHAPES;
    const poolBusy: string[] = [];
    const series = new Series();
    const raw: RoundRecord[] = [];
    const notes: string[] = [];
    const servers: Partial<Record<ServerKind, ServerProcess>> = {};
    try {
      // Ours keeps enough warm threads for its largest shape: a session's thread is renewed and
      // handed back when the session ends, with its JIT-compiled code, so the next round's sessions
      // start on warm threads instead of booting cold isolates.
      servers.ours = await ctx.start('ours', { config: { warmPool: { min: 2, max: 128 } } });
      servers.baseline = await ctx.start('baseline');
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          const server = servers[kind]!;
          for (const shape of shapes) {
            const id = shapeId(shape);
            ctx.log(`round ${round + 1}/${ctx.rounds} ${kind} ${shapeLabel(shape)}`);
            const phase = echoPhase(ctx.quick, shape);
            // For ours: was its warm pool still booting threads when the measured phase began?
            let poolAtMeasure: Promise<Health | undefined> | undefined;
            let r: LoadResult;
            try {
              r = await runLoad({
                onProgress: (p) => {
                  if (p.phase === 'measure' && poolAtMeasure === undefined) poolAtMeasure = server.health();
                },
                progressIntervalMs: 100,
                url: server.url,
                sessions: shape.sessions,
                concurrency: shape.callers,
                tool: 'echo',
                args: { text: 'hello' },
                warmupSec: phase.warmupSec,
                durationSec: phase.durationSec,
                seed: ctx.seed,
                timeoutMs: 30_000,
                sessionOpenParallelism: 8,
                // Ours: measure once the warm pool has finished refilling behind the sessions the
                // warm-up activated (booting threads would compete with the measured calls).
                beforeMeasure: async () => {
                  if (kind === 'ours') await waitFor(async () => ((await server.health(2_000))?.warmPool.booting ?? 0) === 0, 10_000, 100);
                },
              });
            } catch (err) {
              notes.push(`round ${round + 1}, ${kind} ${shapeLabel(shape)}: ${(err as Error).message}`);
              continue;
            }
            const pool = (await poolAtMeasure)?.warmPool;
            if (pool && pool.booting > 0) poolBusy.push(`${shapeLabel(shape)} round ${round + 1}`);
            raw.push({
              round,
              server: kind,
              shape: id,
              ...(pool && { poolAtMeasure: pool }),
              throughput: r.throughput,
              latencyMs: r.latencyMs,
              calls: r.calls,
              errorsByKind: r.errorsByKind,
              loadgenCoreUtilization: r.loadgenCpu.coreUtilization,
              sessionsOpened: r.sessions,
            });
            if (r.calls.errors > 0) {
              notes.push(`round ${round + 1}, ${kind} ${shapeLabel(shape)}: ${r.calls.errors} of ${r.calls.total} calls failed (${JSON.stringify(r.errorsByKind)})`);
            }
            series.add(`echo.${id}.throughput`, kind, r.throughput);
            series.add(`echo.${id}.p50`, kind, r.latencyMs.p50);
            series.add(`echo.${id}.p99`, kind, r.latencyMs.p99);
            series.add(`echo.${id}.loadgen`, kind, r.loadgenCpu.coreUtilization);
          }
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }

    const metrics: Metric[] = [];
    for (const shape of shapes) {
      const id = shapeId(shape);
      const l = shapeLabel(shape);
      metrics.push(
        series.metric(`echo.${id}.throughput`, `echo ${l} throughput`, 'req/s', 'higher', { panel: 'throughput', label: `echo ${l}` }),
        series.metric(`echo.${id}.p50`, `echo ${l} p50`, 'ms', 'lower'),
        series.metric(`echo.${id}.p99`, `echo ${l} p99`, 'ms', 'lower', { panel: 'p99', label: `echo ${l}` }),
      );
    }
    if (poolBusy.length > 0) {
      notes.push(
        `mcp-actors' warm pool was still booting spare threads (CPU the echo calls compete for) when the measured phase began in ` +
          `${poolBusy.length} of ${raw.filter((r) => r.server === 'ours').length} measurements: ${poolBusy.join(', ')}.`,
      );
    }
    const loadgenMax = Math.max(0, ...raw.map((r) => r.loadgenCoreUtilization));
    notes.push(
      `The load generator runs in the bench process on the same machine; it used up to ${fmt(loadgenMax * 100)} % of a core during a measured phase ` +
        '(a figure near 100 % means the client, not the server, was the limit).',
    );

    const goals: Goal[] = [];
    const ours = metrics.find((m) => m.id === 'echo.20x20.throughput');
    if (ours && isFigure(ours.ours) && isFigure(ours.baseline) && ours.baseline.median > 0) {
      const ratio = ours.ours.median / ours.baseline.median;
      goals.push({
        id: 'echo-20x20-2x',
        text: 'echo throughput ≥ 2× the SDK server at 20×20',
        measured: `${ratio.toFixed(2)}× (${fmt(ours.ours.median)} vs ${fmt(ours.baseline.median)} req/s)`,
        met: ratio >= 2,
      });
    } else {
      goals.push({ id: 'echo-20x20-2x', text: 'echo throughput ≥ 2× the SDK server at 20×20', measured: 'not measured', met: null });
    }
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
