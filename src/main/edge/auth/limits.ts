/**
 * Per-principal limits, on the main thread, O(1) per request:
 *
 * - a token bucket of requests per second (refilled lazily from a monotonic clock),
 * - a count of open sessions,
 * - a count of JSON-RPC requests in flight (from admission until the response is delivered).
 *
 * One principal at its limits gets 429s; the state of every other principal is untouched.
 * Anonymous traffic (no principal) is never counted here.
 */
import type { Principal, PrincipalLimits } from './principal.js';

interface State {
  limits: PrincipalLimits;
  tokens: number;
  refilledAt: number;
  sessions: number;
  inflight: number;
}

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

const OK: Admission = { ok: true };

export class PrincipalLimiter {
  private readonly states = new Map<string, State>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  private state(p: Principal): State {
    let s = this.states.get(p.id);
    if (!s) {
      s = { limits: p.limits, tokens: p.limits.burst, refilledAt: this.now(), sessions: 0, inflight: 0 };
      this.states.set(p.id, s);
    }
    return s;
  }

  private refill(s: State, now: number): void {
    const elapsed = (now - s.refilledAt) / 1000;
    if (elapsed > 0) {
      s.tokens = Math.min(s.limits.burst, s.tokens + elapsed * s.limits.requestsPerSecond);
      s.refilledAt = now;
    }
  }

  /** Takes one token from the principal's bucket. */
  takeRequest(p: Principal): Admission {
    const s = this.state(p);
    const now = this.now();
    this.refill(s, now);
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return OK;
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - s.tokens) / s.limits.requestsPerSecond)) };
  }

  openSession(p: Principal): boolean {
    const s = this.state(p);
    if (s.sessions >= s.limits.maxSessions) return false;
    s.sessions++;
    return true;
  }

  closeSession(principalId: string): void {
    const s = this.states.get(principalId);
    if (s && s.sessions > 0) s.sessions--;
  }

  beginRequest(p: Principal): boolean {
    const s = this.state(p);
    if (s.inflight >= s.limits.maxInFlight) return false;
    s.inflight++;
    return true;
  }

  endRequest(principalId: string): void {
    const s = this.states.get(principalId);
    if (s && s.inflight > 0) s.inflight--;
  }

  usage(principalId: string): { sessions: number; inflight: number; tokens: number } | undefined {
    const s = this.states.get(principalId);
    if (!s) return undefined;
    this.refill(s, this.now());
    return { sessions: s.sessions, inflight: s.inflight, tokens: s.tokens };
  }

  /** Forgets principals with nothing open and a full bucket (their state equals a fresh one). */
  sweep(): void {
    const now = this.now();
    for (const [id, s] of this.states) {
      if (s.sessions > 0 || s.inflight > 0) continue;
      this.refill(s, now);
      if (s.tokens >= s.limits.burst) this.states.delete(id);
    }
  }

  get tracked(): number {
    return this.states.size;
  }
}
