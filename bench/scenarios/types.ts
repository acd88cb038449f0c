/**
 * The contract every benchmark scenario implements, and the shapes of what it reports.
 *
 * A scenario is one module in bench/scenarios/ that exports a `Scenario`. It starts the servers it
 * needs through `ctx.start` (each server its own child process), runs `ctx.rounds` rounds in which
 * both servers are measured one after the other — the order alternating per round (`ctx.order`)
 * so drift on a shared machine falls on both — and returns named metrics, each with a figure per
 * server (the median of the rounds, with min and max) or a reason it is not applicable.
 *
 * New scenarios (ccxt, cua, …) add a module and a line in ./index.ts; the report, the chart and
 * the README section pick them up from the metrics they return.
 */
import type { ServerKind, ServerProcess, StartOptions } from '../servers.js';

/** The median of several rounds, with its spread. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** Every round's value, in round order. */
  values: number[];
}

/** Not measured: why (not applicable to this server, skipped for time or memory, failed). */
export interface NotMeasured {
  na: string;
  /** A server that cannot recover at all ("never"), as opposed to a figure that is missing. */
  never?: boolean;
}

export type Cell = Figure | NotMeasured;

export type Unit = 'req/s' | 'ms' | 'MB' | 'KB' | 's' | 'calls' | '%' | '×';

/** Where a metric appears in the chart (omit to keep it out of the chart). */
export interface ChartSlot {
  panel: 'throughput' | 'p99' | 'timing';
  /** Short label under the bar pair. */
  label: string;
}

export interface Metric {
  /** Stable id, e.g. "echo.20x20.throughput". */
  id: string;
  /** What the row shows, e.g. "echo 20×20 throughput". */
  label: string;
  unit: Unit;
  better: 'higher' | 'lower';
  ours: Cell;
  baseline: Cell;
  chart?: ChartSlot;
  /** Shown in the README's summary table even though it is not charted. */
  headline?: boolean;
}

export interface Goal {
  id: string;
  /** The goal in words, e.g. "echo throughput ≥ 2× the SDK server at 20×20". */
  text: string;
  /** The measured figure in words, e.g. "2.4× (5,210 vs 2,170 req/s)". */
  measured: string;
  /** null: could not be measured in this run. */
  met: boolean | null;
}

export interface ScenarioOutput {
  metrics: Metric[];
  goals?: Goal[];
  /** Caveats and observations, shown under the scenario's table. */
  notes?: string[];
  /** How many rounds the figures are medians of (may be fewer than asked, e.g. memory). */
  rounds: number;
  /** Scenario-specific raw data kept in the JSON (per-round details). */
  raw?: unknown;
}

export interface ScenarioResult extends ScenarioOutput {
  name: string;
  title: string;
  definition: string;
  durationSec: number;
  /** Set when the scenario failed; its metrics are whatever it produced before. */
  error?: string;
}

export interface ScenarioContext {
  /** Rounds asked for (each figure is the median of the rounds). */
  rounds: number;
  /** Smoke-test mode: one round, short phases, small counts. */
  quick: boolean;
  /** Base seed; scenarios derive theirs from it. */
  seed: number;
  /** The servers in the order to measure them in this round (alternates per round). */
  order(round: number): ServerKind[];
  /** Starts a server; the harness stops any a scenario leaves behind. */
  start(kind: ServerKind, opts?: StartOptions): Promise<ServerProcess>;
  /** Seconds left in the suite's time budget (optional parts are skipped when short). */
  remainingSec(): number;
  log(message: string): void;
}

export interface Scenario {
  /** Module and CLI name, e.g. "echo" (used by --only). */
  name: string;
  title: string;
  /** What is measured and how, in a sentence or three (printed in the report). */
  definition: string;
  /** Rough duration in seconds for `rounds` rounds (for planning and the progress line). */
  estimateSec(rounds: number, quick: boolean): number;
  run(ctx: ScenarioContext): Promise<ScenarioOutput>;
}
