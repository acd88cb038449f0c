/**
 * Exact latency statistics: every sample is kept (in a growable Float64Array, 8 bytes each) and
 * sorted once at the end. Percentiles use the nearest-rank definition: the p-th percentile of n
 * sorted samples is the value at 1-based rank ceil(p/100 * n), so it is always an observed value.
 */

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ShortLatencySummary {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending-sorted array; 0 for an empty one. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[n - 1]!;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1]!;
}

/** Round to 3 decimals (microsecond resolution for millisecond values). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export class Samples {
  private buf: Float64Array;
  private n = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Float64Array(Math.max(16, initialCapacity));
  }

  get count(): number {
    return this.n;
  }

  add(x: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = x;
  }

  /** A sorted copy of the samples (typed-array sort is numeric). */
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }

  summary(): LatencySummary {
    return summarize(this.sorted());
  }
}

export function summarize(sorted: Float64Array | number[]): LatencySummary {
  const n = sorted.length;
  if (n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    p50: round3(percentile(sorted, 50)),
    p90: round3(percentile(sorted, 90)),
    p99: round3(percentile(sorted, 99)),
    max: round3(sorted[n - 1]!),
    mean: round3(sum / n),
  };
}

export function summarizeShort(values: number[]): ShortLatencySummary {
  const sorted = Float64Array.from(values).sort();
  const full = summarize(sorted);
  return { p50: full.p50, p99: full.p99, max: full.max };
}

/** Adds one to `counts[kind]`. */
export function bump(counts: Record<string, number>, kind: string, by = 1): void {
  counts[kind] = (counts[kind] ?? 0) + by;
}
