/**
 * The Markdown report: a goals table, then one table per scenario (figure | mcp-actors | SDK
 * baseline | ours ÷ baseline), each cell the median of the rounds with [min–max].
 */
import { machineLine } from '../machine.js';
import type { Cell, Metric } from '../scenarios/types.js';
import { fmt, isFigure } from '../scenarios/util.js';
import type { SuiteResults } from './types.js';

export interface MarkdownOptions {
  /** Where the chart is, relative to the Markdown file (omit for no image). */
  chartHref?: string;
  /** Level of the top heading (default 2: "##"). */
  headingLevel?: number;
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function formatCell(c: Cell, unit: string): string {
  if (!isFigure(c)) return c.never ? '**never**' : `n/a — *${esc(c.na)}*`;
  const u = unit === '%' ? ' %' : unit === '×' ? '×' : '';
  const spread = c.values.length > 1 && c.min !== c.max ? ` [${fmt(c.min)}–${fmt(c.max)}]` : '';
  return `${fmt(c.median)}${u}${spread}`;
}

export function ratio(m: Metric): string {
  const { ours, baseline } = m;
  if (isFigure(ours) && !isFigure(baseline) && baseline.never) return 'baseline: never';
  if (!isFigure(ours) || !isFigure(baseline)) return '—';
  if (baseline.median === 0) return ours.median === 0 ? '1×' : '—';
  const r = ours.median / baseline.median;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function unitLabel(m: Metric): string {
  const arrow = m.better === 'higher' ? '↑' : '↓';
  const unit = m.unit === '%' || m.unit === '×' ? '' : `, ${m.unit}`;
  return `${esc(m.label)}${unit} ${arrow}`;
}

function duration(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = Math.round(sec - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

function preamble(r: SuiteResults): string[] {
  return [
    `Taken ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC on: ${machineLine(r.machine)}.`,
    '',
    `\`npm run bench${r.options.quick ? ' -- --quick' : ''}${r.options.only ? ` -- --only ${r.options.only.join(',')}` : ''}\`: ` +
      `${r.options.rounds} round${r.options.rounds === 1 ? '' : 's'} per scenario unless noted; each figure is the median of the rounds, ` +
      `[min–max] across rounds; warm-up excluded; seed ${r.options.seed}; the whole run took ${duration(r.durationSec)}. ` +
      'Both servers run as their own child processes on this machine, measured alternately (the order flips every round) by a load ' +
      'generator in the bench process. ↑ higher is better, ↓ lower is better; "ours ÷ baseline" divides the medians.',
    '',
  ];
}

function goalsTable(r: SuiteResults): string[] {
  if (r.goals.length === 0) return [];
  const out = ['| goal | measured (mcp-actors) | |', '| --- | --- | --- |'];
  for (const g of r.goals) {
    const verdict = g.met === null ? '❔ not measured' : g.met ? '✅ met' : '❌ not met';
    out.push(`| ${esc(g.text)} | ${esc(g.measured)} | ${verdict} |`);
  }
  out.push('');
  return out;
}

const TABLE_HEAD = ['| figure | mcp-actors | SDK baseline | ours ÷ baseline |', '| --- | ---: | ---: | ---: |'];

function row(m: Metric): string {
  return `| ${unitLabel(m)} | ${formatCell(m.ours, m.unit)} | ${formatCell(m.baseline, m.unit)} | ${ratio(m)} |`;
}

/** The full report: every scenario's definition, table and notes. */
export function markdown(r: SuiteResults, opts: MarkdownOptions = {}): string {
  const h = (n: number) => '#'.repeat((opts.headingLevel ?? 2) + n);
  const out: string[] = [];
  const partial = r.options.quick || r.options.only !== null;
  out.push(`${h(0)} Benchmark results${partial ? ' (partial run)' : ''}`, '');
  out.push(...preamble(r));
  out.push(`- **mcp-actors**: ${r.servers.ours}`, `- **SDK baseline**: ${r.servers.baseline}`, '');
  if (opts.chartHref) out.push(`![Throughput and latency per scenario, mcp-actors and the SDK baseline side by side](${opts.chartHref})`, '');
  if (r.goals.length > 0) out.push(`${h(1)} Goals`, '', ...goalsTable(r));

  for (const s of r.scenarios) {
    out.push(`${h(1)} ${esc(s.title)}`, '', s.definition, '');
    if (s.rounds !== r.options.rounds) out.push(`*${s.rounds} round${s.rounds === 1 ? '' : 's'}; ${fmt(s.durationSec)} s.*`, '');
    else out.push(`*${fmt(s.durationSec)} s.*`, '');
    if (s.error) out.push(`**The scenario failed:** ${esc(s.error)}`, '');
    if (s.metrics.length > 0) out.push(...TABLE_HEAD, ...s.metrics.map(row), '');
    for (const n of s.notes ?? []) out.push(`- ${n}`);
    if ((s.notes ?? []).length > 0) out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/**
 * The README's section: machine line, chart, goals, and one summary table (the charted figures
 * and a few headline rows), with a link to the full report.
 */
export function readmeMarkdown(r: SuiteResults, opts: { chartHref: string; detailsHref: string }): string {
  const out: string[] = [...preamble(r)];
  out.push(`![Throughput and latency per scenario, mcp-actors and the SDK baseline side by side](${opts.chartHref})`, '');
  out.push(...goalsTable(r));
  const rows = r.scenarios.flatMap((s) => s.metrics.filter((m) => m.chart !== undefined || m.headline === true).map((m) => ({ s, m })));
  if (rows.length > 0) {
    out.push('| scenario | figure | mcp-actors | SDK baseline | ours ÷ baseline |', '| --- | --- | ---: | ---: | ---: |');
    for (const { s, m } of rows) out.push(`| ${esc(s.title)} ${row(m)}`);
    out.push('');
  }
  const failed = r.scenarios.filter((s) => s.error);
  if (failed.length > 0) out.push(`Failed in this run: ${failed.map((s) => `${s.name} (${esc(s.error!)})`).join('; ')}.`, '');
  out.push(`Every scenario's definition, all figures and the notes: [${opts.detailsHref}](${opts.detailsHref}).`);
  return `${out.join('\n').trimEnd()}\n`;
}
