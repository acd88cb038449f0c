/**
 * Helpers the scenarios share: figures from rounds, MCP sessions over HTTP (the load generator's
 * own client), timed calls, and waiting for a process's RSS to settle.
 */
import { prepareCalls, validateMix, type PreparedCall } from '../loadgen/scenario.js';
import { HttpDriver, type BenchSession } from '../loadgen/session.js';
import { percentile } from '../loadgen/stats.js';
import type { Health, ServerKind, ServerProcess } from '../servers.js';
import type { Cell, ChartSlot, Figure, Metric, NotMeasured, Unit } from './types.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isFigure(c: Cell | undefined): c is Figure {
  return c !== undefined && 'median' in c;
}

/** Median (mean of the middle two for an even count), min and max. */
export function figure(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { median: round(median), min: round(sorted[0] ?? 0), max: round(sorted[n - 1] ?? 0), values: values.map(round) };
}

export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const digits = a >= 100 ? 1 : a >= 1 ? 2 : 4;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function na(reason: string, never = false): NotMeasured {
  return never ? { na: reason, never } : { na: reason };
}

/**
 * Per-round values of each metric and server; `cell()` turns them into a figure, or a "not
 * measured" cell with the reason recorded for that metric and server.
 */
export class Series {
  private readonly values = new Map<string, Record<ServerKind, number[]>>();
  private readonly missing = new Map<string, Partial<Record<ServerKind, NotMeasured>>>();

  add(id: string, kind: ServerKind, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    let v = this.values.get(id);
    if (!v) this.values.set(id, (v = { ours: [], baseline: [] }));
    v[kind].push(value);
  }

  /** Marks a metric as not measured for a server (the first reason wins). */
  skip(id: string, kind: ServerKind, reason: string, never = false): void {
    let m = this.missing.get(id);
    if (!m) this.missing.set(id, (m = {}));
    m[kind] ??= na(reason, never);
  }

  get(id: string, kind: ServerKind): number[] {
    return this.values.get(id)?.[kind] ?? [];
  }

  cell(id: string, kind: ServerKind): Cell {
    const skipped = this.missing.get(id)?.[kind];
    if (skipped) return skipped;
    const v = this.get(id, kind);
    return v.length > 0 ? figure(v) : na('not measured');
  }

  /** `show`: a chart slot, or 'headline' for a README summary row without a bar. */
  metric(id: string, label: string, unit: Unit, better: 'higher' | 'lower', show?: ChartSlot | 'headline'): Metric {
    const m: Metric = { id, label, unit, better, ours: this.cell(id, 'ours'), baseline: this.cell(id, 'baseline') };
    if (show === 'headline') m.headline = true;
    else if (show) m.chart = show;
    return m;
  }
}

const prepared = new Map<string, PreparedCall>();

/** A tools/call body for the load generator's sessions (memoized per tool and arguments). */
export function toolCall(tool: string, args: Record<string, unknown> = {}): PreparedCall {
  const key = `${tool} ${JSON.stringify(args)}`;
  let c = prepared.get(key);
  if (!c) prepared.set(key, (c = prepareCalls(validateMix([{ tool, args }]))[0]!));
  return c;
}

export interface TimedCall {
  /** ms from the bench's clock origin (performance.now()) when the call was sent. */
  start: number;
  end: number;
  ms: number;
  /** null: ok; else the error kind (timeout, rpc_-32001, tool_error, …). */
  kind: string | null;
}

export async function timedCall(session: BenchSession, call: PreparedCall, timeoutMs: number): Promise<TimedCall> {
  const start = performance.now();
  const err = await session.call(call, timeoutMs);
  const end = performance.now();
  return { start, end, ms: end - start, kind: err?.kind ?? null };
}

export interface OpenedClient {
  sessions: BenchSession[];
  /** initialize round trips (ms) of the sessions that opened. */
  createMs: number[];
  errors: Record<string, number>;
  /** DELETEs the sessions (bounded), closes the sockets. */
  close(): Promise<void>;
}

/**
 * Opens `count` MCP sessions on a Streamable HTTP endpoint with the load generator's client
 * (initialize timed, then notifications/initialized). `parallelism` sessions are opened at once.
 */
export async function openSessions(
  url: string,
  count: number,
  opts: { parallelism?: number; concurrency?: number; timeoutMs?: number } = {},
): Promise<OpenedClient> {
  const driver = new HttpDriver({
    url,
    concurrency: Math.max(opts.concurrency ?? 16, opts.parallelism ?? 8),
    openParallelism: opts.parallelism ?? 8,
  });
  const opened = await driver.open(count, opts.timeoutMs ?? 30_000);
  let closing: Promise<void> | undefined;
  return {
    ...opened,
    close() {
      // A blocked or killed server answers no DELETE: give up after a while, sockets close anyway.
      closing ??= Promise.race([driver.close(), sleep(15_000)]);
      return closing;
    },
  };
}

/** Runs `fn(i)` for i in [0, n) with at most `parallel` at a time. */
export async function forEachLimit(n: number, parallel: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, parallel) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Nearest-rank percentile of unsorted values (0 when empty). */
export function pct(values: number[], p: number): number {
  return percentile(Float64Array.from(values).sort(), p);
}

export const MB = 1024 * 1024;

/**
 * Waits until the server's RSS holds steady (two readings 500 ms apart within 1 %, and for ours
 * no thread booting and the thread count unchanged), at most `maxMs`; returns the last reading.
 */
export async function settledRss(server: ServerProcess, maxMs = 8_000): Promise<{ rss: number; threads?: number; settled: boolean }> {
  const until = Date.now() + maxMs;
  let prev = server.rss() ?? 0;
  let prevThreads = (await server.health())?.threads;
  for (;;) {
    await sleep(500);
    const rss = server.rss() ?? 0;
    const h = await server.health();
    const steadyThreads = server.kind !== 'ours' || (h !== undefined && h.threads === prevThreads && h.warmPool.booting === 0);
    if (steadyThreads && Math.abs(rss - prev) <= prev * 0.01) return { rss, threads: h?.threads, settled: true };
    if (Date.now() >= until) return { rss, threads: h?.threads, settled: false };
    prev = rss;
    prevThreads = h?.threads;
  }
}

/** "1,234" / "12.3" / "0.123": a number for a table cell. */
export function fmt(x: number): string {
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** Polls ours' /health until `check` holds (true) or the timeout passes (false). */
export async function waitForHealth(server: ServerProcess, check: (h: Health) => boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const h = await server.health();
    if (h && check(h)) return true;
    if (Date.now() >= until || server.exited) return false;
    await sleep(intervalMs);
  }
}
