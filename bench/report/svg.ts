/**
 * The chart: hand-written SVG, no dependencies. One panel per kind of figure — throughput
 * (linear), p99 latency and other timings (log scales) — with mcp-actors and the SDK baseline side
 * by side in every group: the bar is the median of the rounds, the whisker its min–max spread.
 * A server that never recovers gets a hatched full-height bar labelled "never".
 */
import type { Cell, ChartSlot, Metric } from '../scenarios/types.js';
import { fmt, isFigure } from '../scenarios/util.js';
import type { ServerKind } from '../servers.js';
import type { SuiteResults } from './types.js';

export const COLORS: Record<ServerKind, string> = { ours: '#2563eb', baseline: '#ea580c' };
export const NAMES: Record<ServerKind, string> = { ours: 'mcp-actors', baseline: 'SDK baseline (single thread)' };

const PANELS: Array<{ panel: ChartSlot['panel']; title: string; log: boolean }> = [
  { panel: 'throughput', title: 'Throughput — req/s, higher is better', log: false },
  { panel: 'p99', title: 'p99 latency — ms, lower is better (log scale)', log: true },
  { panel: 'timing', title: 'Timings — ms, lower is better (log scale)', log: true },
];

const WIDTH = 1000;
const LEFT = 72;
const RIGHT = 24;
const PANEL_H = 270;
const PLOT_TOP = 34;
const PLOT_H = 170;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n = (x: number) => (Math.round(x * 10) / 10).toString();

function niceCeil(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function tickLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Math.round(v * 1e6) / 1e6);
}

interface Scale {
  y(v: number): number;
  ticks: number[];
  base: number;
}

function linearScale(max: number, top: number): Scale {
  const hi = niceCeil(max * 1.12);
  const bottom = top + PLOT_H;
  const step = hi / 5;
  return { y: (v) => bottom - (Math.max(0, v) / hi) * PLOT_H, ticks: [0, 1, 2, 3, 4, 5].map((i) => i * step), base: bottom };
}

function logScale(minPositive: number, max: number, top: number): Scale {
  let lo = 10 ** Math.floor(Math.log10(minPositive));
  let hi = 10 ** Math.ceil(Math.log10(max * 1.15));
  if (hi <= lo) hi = lo * 10;
  if (!(lo > 0)) lo = 0.1;
  const bottom = top + PLOT_H;
  const span = Math.log10(hi) - Math.log10(lo);
  const ticks: number[] = [];
  for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
  return { y: (v) => (v <= lo ? bottom : bottom - ((Math.log10(v) - Math.log10(lo)) / span) * PLOT_H), ticks, base: bottom };
}

function cellValues(c: Cell): number[] {
  return isFigure(c) ? [c.median, c.min, c.max] : [];
}

function panelSvg(title: string, log: boolean, metrics: Metric[], top: number): string {
  const out: string[] = [];
  const all = metrics.flatMap((m) => [...cellValues(m.ours), ...cellValues(m.baseline)]);
  const positives = all.filter((v) => v > 0);
  const max = Math.max(1e-9, ...all);
  const plotTop = top + PLOT_TOP;
  const scale = log ? logScale(positives.length > 0 ? Math.min(...positives) : 1, max, plotTop) : linearScale(max, plotTop);
  const plotW = WIDTH - LEFT - RIGHT;
  out.push(`<text x="${LEFT}" y="${top + 20}" font-size="15" font-weight="600" fill="#111827">${xml(title)}</text>`);
  // Grid and axis labels.
  for (const t of scale.ticks) {
    const y = n(scale.y(t));
    out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="#e5e7eb" stroke-width="1"/>`);
    out.push(`<text x="${LEFT - 8}" y="${y}" font-size="11" fill="#4b5563" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`);
  }
  out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${n(scale.base)}" y2="${n(scale.base)}" stroke="#6b7280" stroke-width="1"/>`);

  const groupW = plotW / Math.max(1, metrics.length);
  const barW = Math.min(40, groupW * 0.32);
  metrics.forEach((m, i) => {
    const cx = LEFT + groupW * (i + 0.5);
    (['ours', 'baseline'] as const).forEach((kind, j) => {
      const c = m[kind];
      const x = cx + (j === 0 ? -barW - 2 : 2);
      const mid = x + barW / 2;
      const common = `class="bar ${kind}" data-metric="${xml(m.id)}" data-server="${kind}"`;
      if (isFigure(c)) {
        const y = scale.y(c.median);
        const h = Math.max(0, scale.base - y);
        out.push(`<rect ${common} data-value="${c.median}" x="${n(x)}" y="${n(y)}" width="${n(barW)}" height="${n(Math.max(h, 0.5))}" fill="${COLORS[kind]}"><title>${xml(`${NAMES[kind]} — ${m.label}: ${fmt(c.median)} ${m.unit} (rounds: ${c.values.map(fmt).join(', ')})`)}</title></rect>`);
        let labelY = y;
        if (c.values.length > 1 && c.max !== c.min) {
          const y1 = scale.y(c.min);
          const y2 = scale.y(c.max);
          labelY = Math.min(y, y2);
          out.push(
            `<path d="M${n(mid)} ${n(y1)}V${n(y2)}M${n(mid - 5)} ${n(y1)}h10M${n(mid - 5)} ${n(y2)}h10" stroke="#111827" stroke-width="1.3" fill="none"/>`,
          );
        }
        out.push(`<text x="${n(mid)}" y="${n(labelY - 5)}" font-size="11" fill="#111827" text-anchor="middle">${xml(fmt(c.median))}</text>`);
      } else if (c.never) {
        const y = plotTop + 8;
        out.push(`<rect ${common} data-value="never" x="${n(x)}" y="${n(y)}" width="${n(barW)}" height="${n(scale.base - y)}" fill="url(#never)" stroke="${COLORS[kind]}" stroke-width="1.5"><title>${xml(`${NAMES[kind]} — ${m.label}: never (${c.na})`)}</title></rect>`);
        out.push(`<text x="${n(mid)}" y="${n(y - 5)}" font-size="11" font-weight="700" fill="${COLORS[kind]}" text-anchor="middle">never</text>`);
      } else {
        out.push(`<text ${common} data-value="n/a" x="${n(mid)}" y="${n(scale.base - 6)}" font-size="10" fill="#6b7280" text-anchor="middle"><title>${xml(c.na)}</title>n/a</text>`);
      }
    });
    const label = m.chart?.label ?? m.label;
    out.push(`<text x="${n(cx)}" y="${n(scale.base + 17)}" font-size="12" fill="#111827" text-anchor="middle">${xml(label)}</text>`);
  });
  return out.join('\n');
}

/** Date and machine in one line that fits the chart's width. */
function shortMachine(r: SuiteResults): string {
  const m = r.machine;
  const load = `load ${m.loadAverageAtStart[0]}${m.loadAverageAtEnd ? `→${m.loadAverageAtEnd[0]}` : ''}`;
  const cores = m.cpuQuota !== undefined ? `${m.cpuQuota} of ${m.cores} cores` : `${m.cores} cores`;
  const line = [`${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`, `${cores} ${m.cpuModel}`, `${m.totalMemoryGB} GB`, `Node ${m.node}`, load, m.commit ? `commit ${m.commit}` : ''];
  const text = line.filter(Boolean).join(' · ');
  return text.length > 150 ? `${text.slice(0, 149)}…` : text;
}

export function chartSvg(r: SuiteResults): string {
  const metrics = r.scenarios.flatMap((s) => s.metrics).filter((m) => m.chart !== undefined);
  const panels = PANELS.map((p) => ({ ...p, metrics: metrics.filter((m) => m.chart!.panel === p.panel) })).filter((p) => p.metrics.length > 0);
  const headerH = 78;
  const height = headerH + Math.max(1, panels.length) * PANEL_H + 10;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} role="img" aria-label="mcp-actors vs the SDK baseline: throughput and latency per scenario">`,
    '<defs><pattern id="never" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff7ed"/><line x1="0" y1="0" x2="0" y2="8" stroke="#ea580c" stroke-width="3"/></pattern></defs>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="28" font-size="19" font-weight="700" fill="#111827">mcp-actors vs the MCP SDK's own server — same tools, same machine, same run</text>`,
    `<text x="${LEFT}" y="48" font-size="11.5" fill="#4b5563">${xml(shortMachine(r))}</text>`,
  );
  // Legend.
  let lx = LEFT;
  for (const kind of ['ours', 'baseline'] as const) {
    out.push(`<g class="legend" data-series="${kind}"><rect x="${lx}" y="58" width="14" height="12" fill="${COLORS[kind]}"/><text x="${lx + 20}" y="68" font-size="12" fill="#111827">${xml(NAMES[kind])}</text></g>`);
    lx += 20 + NAMES[kind].length * 7 + 24;
  }
  out.push(`<text x="${lx}" y="68" font-size="11.5" fill="#4b5563">bar: median of ${r.options.rounds} round${r.options.rounds === 1 ? '' : 's'} · whisker: min–max</text>`);
  if (panels.length === 0) {
    out.push(`<text x="${LEFT}" y="${headerH + 40}" font-size="14" fill="#6b7280">No charted figures in this run.</text>`);
  }
  panels.forEach((p, i) => {
    out.push(`<g class="panel" data-panel="${p.panel}">`, panelSvg(p.title, p.log, p.metrics, headerH + i * PANEL_H), '</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
