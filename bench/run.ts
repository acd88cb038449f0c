#!/usr/bin/env node
/**
 * `npm run bench`: the project's benchmark suite. Every scenario runs against mcp-actors and
 * against the SDK baseline, each server its own child process, alternating in the same run; the
 * results go to bench/results/ as JSON, a Markdown table and an SVG chart, and into README.md.
 *
 *   node dist/bench/run.js [--rounds N] [--only a,b] [--quick] [--seed N] [--budget-sec S]
 *                          [--out DIR] [--no-readme]
 *
 * --quick: one round, short phases, small counts (a smoke test, not a measurement).
 * --only: run these scenarios (names: see --help). A partial run (--quick or --only) writes to
 *         bench/results/partial/ and leaves README.md alone, so it never replaces a full run.
 */
import { realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, finishMachine, machineLine } from './machine.js';
import { updateReadme, type ReadmeOutcome } from './readme.js';
import { SERVER_DESCRIPTIONS, writeReport, type SuiteResults, type WrittenReport } from './report/index.js';
import { SCENARIOS } from './scenarios/index.js';
import type { Goal, Scenario, ScenarioContext, ScenarioResult } from './scenarios/types.js';
import { ROOT, startServer, type ServerKind, type ServerProcess } from './servers.js';

export interface SuiteOptions {
  rounds: number;
  quick: boolean;
  /** Scenario names, or null for all. */
  only: string[] | null;
  seed: number;
  /** The whole suite should finish within this many seconds (optional steps are skipped to keep it). */
  budgetSec: number;
  outDir: string;
  readme: boolean;
}

export const DEFAULT_ROUNDS = 3;
/**
 * Optional steps (the memory scenario's 100 live / 1,000 hibernated / 10,000 idle sessions, the
 * 2026 fresh-start curve) run only while the run is within this budget. Above the sum of the
 * scenarios' estimates (~28 min on 2 cores), so a full run measures them all.
 */
export const DEFAULT_BUDGET_SEC = 40 * 60;

export const HELP = `Usage: node dist/bench/run.js [options]     (npm run bench [-- options])

Runs the benchmark suite against mcp-actors and the SDK baseline and writes
bench/results/<timestamp>.json, latest.json, latest.md, latest.svg, and the README section.

Options:
  --rounds <n>       rounds per scenario; each figure is their median (default ${DEFAULT_ROUNDS})
  --only <a,b,...>   run only these scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
  --quick            smoke test: 1 round, short phases, small counts
  --seed <n>         base seed (default 1)
  --budget-sec <s>   time budget; optional steps are skipped to stay within it (default ${DEFAULT_BUDGET_SEC})
  --out <dir>        output folder (default bench/results; bench/results/partial for --quick/--only)
  --no-readme        do not update README.md (partial runs never do)
  -h, --help         this text
`;

export class SuiteUsageError extends Error {}

export function parseSuiteArgs(argv: string[]): SuiteOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        rounds: { type: 'string' },
        only: { type: 'string' },
        quick: { type: 'boolean' },
        seed: { type: 'string' },
        'budget-sec': { type: 'string' },
        out: { type: 'string' },
        'no-readme': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new SuiteUsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const int = (s: string | undefined, name: string, min: number, def: number): number => {
    if (s === undefined) return def;
    const x = Number(s);
    if (!Number.isSafeInteger(x) || x < min) throw new SuiteUsageError(`--${name} must be an integer ≥ ${min}`);
    return x;
  };
  const quick = v.quick === true;
  let only: string[] | null = null;
  if (v.only !== undefined) {
    only = v.only.split(',').map((s) => s.trim()).filter(Boolean);
    const known = new Set(SCENARIOS.map((s) => s.name));
    const unknown = only.filter((n) => !known.has(n));
    if (only.length === 0 || unknown.length > 0) {
      throw new SuiteUsageError(`--only: unknown scenario ${unknown.join(', ') || '(none given)'}; known: ${[...known].join(', ')}`);
    }
  }
  const partial = quick || only !== null;
  return {
    rounds: int(v.rounds, 'rounds', 1, quick ? 1 : DEFAULT_ROUNDS),
    quick,
    only,
    seed: int(v.seed, 'seed', 0, 1),
    budgetSec: int(v['budget-sec'], 'budget-sec', 1, DEFAULT_BUDGET_SEC),
    outDir: v.out ?? join(ROOT, 'bench/results', partial ? 'partial' : ''),
    readme: !partial && v['no-readme'] !== true && v.out === undefined,
  };
}

export interface SuiteRun {
  results: SuiteResults;
  written: WrittenReport;
  readme: ReadmeOutcome | 'skipped';
}

/** Runs the selected scenarios one after another and writes the report. */
export async function runSuite(opts: SuiteOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<SuiteRun> {
  const selected: Scenario[] = SCENARIOS.filter((s) => opts.only === null || opts.only.includes(s.name));
  const machine = describeMachine();
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const elapsed = () => (performance.now() - t0) / 1000;
  const stamp = () => `[${elapsed().toFixed(1).padStart(6)} s]`;
  log(`mcp-actors bench: ${machineLine(machine)}`);
  const estimates = selected.map((s) => s.estimateSec(opts.rounds, opts.quick));
  log(
    `${selected.length} scenario(s), ${opts.rounds} round(s) each, budget ${opts.budgetSec} s; estimated ${Math.round(estimates.reduce((a, b) => a + b, 0))} s: ` +
      selected.map((s, i) => `${s.name} ~${Math.round(estimates[i]!)} s`).join(', '),
  );

  const live = new Set<ServerProcess>();
  const killAll = async () => {
    await Promise.all([...live].map((s) => s.kill()));
    live.clear();
  };
  const onSignal = () => {
    log('interrupted: killing the servers');
    void killAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: ScenarioResult[] = [];
  try {
    for (let i = 0; i < selected.length; i++) {
      const scenario = selected[i]!;
      const later = estimates.slice(i + 1).reduce((a, b) => a + b, 0);
      const ctx: ScenarioContext = {
        rounds: opts.rounds,
        quick: opts.quick,
        seed: opts.seed,
        order: (round) => (round % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours']) as ServerKind[],
        start: async (kind, startOpts) => {
          const s = await startServer(kind, startOpts);
          live.add(s);
          return s;
        },
        remainingSec: () => opts.budgetSec - elapsed() - later,
        log: (m) => log(`${stamp()} ${scenario.name}: ${m}`),
      };
      log(`${stamp()} ${scenario.name}: start (${scenario.title})`);
      const s0 = performance.now();
      const base = { name: scenario.name, title: scenario.title, definition: scenario.definition };
      try {
        const out = await scenario.run(ctx);
        results.push({ ...base, ...out, durationSec: Math.round((performance.now() - s0) / 100) / 10 });
      } catch (err) {
        log(`${stamp()} ${scenario.name}: FAILED: ${(err as Error).stack ?? String(err)}`);
        results.push({ ...base, metrics: [], rounds: 0, durationSec: Math.round((performance.now() - s0) / 100) / 10, error: (err as Error).message });
      } finally {
        // A scenario that failed half-way may leave a server behind (a hung baseline cannot stop itself).
        for (const s of live) if (!s.exited) await s.kill();
        live.clear();
      }
      log(`${stamp()} ${scenario.name}: done in ${results[results.length - 1]!.durationSec} s`);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await killAll();
  }

  const goals: Goal[] = results.flatMap((r) => r.goals ?? []);
  const suite: SuiteResults = {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationSec: Math.round(elapsed() * 10) / 10,
    options: { rounds: opts.rounds, quick: opts.quick, only: opts.only, seed: opts.seed, budgetSec: opts.budgetSec },
    machine: finishMachine(machine),
    servers: { ours: SERVER_DESCRIPTIONS.ours, baseline: SERVER_DESCRIPTIONS.baseline },
    scenarios: results,
    goals,
  };
  const written = writeReport(suite, opts.outDir);
  let readme: SuiteRun['readme'] = 'skipped';
  if (opts.readme) {
    const readmePath = join(ROOT, 'README.md');
    readme = updateReadme(readmePath, suite, { chartHref: relative(ROOT, written.svg), detailsHref: relative(ROOT, written.markdown) });
  }
  return { results: suite, written, readme };
}

function summary(run: SuiteRun): string {
  const r = run.results;
  const lines = [`\nbench finished in ${Math.floor(r.durationSec / 60)} min ${Math.round(r.durationSec % 60)} s`];
  for (const g of r.goals) lines.push(`  ${g.met === null ? '?  ' : g.met ? 'met' : 'NOT'}  ${g.text}: ${g.measured}`);
  for (const s of r.scenarios) if (s.error) lines.push(`  scenario ${s.name} failed: ${s.error}`);
  lines.push(`results: ${relative(process.cwd(), run.written.json)}`);
  lines.push(`         ${relative(process.cwd(), run.written.markdown)}, ${relative(process.cwd(), run.written.svg)}`);
  lines.push(
    run.readme === 'updated'
      ? 'README.md: bench section updated'
      : run.readme === 'no-markers'
        ? 'README.md: no <!-- bench:start --> / <!-- bench:end --> markers; not updated'
        : run.readme === 'skipped'
          ? 'README.md: not updated (partial run, --out or --no-readme)'
          : `README.md: ${run.readme}`,
  );
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  let opts: SuiteOptions | 'help';
  try {
    opts = parseSuiteArgs(argv);
  } catch (err) {
    if (err instanceof SuiteUsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${HELP}`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const run = await runSuite(opts);
  process.stdout.write(summary(run));
  return run.results.scenarios.some((s) => s.error) ? 1 : 0;
}

// Run when executed (not when imported by the tests).
const invokedAs = process.argv[1];
if (invokedAs !== undefined && import.meta.url === pathToFileURL(realpathSync(invokedAs)).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
