/**
 * The human-readable report printed when --json is not given.
 */
import type { LoadResult } from './run.js';

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function kinds(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

export function formatReport(r: LoadResult): string {
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${label.padEnd(16)}${text}`);
  };
  const l = r.latencyMs;
  const s = r.sessionCreateMs;
  row('target', `${r.target} (${r.transport})`);
  row(
    'sessions',
    `${r.sessions} opened; initialize p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, max ${ms(s.max)} ms` +
      (r.sessionErrors ? `; failed: ${kinds(r.sessionErrors)}` : ''),
  );
  row('concurrency', String(r.concurrency));
  row(
    'measured',
    `${r.durationSec.toFixed(2)} s` +
      (r.warmup ? ` (after a warm-up of ${r.warmup.calls} calls in ${r.warmup.durationSec.toFixed(2)} s)` : ''),
  );
  row('calls', `${r.calls.total} total, ${r.calls.ok} ok, ${r.calls.errors} errors`);
  row('throughput', `${r.throughput.toFixed(1)} calls/s`);
  row(
    'latency (ok)',
    r.calls.ok === 0
      ? 'no successful calls'
      : `p50 ${ms(l.p50)} ms  p90 ${ms(l.p90)} ms  p99 ${ms(l.p99)} ms  max ${ms(l.max)} ms  mean ${ms(l.mean)} ms`,
  );
  row('errors', kinds(r.errorsByKind));
  for (const [kind, message] of Object.entries(r.errorSamples ?? {})) lines.push(`  ${kind}: ${message.replace(/\s+/g, ' ')}`);
  if (r.perTool) {
    lines.push('per tool');
    for (const [tool, t] of Object.entries(r.perTool)) {
      const lat = t.ok === 0 ? '' : `; p50 ${ms(t.latencyMs.p50)} ms  p99 ${ms(t.latencyMs.p99)} ms  max ${ms(t.latencyMs.max)} ms`;
      lines.push(`  ${tool.padEnd(14)}${t.calls} calls, ${t.ok} ok, ${t.errors} errors${lat}`);
    }
  }
  row('load-gen CPU', `${Math.round(r.loadgenCpu.coreUtilization * 100)}% of one core`);
  if (r.aborted) row('stopped early', r.aborted);
  return `${lines.join('\n')}\n`;
}
