/**
 * noisy-neighbour: 19 sessions call echo (19 callers) while a 20th session loops
 * `cpu_burn{ms:200}`; throughput and p99 of the 19, quiet (no 20th) vs noisy, both servers.
 */
import { runLoad, type LoadResult } from '../loadgen/index.js';
import type { ServerKind, ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, openSessions, Series, sleep, timedCall, toolCall } from './util.js';

const QUIET_SESSIONS = 19;
const BURN_MS = 200;

function phase(quick: boolean) {
  return quick ? { warmupSec: 0.3, durationSec: 1 } : { warmupSec: 10, durationSec: 4 };
}

interface Neighbour {
  /** Stops the loop after the burn in progress; resolves with the burns completed. */
  stop(): Promise<{ burns: number; errors: number }>;
}

/** One session looping cpu_burn{ms} until stopped. */
async function startNeighbour(url: string): Promise<Neighbour> {
  const client = await openSessions(url, 1, { parallelism: 1, concurrency: 1 });
  const session = client.sessions[0];
  if (!session) {
    await client.close();
    throw new Error(`the noisy session did not open: ${JSON.stringify(client.errors)}`);
  }
  let stopped = false;
  let burns = 0;
  let errors = 0;
  const call = toolCall('cpu_burn', { ms: BURN_MS });
  const loop = (async () => {
    while (!stopped) {
      const r = await timedCall(session, call, 60_000);
      if (r.kind === null) burns++;
      else errors++;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.close();
      return { burns, errors };
    },
  };
}

interface RoundRecord {
  round: number;
  server: ServerKind;
  quiet: Pick<LoadResult, 'throughput' | 'latencyMs' | 'calls'>;
  noisy: Pick<LoadResult, 'throughput' | 'latencyMs' | 'calls'> & { burns: number; burnErrors: number };
}

export const noisyNeighbour: Scenario = {
  name: 'noisy-neighbour',
  title: 'Noisy neighbour',
  definition:
    `${QUIET_SESSIONS} sessions × ${QUIET_SESSIONS} callers call \`echo\` in a closed loop (warm-up excluded, fixed duration). ` +
    `"Quiet": alone. "Noisy": while a 20th session loops \`cpu_burn{ms:${BURN_MS}}\` (a CPU-bound tool that never yields ` +
    `for ${BURN_MS} ms). Reported: throughput and p99 of the ${QUIET_SESSIONS}, and per round noisy ÷ quiet.`,
  estimateSec(rounds, quick) {
    const p = phase(quick);
    return rounds * 2 * (2 * (p.warmupSec + p.durationSec + 1) + 0.5) + 3;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const p = phase(ctx.quick);
    const series = new Series();
    const raw: RoundRecord[] = [];
    const notes: string[] = [];
    const servers: Partial<Record<ServerKind, ServerProcess>> = {};
    const load = (url: string) =>
      runLoad({
        url,
        sessions: QUIET_SESSIONS,
        concurrency: QUIET_SESSIONS,
        tool: 'echo',
        args: { text: 'hello' },
        warmupSec: p.warmupSec,
        durationSec: p.durationSec,
        seed: ctx.seed,
        timeoutMs: 30_000,
      });
    try {
      for (const kind of ['ours', 'baseline'] as const) servers[kind] = await ctx.start(kind);
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          const url = servers[kind]!.url;
          try {
            ctx.log(`round ${round + 1}/${ctx.rounds} ${kind} quiet`);
            const quiet = await load(url);
            ctx.log(`round ${round + 1}/${ctx.rounds} ${kind} noisy`);
            const neighbour = await startNeighbour(url);
            let noisy: LoadResult;
            let burned: { burns: number; errors: number };
            try {
              await sleep(300);
              noisy = await load(url);
            } finally {
              burned = await neighbour.stop();
            }
            raw.push({
              round,
              server: kind,
              quiet: { throughput: quiet.throughput, latencyMs: quiet.latencyMs, calls: quiet.calls },
              noisy: { throughput: noisy.throughput, latencyMs: noisy.latencyMs, calls: noisy.calls, burns: burned.burns, burnErrors: burned.errors },
            });
            for (const [name, r] of [['quiet', quiet], ['noisy', noisy]] as const) {
              if (r.calls.errors > 0) notes.push(`round ${round + 1}, ${kind} ${name}: ${r.calls.errors} of ${r.calls.total} echo calls failed (${JSON.stringify(r.errorsByKind)})`);
            }
            series.add('noisy.quiet.throughput', kind, quiet.throughput);
            series.add('noisy.noisy.throughput', kind, noisy.throughput);
            series.add('noisy.quiet.p99', kind, quiet.latencyMs.p99);
            series.add('noisy.noisy.p99', kind, noisy.latencyMs.p99);
            if (quiet.throughput > 0) series.add('noisy.kept', kind, (100 * noisy.throughput) / quiet.throughput);
            if (quiet.latencyMs.p99 > 0) series.add('noisy.p99x', kind, noisy.latencyMs.p99 / quiet.latencyMs.p99);
            series.add('noisy.burns', kind, burned.burns);
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }

    const metrics = [
      series.metric('noisy.quiet.throughput', `${QUIET_SESSIONS} sessions, quiet: throughput`, 'req/s', 'higher', { panel: 'throughput', label: '19 alone' }),
      series.metric('noisy.noisy.throughput', `${QUIET_SESSIONS} sessions, noisy neighbour: throughput`, 'req/s', 'higher', { panel: 'throughput', label: '19 + noisy neighbour' }),
      series.metric('noisy.quiet.p99', `${QUIET_SESSIONS} sessions, quiet: p99`, 'ms', 'lower', { panel: 'p99', label: '19 alone' }),
      series.metric('noisy.noisy.p99', `${QUIET_SESSIONS} sessions, noisy neighbour: p99`, 'ms', 'lower', { panel: 'p99', label: '19 + noisy neighbour' }),
      series.metric('noisy.kept', 'throughput kept under the noisy neighbour (noisy ÷ quiet)', '%', 'higher', 'headline'),
      series.metric('noisy.p99x', 'p99 under the noisy neighbour (noisy ÷ quiet)', '×', 'lower', 'headline'),
      series.metric('noisy.burns', `cpu_burn{ms:${BURN_MS}} calls the noisy session completed`, 'calls', 'higher'),
    ];
    const kept = metrics.find((m) => m.id === 'noisy.kept')!.ours;
    const p99x = metrics.find((m) => m.id === 'noisy.p99x')!.ours;
    const goals: Goal[] = [
      {
        id: 'noisy-throughput-kept',
        text: 'under the noisy neighbour the 19 quiet sessions keep ≥ 50 % of their quiet throughput',
        measured: isFigure(kept) ? `${fmt(kept.median)} % (rounds ${fmt(kept.min)}–${fmt(kept.max)} %)` : 'not measured',
        met: isFigure(kept) ? kept.median >= 50 : null,
      },
      {
        id: 'noisy-p99',
        text: 'under the noisy neighbour the p99 of the 19 stays ≤ 3× quiet',
        measured: isFigure(p99x) ? `${fmt(p99x.median)}× (rounds ${fmt(p99x.min)}–${fmt(p99x.max)}×)` : 'not measured',
        met: isFigure(p99x) ? p99x.median <= 3 : null,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};
