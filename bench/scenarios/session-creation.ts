/**
 * session-creation: the `initialize` round trip, and the time from a new session's `initialize` to
 * its first tool result — with a warm pool of spare actor threads, and cold (no spare: the session's
 * first call waits for a worker thread to boot).
 */
import type { ServerKind, ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, openSessions, pct, Series, sleep, timedCall, toolCall } from './util.js';

function counts(quick: boolean) {
  return quick
    ? { warmup: 5, inits: 20, firstCalls: 4, coldCalls: 3, gapMs: 200 }
    : { warmup: 20, inits: 100, firstCalls: 20, coldCalls: 10, gapMs: 200 };
}

/** Config of the "cold" mcp-actors: no spare threads at all, so every session boots one. */
export const COLD_CONFIG = { warmPool: { min: 0, max: 0 } };

/** `n` sessions opened one after another; their initialize round trips (ms). */
async function initializes(url: string, n: number): Promise<number[]> {
  const client = await openSessions(url, n, { parallelism: 1, concurrency: 1 });
  await client.close();
  if (client.createMs.length < n) throw new Error(`${n - client.createMs.length} of ${n} initializes failed: ${JSON.stringify(client.errors)}`);
  return client.createMs;
}

/** `n` new sessions, one at a time `gapMs` apart: ms from sending initialize to the first echo result. */
async function firstCalls(url: string, n: number, gapMs: number): Promise<number[]> {
  const out: number[] = [];
  const echo = toolCall('echo', { text: 'hello' });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const client = await openSessions(url, 1, { parallelism: 1, concurrency: 1 });
    const s = client.sessions[0];
    if (!s) throw new Error(`initialize failed: ${JSON.stringify(client.errors)}`);
    const r = await timedCall(s, echo, 30_000);
    if (r.kind !== null) throw new Error(`first call failed: ${r.kind}`);
    out.push(r.end - t0);
    await client.close();
    await sleep(gapMs);
  }
  return out;
}

export const sessionCreation: Scenario = {
  name: 'session-creation',
  title: 'Session creation',
  definition:
    '"initialize" = the round trip of an `initialize` POST for a new session, sessions opened one after another after a warm-up ' +
    '(mcp-actors answers it without starting a thread: lazy activation). "First call" = from sending `initialize` to the result ' +
    'of the session\'s first `echo` (initialize + notifications/initialized + tools/call), new sessions one at a time 200 ms apart. ' +
    '"Warm pool": mcp-actors as shipped (spare booted threads). "Cold": mcp-actors with `warmPool {min:0, max:0}`, so the first call ' +
    'waits for a worker thread to boot. The baseline has no thread to start (its sessions live on its one thread): cold is n/a.',
  estimateSec(rounds, quick) {
    const c = counts(quick);
    return rounds * (2 * (c.warmup + c.inits) * 0.01 + 2 * c.firstCalls * (c.gapMs / 1000 + 0.05) + c.coldCalls * (c.gapMs / 1000 + 0.5)) + 4;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const c = counts(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: Array<{ round: number; server: string; initializeMs: number[]; firstCallMs: number[]; coldFirstCallMs?: number[] }> = [];
    const servers: Partial<Record<ServerKind | 'cold', ServerProcess>> = {};
    try {
      servers.ours = await ctx.start('ours');
      servers.cold = await ctx.start('ours', { config: COLD_CONFIG });
      servers.baseline = await ctx.start('baseline');
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          ctx.log(`round ${round + 1}/${ctx.rounds} ${kind}`);
          try {
            const url = servers[kind]!.url;
            await initializes(url, c.warmup);
            const init = await initializes(url, c.inits);
            const first = await firstCalls(url, c.firstCalls, c.gapMs);
            series.add('create.init.p50', kind, pct(init, 50));
            series.add('create.init.p99', kind, pct(init, 99));
            series.add('create.first.p50', kind, pct(first, 50));
            series.add('create.first.p99', kind, pct(first, 99));
            const rec: (typeof raw)[number] = { round, server: kind, initializeMs: init, firstCallMs: first };
            if (kind === 'ours') {
              const cold = await firstCalls(servers.cold!.url, c.coldCalls, c.gapMs);
              series.add('create.cold.p50', kind, pct(cold, 50));
              series.add('create.cold.p99', kind, pct(cold, 99));
              rec.coldFirstCallMs = cold;
              const h = await servers.cold!.health();
              if (h && h.warmPool.warmStarts > 1) notes.push(`round ${round + 1}: the cold server reported ${h.warmPool.warmStarts} warm starts`);
            }
            raw.push(rec);
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
    for (const id of ['create.cold.p50', 'create.cold.p99']) series.skip(id, 'baseline', 'no thread to start (see the warm pool row)');
    notes.push(
      `p99 of ${c.firstCalls} first calls (warm) and ${c.coldCalls} (cold) per round is close to their maximum; initialize p99 is over ${c.inits} sessions per round.`,
    );
    const metrics = [
      series.metric('create.init.p50', 'initialize round trip p50', 'ms', 'lower', { panel: 'timing', label: 'initialize p50' }),
      series.metric('create.init.p99', 'initialize round trip p99', 'ms', 'lower'),
      series.metric('create.first.p50', 'new session → first tool result p50, warm pool', 'ms', 'lower', { panel: 'timing', label: '1st call, warm' }),
      series.metric('create.first.p99', 'new session → first tool result p99, warm pool', 'ms', 'lower'),
      series.metric('create.cold.p50', 'new session → first tool result p50, cold (thread boot)', 'ms', 'lower', { panel: 'timing', label: '1st call, cold' }),
      series.metric('create.cold.p99', 'new session → first tool result p99, cold (thread boot)', 'ms', 'lower'),
    ];
    const init = metrics[0]!.ours;
    const goals: Goal[] = [
      {
        id: 'initialize-p50',
        text: 'initialize p50 ≤ 10 ms (warm)',
        measured: isFigure(init) ? `${fmt(init.median)} ms (rounds ${fmt(init.min)}–${fmt(init.max)} ms)` : 'not measured',
        met: isFigure(init) ? init.median <= 10 : null,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
