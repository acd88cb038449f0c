/**
 * runaway: one session calls `hang{}` (an infinite synchronous loop). How long until the other
 * sessions are unaffected, and until the hung session works again?
 *
 * mcp-actors runs with a 2 s deadline for `hang` and a 500 ms grace: the call is answered with a
 * deadline error, the thread that does not yield is terminated, the actor restarts. The baseline
 * has no deadline and one thread: its event loop never turns again; the harness observes a window,
 * reports "never", and kills it (a fresh baseline process serves the next round).
 */
import type { ServerKind, ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, openSessions, pct, Series, sleep, timedCall, toolCall, type TimedCall } from './util.js';

export const HANG_DEADLINE_MS = 2_000;
export const HANG_GRACE_MS = 500;
const OTHERS = 4;
/** Per-call timeout of the probes (others' echo, the victim's echo after its hang). */
const PROBE_TIMEOUT_MS = 1_000;

export const RUNAWAY_CONFIG = { sessions: { toolTimeoutsMs: { hang: HANG_DEADLINE_MS }, deadlineGraceMs: HANG_GRACE_MS } };

function windows(quick: boolean) {
  // How long the bench watches after sending hang{} before it concludes "never".
  return { preMs: quick ? 500 : 1_000, observeMs: HANG_DEADLINE_MS + (quick ? 2_500 : 4_000), afterRecoveryMs: quick ? 500 : 1_000 };
}

export interface RunawayRound {
  round: number;
  server: ServerKind;
  /** ms after hang{} was sent until its answer arrived (undefined: none within the window). */
  hangAnsweredMs: number | undefined;
  hangOutcome: string;
  /** ms after hang{} was sent until the same session answered echo again. */
  recoveredMs: number | undefined;
  /** ms after hang{} was sent until the other sessions' calls were back to normal (0: never disturbed). */
  othersUnaffectedMs: number | undefined;
  othersP99BeforeMs: number | undefined;
  othersP99DuringMs: number | undefined;
  /** Calls of the others that ended after hang{} was sent, and how many of them failed (by kind). */
  othersCallsDuring: number;
  othersFailedDuring: number;
  othersErrorKinds: Record<string, number>;
  /** Calls of the others sent while hang{} surely ran (100 ms after it was sent until its deadline). */
  othersCallsInHang: number;
  othersFailedInHang: number;
  thresholdMs: number;
  windowMs: number;
}

/** One observation of one server. */
export async function observeRunaway(url: string, quick: boolean, round: number, server: ServerKind): Promise<RunawayRound> {
  const w = windows(quick);
  const client = await openSessions(url, OTHERS + 1, { parallelism: OTHERS + 1, concurrency: OTHERS + 2 });
  try {
    if (client.sessions.length < OTHERS + 1) throw new Error(`sessions did not open: ${JSON.stringify(client.errors)}`);
    const [victim, ...others] = client.sessions as [NonNullable<(typeof client.sessions)[0]>, ...typeof client.sessions];
    const echo = toolCall('echo', { text: 'hello' });
    // The victim makes a normal call first (for ours: its actor has a thread when it hangs).
    await timedCall(victim, echo, 30_000);

    const calls: TimedCall[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const loops = others.map(async (s) => {
      while (performance.now() < stopAt) calls.push(await timedCall(s, echo, PROBE_TIMEOUT_MS));
    });
    // Before the hang: at least preMs, and until every other session has made a few ok calls
    // (a reference for "back to normal"), at most 5 s.
    const preUntil = performance.now() + 5_000;
    await sleep(w.preMs);
    while (performance.now() < preUntil && calls.filter((c) => c.kind === null).length < others.length * 5) await sleep(50);
    const tHang = performance.now();
    stopAt = tHang + w.observeMs;
    const hang = await timedCall(victim, toolCall('hang'), w.observeMs);
    let recovered: number | undefined;
    if (hang.kind !== 'timeout') {
      while (performance.now() < tHang + w.observeMs) {
        const r = await timedCall(victim, echo, PROBE_TIMEOUT_MS);
        if (r.kind === null) {
          recovered = r.end - tHang;
          stopAt = Math.min(stopAt, r.end + w.afterRecoveryMs);
          break;
        }
        if (r.kind !== 'timeout') await sleep(20);
      }
    }
    await Promise.all(loops);

    const before = calls.filter((c) => c.end <= tHang && c.kind === null).map((c) => c.ms);
    const p99Before = before.length > 0 ? pct(before, 99) : undefined;
    const thresholdMs = Math.max(3 * (p99Before ?? 0), 50);
    const during = calls.filter((c) => c.end > tHang);
    const bad = during.filter((c) => c.kind !== null || c.ms > thresholdMs);
    const lastBad = bad.length > 0 ? Math.max(...bad.map((c) => c.end)) - tHang : 0;
    // Unaffected from the end of the last disturbed call — if some later call came back normal.
    const normalAfter = during.some((c) => c.kind === null && c.ms <= thresholdMs && c.end - tHang > lastBad);
    // "During the hang": calls sent between 100 ms after hang{} (it is surely running) and its deadline.
    const inHang = calls.filter((c) => c.start >= tHang + 100 && c.start < tHang + HANG_DEADLINE_MS);
    const okDuring = inHang.filter((c) => c.kind === null).map((c) => c.ms);
    const errorKinds: Record<string, number> = {};
    for (const c of during) if (c.kind !== null) errorKinds[c.kind] = (errorKinds[c.kind] ?? 0) + 1;
    return {
      round,
      server,
      hangAnsweredMs: hang.kind === 'timeout' ? undefined : hang.ms,
      hangOutcome: hang.kind ?? 'ok',
      recoveredMs: recovered,
      othersUnaffectedMs: bad.length === 0 ? 0 : normalAfter ? lastBad : undefined,
      othersP99BeforeMs: p99Before,
      othersP99DuringMs: okDuring.length > 0 ? pct(okDuring, 99) : undefined,
      othersCallsDuring: during.length,
      othersFailedDuring: during.filter((c) => c.kind !== null).length,
      othersErrorKinds: errorKinds,
      othersCallsInHang: inHang.length,
      othersFailedInHang: inHang.length - okDuring.length,
      thresholdMs,
      windowMs: w.observeMs,
    };
  } finally {
    await client.close();
  }
}

export const runaway: Scenario = {
  name: 'runaway',
  title: 'Runaway tool (hang)',
  definition:
    `Five sessions; four loop \`echo\` (1 s timeout per call) while the fifth calls \`hang{}\`, an infinite synchronous loop. ` +
    `mcp-actors is configured with a ${HANG_DEADLINE_MS} ms deadline for \`hang\` and a ${HANG_GRACE_MS} ms grace (then the thread is terminated ` +
    `and the actor restarts). Measured from the moment \`hang\` is sent: when its answer arrives; when the same session answers \`echo\` ` +
    `again; when the other sessions are back to normal (no failed call and none slower than max(3 × their p99 before, 50 ms); 0 = never disturbed). ` +
    'The window is deadline + 4 s; a server that has not recovered by then is reported as never recovering, and is killed.',
  estimateSec(rounds, quick) {
    const w = windows(quick);
    return rounds * (2 * (w.preMs + 500) + w.observeMs + HANG_DEADLINE_MS + HANG_GRACE_MS + 1_500 + 1_000) / 1000 + 2;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const series = new Series();
    const raw: RunawayRound[] = [];
    const notes: string[] = [];
    let ours: ServerProcess | undefined;
    let baselineNever = 0;
    try {
      ours = await ctx.start('ours', { config: RUNAWAY_CONFIG });
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          ctx.log(`round ${round + 1}/${ctx.rounds} ${kind}`);
          // The baseline gets a fresh process every round: the previous one was left hung.
          const server = kind === 'ours' ? ours : await ctx.start('baseline');
          try {
            const r = await observeRunaway(server.url, ctx.quick, round, kind);
            raw.push(r);
            const never = (id: string) => series.skip(id, kind, 'never recovers (one thread, no deadline): killed after the window', true);
            if (r.hangAnsweredMs !== undefined) series.add('runaway.answered', kind, r.hangAnsweredMs);
            else never('runaway.answered');
            if (r.recoveredMs !== undefined) series.add('runaway.recovered', kind, r.recoveredMs);
            else never('runaway.recovered');
            if (r.othersUnaffectedMs !== undefined) series.add('runaway.others', kind, r.othersUnaffectedMs);
            else never('runaway.others');
            series.add('runaway.others.before', kind, r.othersP99BeforeMs);
            if (r.othersP99DuringMs !== undefined) series.add('runaway.others.during', kind, r.othersP99DuringMs);
            else series.skip('runaway.others.during', kind, 'no call of the other sessions succeeded: every one timed out (1 s)');
            if (kind === 'baseline' && r.recoveredMs === undefined) baselineNever++;
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          } finally {
            if (kind === 'baseline') await server.kill();
          }
          if (ours.exited) throw new Error('mcp-actors exited during the runaway scenario');
        }
      }
    } finally {
      await ours?.stop();
    }
    if (baselineNever > 0) {
      notes.push(`The baseline never recovered in ${baselineNever} of ${ctx.rounds} rounds: \`hang{}\` blocks its only thread; it had to be killed (SIGKILL).`);
    }
    const metrics = [
      series.metric('runaway.answered', 'hung call answered after', 'ms', 'lower', 'headline'),
      series.metric('runaway.recovered', 'hung session serves again after', 'ms', 'lower', { panel: 'timing', label: 'hang recovery' }),
      series.metric('runaway.others', 'other sessions unaffected after (0 = never disturbed)', 'ms', 'lower', 'headline'),
      series.metric('runaway.others.before', 'other sessions: p99 before the hang', 'ms', 'lower'),
      series.metric('runaway.others.during', `other sessions: p99 of calls sent while hang{} runs (0.1 s → its ${HANG_DEADLINE_MS / 1000} s deadline)`, 'ms', 'lower'),
    ];
    const ans = metrics[0]!.ours;
    const rec = metrics[1]!.ours;
    const oth = metrics[2]!.ours;
    const limit = HANG_DEADLINE_MS + 1_000;
    const goals: Goal[] = [
      {
        id: 'runaway-contained',
        text: `a hung session is contained within its deadline + 1 s (answered and serving again ≤ ${fmt(limit)} ms after the call; deadline ${HANG_DEADLINE_MS} ms, grace ${HANG_GRACE_MS} ms)`,
        measured:
          isFigure(ans) && isFigure(rec)
            ? `answered after ${fmt(ans.median)} ms, serving again after ${fmt(rec.median)} ms (max ${fmt(rec.max)} ms); others unaffected after ${isFigure(oth) ? `${fmt(oth.median)} ms` : 'never'}`
            : 'did not recover within the window',
        met: !raw.some((r) => r.server === 'ours') ? null : isFigure(ans) && isFigure(rec) && ans.median <= limit && rec.median <= limit,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
