/**
 * The live progress line: rewritten in place on a terminal (stderr), cleared before the report.
 */
import type { ProgressSnapshot } from './run.js';

export interface ProgressLine {
  update(p: ProgressSnapshot): void;
  clear(): void;
}

export function formatProgress(p: ProgressSnapshot): string {
  const goal = 'calls' in p.goal ? `${p.completed}/${p.goal.calls} calls` : `${p.elapsedSec.toFixed(1)}/${p.goal.durationSec}s, ${p.completed} calls`;
  return (
    `${p.phase === 'warmup' ? 'warm-up' : 'measuring'}: ${goal}  ok ${p.ok}  errors ${p.errors}  ` +
    `${Math.round(p.recentThroughput)}/s  in flight ${p.inFlight}`
  );
}

export function progressLine(stream: { write(s: string): unknown; columns?: number }): ProgressLine {
  let shown = false;
  return {
    update(p) {
      let text = formatProgress(p);
      const width = stream.columns ?? 0;
      if (width > 1 && text.length >= width) text = text.slice(0, width - 1);
      stream.write(`\r\x1b[K${text}`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
