/**
 * Restart intensity (at most R restarts in T milliseconds) and exponential backoff with jitter —
 * the two numbers a supervisor consults before restarting a child.
 */

export interface IntensitySpec {
  maxRestarts: number;
  periodMs: number;
}

export interface BackoffSpec {
  baseMs: number;
  maxMs: number;
  /** 0 = deterministic, 1 = "full jitter" (uniform in [0, delay]). */
  jitter: number;
}

/** Sliding-window restart counter, as OTP's supervisor keeps it. */
export class RestartIntensity {
  private readonly times: number[] = [];

  constructor(private readonly spec: IntensitySpec) {}

  /** Records a restart at `now`; returns false when it would exceed the intensity. */
  admit(now: number): boolean {
    const horizon = now - this.spec.periodMs;
    while (this.times.length > 0 && this.times[0]! <= horizon) this.times.shift();
    if (this.times.length >= this.spec.maxRestarts) return false;
    this.times.push(now);
    return true;
  }

  /** Restarts counted inside the current window. */
  get recent(): number {
    return this.times.length;
  }
}

/** Delay before restart number `attempt` (1-based within the current window). */
export function backoffDelay(attempt: number, spec: BackoffSpec, random: () => number = Math.random): number {
  if (attempt <= 1 && spec.baseMs === 0) return 0;
  const exp = Math.min(spec.maxMs, spec.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp * (1 - spec.jitter) + exp * spec.jitter * random();
  return Math.round(Math.min(spec.maxMs, jittered));
}
