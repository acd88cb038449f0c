/**
 * reactivation: the first call on a session that has been idle long enough to hibernate.
 *
 * mcp-actors hibernates it (its thread is released; its record and ctx.state stay) and must give
 * it a thread again, replay the handshake and restore its state before the call runs. The
 * baseline keeps every session live; the same client-visible operation there is a plain call.
 */
import type { ServerKind, ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, openSessions, pct, Series, sleep, timedCall, toolCall, waitForHealth } from './util.js';

const HIBERNATE_AFTER_MS = 500;
/**
 * The pool at its resting size (min = max = 2): after the hibernations it holds exactly its two
 * spares, as on a server that has been quiet for a while, without waiting for it to shrink.
 */
export const REACTIVATION_CONFIG = { sessions: { hibernateAfterMs: HIBERNATE_AFTER_MS }, warmPool: { min: 2, max: 2 } };

function counts(quick: boolean) {
  return quick ? { sessions: 4, gapMs: 250 } : { sessions: 20, gapMs: 250 };
}

export const reactivation: Scenario = {
  name: 'reactivation',
  title: 'Reactivation of a hibernated session',
  definition:
    `N sessions each call \`whoami\` (which writes ctx.state), then stay idle. mcp-actors runs with \`hibernateAfterMs: ${HIBERNATE_AFTER_MS}\` and ` +
    '`warmPool {min:2, max:2}`; the bench waits until /health reports them all hibernated and the pool back at its two spares. Then each ' +
    'session calls `whoami` again, one at a time, 250 ms apart: the round trip of that call is the reactivation time (thread from the pool, ' +
    'handshake replayed, state restored, call run). The baseline keeps sessions live: the same idle-then-call there is an ordinary call.',
  estimateSec(rounds, quick) {
    const c = counts(quick);
    return rounds * (c.sessions * (0.3 + c.gapMs / 1000) + 3 + c.sessions * (c.gapMs / 1000) + 1) + 3;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const c = counts(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: Array<{ round: number; server: ServerKind; ms: number[]; coldStarts?: number; hibernatedAll?: boolean }> = [];
    const servers: Partial<Record<ServerKind, ServerProcess>> = {};
    const whoami = toolCall('whoami');
    try {
      servers.ours = await ctx.start('ours', { config: REACTIVATION_CONFIG });
      servers.baseline = await ctx.start('baseline');
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          ctx.log(`round ${round + 1}/${ctx.rounds} ${kind}`);
          const server = servers[kind]!;
          const client = await openSessions(server.url, c.sessions, { parallelism: 4, concurrency: 4 });
          try {
            if (client.sessions.length < c.sessions) throw new Error(`sessions did not open: ${JSON.stringify(client.errors)}`);
            for (const s of client.sessions) {
              const r = await timedCall(s, whoami, 30_000);
              if (r.kind !== null) throw new Error(`activation call failed: ${r.kind}`);
            }
            let hibernatedAll: boolean | undefined;
            let coldBefore = 0;
            if (kind === 'ours') {
              hibernatedAll = await waitForHealth(server, (h) => h.sessions.active === 0 && h.sessions.starting === 0 && h.sessions.hibernated >= c.sessions, 15_000);
              if (!hibernatedAll) notes.push(`round ${round + 1}: not every session hibernated within 15 s; measured anyway`);
              await waitForHealth(server, (h) => h.warmPool.spare >= 2 && h.warmPool.booting === 0, 5_000);
              coldBefore = (await server.health())?.warmPool.coldStarts ?? 0;
            } else {
              await sleep(HIBERNATE_AFTER_MS + 500);
            }
            const ms: number[] = [];
            for (const s of client.sessions) {
              const r = await timedCall(s, whoami, 30_000);
              if (r.kind !== null) throw new Error(`call after idle failed: ${r.kind}`);
              ms.push(r.ms);
              await sleep(c.gapMs);
            }
            const rec: (typeof raw)[number] = { round, server: kind, ms };
            if (kind === 'ours') {
              rec.coldStarts = ((await server.health())?.warmPool.coldStarts ?? coldBefore) - coldBefore;
              rec.hibernatedAll = hibernatedAll;
            }
            raw.push(rec);
            series.add('reactivate.p50', kind, pct(ms, 50));
            series.add('reactivate.p99', kind, pct(ms, 99));
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          } finally {
            await client.close();
          }
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
    const cold = raw.filter((r) => r.server === 'ours').reduce((a, r) => a + (r.coldStarts ?? 0), 0);
    notes.push(`mcp-actors booted ${cold} thread(s) cold during the reactivations (the rest came from the warm pool).`);
    notes.push(`p99 of ${c.sessions} reactivations per round is close to their maximum.`);
    const metrics = [
      series.metric('reactivate.p50', 'first call after idle p50 (ours: reactivation from hibernation)', 'ms', 'lower', { panel: 'timing', label: 'reactivation p50' }),
      series.metric('reactivate.p99', 'first call after idle p99 (ours: reactivation from hibernation)', 'ms', 'lower'),
    ];
    const m = metrics[0]!.ours;
    const goals: Goal[] = [
      {
        id: 'reactivation-p50',
        text: 'reactivation of a hibernated session p50 < 15 ms',
        measured: isFigure(m) ? `${fmt(m.median)} ms (rounds ${fmt(m.min)}–${fmt(m.max)} ms)` : 'not measured',
        met: isFigure(m) ? m.median < 15 : null,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
