/**
 * modern: MCP 2026-07-28 — self-contained requests (no sessions) and state handles — against the
 * SDK v2's own server (createMcpHandler behind @modelcontextprotocol/node, one thread, the same
 * toolsets, handles kept in memory) in the same run:
 * - stateless echo throughput and p99 at 1, 20 and 100 concurrent callers;
 * - noisy neighbour: 19 callers on echo, quiet vs while one caller loops cpu_burn{ms:200};
 * - a hung request (hang{}): when it is answered, and whether the other callers notice;
 * - handle workflows: 20 at once, each open_handle + 10 calls carrying the handle + close_handle.
 */
import { runLoad, type LoadResult } from '../loadgen/index.js';
import type { ServerKind, ServerProcess } from '../servers.js';
import { modernTool } from '../support/mcp-http.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, Series, sleep } from './util.js';

const VERSION = '2026-07-28';
const CALLERS = [1, 20, 100] as const;
const QUIET = 19;
const BURN_MS = 200;
const HANG_DEADLINE_MS = 2_000;
const HANG_GRACE_MS = 500;
const WORKFLOWS = 20;
const WORKFLOW_CALLS = 10;

/** ours: hang{} has a 2 s deadline (as in the runaway scenario). */
const OURS_CONFIG = { sessions: { toolTimeoutsMs: { hang: HANG_DEADLINE_MS }, deadlineGraceMs: HANG_GRACE_MS } };

function phase(quick: boolean) {
  return quick ? { warmupSec: 0.3, durationSec: 0.8 } : { warmupSec: 4, durationSec: 4 };
}

const ok = (r: Awaited<ReturnType<typeof modernTool>>) => r.status === 200 && r.json?.result && r.json.result.isError !== true;

/** A caller looping cpu_burn{ms} with 2026 requests until stopped. */
function burner(url: string) {
  let running = true;
  let burns = 0;
  const loop = (async () => {
    while (running) {
      const r = await modernTool(url, 'cpu_burn', { ms: BURN_MS }).catch(() => undefined);
      if (r && ok(r)) burns++;
    }
  })();
  return async () => {
    running = false;
    await loop;
    return burns;
  };
}

/** One handle workflow: open, WORKFLOW_CALLS echo calls carrying the handle, close. Resolves ok or not. */
async function workflow(url: string, i: number): Promise<boolean> {
  const opened = await modernTool(url, 'open_handle', {});
  const handle = opened.json?.result?.structuredContent?.handle as string | undefined;
  if (!handle) return false;
  let good = true;
  for (let c = 0; c < WORKFLOW_CALLS; c++) {
    const r = await modernTool(url, 'echo', { text: `w${i}-${c}`, handle });
    good &&= ok(r) && r.json.result.structuredContent.text === `w${i}-${c}`;
  }
  good &&= ok(await modernTool(url, 'close_handle', { handle }));
  return good;
}

interface HangObservation {
  answeredMs: number | undefined;
  code: string | undefined;
  othersP99BeforeMs: number;
  othersP99DuringMs: number;
  othersFailedDuring: number;
}

/** Sends hang{} while 4 callers call echo; watches until it is answered (or the window ends). */
async function observeHang(url: string, windowMs: number): Promise<HangObservation> {
  const before: number[] = [];
  const during: number[] = [];
  let failed = 0;
  const state: { phase: 'before' | 'during' | 'done' } = { phase: 'before' };
  const probe = async () => {
    while (state.phase !== 'done') {
      const t = performance.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 1_000);
      const r = await modernTool(url, 'echo', { text: 'probe' }, { signal: controller.signal }).catch(() => undefined);
      clearTimeout(timer);
      const ms = performance.now() - t;
      if ((state.phase as string) === 'done') return; // it may have changed during the await
      if (!r || !ok(r)) {
        if (state.phase === 'during') failed++;
        await sleep(50);
        continue;
      }
      (state.phase === 'before' ? before : during).push(ms);
    }
  };
  const probes = Array.from({ length: 4 }, probe);
  await sleep(1_000);
  state.phase = 'during';
  const t0 = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), windowMs);
  const hung = await modernTool(url, 'hang', {}, { signal: controller.signal }).catch(() => undefined);
  clearTimeout(timer);
  const answeredMs = hung ? performance.now() - t0 : undefined;
  await sleep(300);
  state.phase = 'done';
  await Promise.race([Promise.all(probes), sleep(1_500)]);
  const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)]! : NaN);
  return { answeredMs, code: hung?.json?.error?.data?.code, othersP99BeforeMs: p99(before), othersP99DuringMs: p99(during), othersFailedDuring: failed };
}

export const modern: Scenario = {
  name: 'modern',
  title: 'MCP 2026-07-28: stateless requests and state handles',
  definition:
    'MCP 2026-07-28 requests (no sessions: each POST carries its _meta envelope and standard headers) against the SDK v2 server ' +
    '(createMcpHandler, a new McpServer per request, one thread, same toolsets; handles in memory). Closed-loop `echo` at 1, 20 and 100 ' +
    `concurrent callers (warm-up excluded); noisy neighbour: ${QUIET} callers on echo, quiet vs while one caller loops \`cpu_burn{ms:${BURN_MS}}\`; ` +
    `hung request: \`hang{}\` (ours: ${HANG_DEADLINE_MS} ms deadline, ${HANG_GRACE_MS} ms grace) while 4 callers call echo with a 1 s timeout; ` +
    `handle workflows: ${WORKFLOWS} at once, each \`open_handle\` + ${WORKFLOW_CALLS} \`echo{handle}\` + \`close_handle\`, makespan = wall time until all are done.`,
  estimateSec(rounds, quick) {
    const p = phase(quick);
    const perServer = CALLERS.length * (p.warmupSec + p.durationSec + 0.5) + 2 * (p.warmupSec + p.durationSec + 0.5) + 4;
    return rounds * 2 * perServer + 2 * (HANG_DEADLINE_MS / 1000 + 6) + 5;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const p = phase(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: unknown[] = [];
    const servers: Partial<Record<ServerKind, ServerProcess>> = {};
    const load = (url: string, callers: number, extra: Partial<Parameters<typeof runLoad>[0]> = {}) =>
      runLoad({ url, protocolVersion: VERSION, sessions: callers, concurrency: callers, tool: 'echo', args: { text: 'hello' }, warmupSec: p.warmupSec, durationSec: p.durationSec, seed: ctx.seed, timeoutMs: 30_000, ...extra });
    const errorsNote = (what: string, r: LoadResult) => {
      if (r.calls.errors > 0) notes.push(`${what}: ${r.calls.errors} of ${r.calls.total} calls failed (${JSON.stringify(r.errorsByKind)})`);
    };
    try {
      servers.ours = await ctx.start('ours', { toolsets: ['diagnostics'], config: OURS_CONFIG });
      servers.baseline = await ctx.start('baseline', { toolsets: ['diagnostics'] });
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          const url = servers[kind]!.url;
          const tag = `round ${round + 1}/${ctx.rounds} ${kind}`;
          try {
            for (const n of CALLERS) {
              ctx.log(`${tag}: stateless echo, ${n} caller(s)`);
              const r = await load(url, n);
              errorsNote(`${tag}, echo ${n}`, r);
              series.add(`modern.echo.${n}.throughput`, kind, r.throughput);
              series.add(`modern.echo.${n}.p99`, kind, r.latencyMs.p99);
            }
            ctx.log(`${tag}: noisy neighbour`);
            const quiet = await load(url, QUIET);
            const stop = burner(url);
            let noisy: LoadResult;
            let burns: number;
            try {
              await sleep(300);
              noisy = await load(url, QUIET);
            } finally {
              burns = await stop();
            }
            errorsNote(`${tag}, quiet`, quiet);
            errorsNote(`${tag}, noisy`, noisy);
            if (quiet.throughput > 0) series.add('modern.noisy.kept', kind, (100 * noisy.throughput) / quiet.throughput);
            if (quiet.latencyMs.p99 > 0) series.add('modern.noisy.p99x', kind, noisy.latencyMs.p99 / quiet.latencyMs.p99);
            series.add('modern.noisy.quiet.throughput', kind, quiet.throughput);
            series.add('modern.noisy.noisy.throughput', kind, noisy.throughput);
            series.add('modern.noisy.burns', kind, burns);

            ctx.log(`${tag}: ${WORKFLOWS} handle workflows`);
            const t0 = performance.now();
            const results = await Promise.all(Array.from({ length: WORKFLOWS }, (_, i) => workflow(url, i)));
            const makespan = performance.now() - t0;
            const failed = results.filter((x) => !x).length;
            if (failed > 0) notes.push(`${tag}: ${failed} of ${WORKFLOWS} handle workflows failed`);
            series.add('modern.handles.makespan', kind, makespan);
            raw.push({ round, server: kind, makespanMs: makespan, workflowsFailed: failed, burns });
          } catch (err) {
            notes.push(`${tag}: ${(err as Error).message}`);
          }
        }
      }
      // The hung request last (one observation each): the baseline's only thread never comes back.
      for (const kind of ['ours', 'baseline'] as const) {
        ctx.log(`${kind}: hung request`);
        const o = await observeHang(servers[kind]!.url, HANG_DEADLINE_MS + (ctx.quick ? 2_500 : 4_000));
        raw.push({ hang: kind, ...o });
        if (o.answeredMs !== undefined) series.add('modern.hang.answered', kind, o.answeredMs);
        else series.skip('modern.hang.answered', kind, 'never', true);
        if (Number.isFinite(o.othersP99DuringMs) && o.othersFailedDuring === 0) series.add('modern.hang.others', kind, o.othersP99DuringMs);
        else series.skip('modern.hang.others', kind, `${o.othersFailedDuring} probe calls failed or timed out (1 s)`, true);
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }

    const metrics = [
      ...CALLERS.flatMap((n) => [
        series.metric(`modern.echo.${n}.throughput`, `stateless echo, ${n} caller${n === 1 ? '' : 's'}: throughput`, 'req/s', 'higher', { panel: 'throughput', label: `2026 echo ${n}` }),
        series.metric(`modern.echo.${n}.p99`, `stateless echo, ${n} caller${n === 1 ? '' : 's'}: p99`, 'ms', 'lower', { panel: 'p99', label: `2026 echo ${n}` }),
      ]),
      series.metric('modern.noisy.quiet.throughput', `${QUIET} callers, quiet: throughput`, 'req/s', 'higher'),
      series.metric('modern.noisy.noisy.throughput', `${QUIET} callers, noisy neighbour: throughput`, 'req/s', 'higher'),
      series.metric('modern.noisy.kept', 'throughput kept under the noisy neighbour (noisy ÷ quiet)', '%', 'higher', 'headline'),
      series.metric('modern.noisy.p99x', 'p99 under the noisy neighbour (noisy ÷ quiet)', '×', 'lower', 'headline'),
      series.metric('modern.noisy.burns', `cpu_burn{ms:${BURN_MS}} calls the noisy caller completed`, 'calls', 'higher'),
      series.metric('modern.hang.answered', 'hung request answered after', 'ms', 'lower', 'headline'),
      series.metric('modern.hang.others', 'other callers\' echo p99 while it hangs', 'ms', 'lower'),
      series.metric('modern.handles.makespan', `${WORKFLOWS} handle workflows at once (open + ${WORKFLOW_CALLS} calls + close): makespan`, 'ms', 'lower', 'headline'),
    ];
    const get = (id: string) => metrics.find((m) => m.id === id)!;
    const echo20 = get('modern.echo.20.throughput');
    const kept = get('modern.noisy.kept').ours;
    const p99x = get('modern.noisy.p99x').ours;
    const hang = get('modern.hang.answered').ours;
    const others = get('modern.hang.others').ours;
    const makespan = get('modern.handles.makespan');
    const ratio = isFigure(echo20.ours) && isFigure(echo20.baseline) ? echo20.ours.median / echo20.baseline.median : undefined;
    const goals: Goal[] = [
      {
        id: 'modern-echo-20',
        text: 'stateless echo at 20 callers ≥ 2× the SDK v2 server',
        measured: ratio !== undefined && isFigure(echo20.ours) && isFigure(echo20.baseline) ? `${fmt(ratio)}× (${fmt(echo20.ours.median)} vs ${fmt(echo20.baseline.median)} req/s)` : 'not measured',
        met: ratio !== undefined ? ratio >= 2 : null,
      },
      {
        id: 'modern-noisy',
        text: 'under the noisy neighbour the 19 keep ≥ 50 % of their quiet throughput, with p99 ≤ 3× quiet',
        measured: isFigure(kept) && isFigure(p99x) ? `${fmt(kept.median)} % kept, p99 ${fmt(p99x.median)}×` : 'not measured',
        met: isFigure(kept) && isFigure(p99x) ? kept.median >= 50 && p99x.median <= 3 : null,
      },
      {
        id: 'modern-hang',
        text: `a hung request is answered within its deadline + 1 s (${HANG_DEADLINE_MS + 1_000} ms) and the other callers are unaffected`,
        measured: isFigure(hang) ? `answered after ${fmt(hang.median)} ms; others' p99 ${isFigure(others) ? `${fmt(others.median)} ms` : 'disturbed'}` : 'not answered',
        met: isFigure(hang) ? hang.median <= HANG_DEADLINE_MS + 1_000 && isFigure(others) && others.median < 1_000 : null,
      },
      {
        id: 'modern-handles',
        text: `the handle workflows' makespan ≤ the SDK v2 server doing the same with in-memory state`,
        measured: isFigure(makespan.ours) && isFigure(makespan.baseline) ? `${fmt(makespan.ours.median)} vs ${fmt(makespan.baseline.median)} ms` : 'not measured',
        met: isFigure(makespan.ours) && isFigure(makespan.baseline) ? makespan.ours.median <= makespan.baseline.median : null,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
