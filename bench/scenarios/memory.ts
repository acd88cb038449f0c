/**
 * memory: resident set size of the server process (VmRSS from /proc/<pid>/status, every thread
 * included) with no session, with live sessions, and with idle ones — for mcp-actors hibernated.
 *
 * Sizes, not timings, and expensive to reach (a live mcp-actors session holds a worker thread):
 * one round. Steps that would not fit in the machine's available memory or in the suite's time
 * budget are skipped, and the report says so.
 */
import { readFileSync } from 'node:fs';
import type { ServerKind, ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, forEachLimit, isFigure, MB, openSessions, Series, settledRss, timedCall, toolCall, waitForHealth, type OpenedClient } from './util.js';

export const LIVE_CONFIG = { sessions: { hibernateAfterMs: 0 } };
/** Hibernate quickly; a small pool ceiling, and spares retired without waiting, so the spares left by the activations retire within seconds. */
export const HIBERNATE_CONFIG = { sessions: { hibernateAfterMs: 300 }, warmPool: { min: 2, max: 8, spareIdleMs: 0 } };

function counts(quick: boolean) {
  return quick ? { live: [5, 10, 20], hibernated: 20, idle: 200 } : { live: [10, 100, 1_000], hibernated: 1_000, idle: 10_000 };
}

/** MemAvailable in bytes (falls back to os-level free memory when /proc is unreadable). */
function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // fall through
  }
  return 0;
}

interface Point {
  server: ServerKind;
  state: string;
  sessions: number;
  rssMB: number;
  threads?: number;
  settled: boolean;
  /** Seconds it took to reach this state. */
  reachSec: number;
}

/** Opens `n` sessions and makes one call on each (so every mcp-actors session holds a thread). */
async function liveSessions(url: string, n: number, tool: string): Promise<OpenedClient> {
  const client = await openSessions(url, n, { parallelism: 8, concurrency: 16 });
  if (client.sessions.length < n) {
    await client.close();
    throw new Error(`${n - client.sessions.length} of ${n} sessions did not open: ${JSON.stringify(client.errors)}`);
  }
  const call = toolCall(tool);
  let failed = 0;
  await forEachLimit(client.sessions.length, 8, async (i) => {
    const r = await timedCall(client.sessions[i]!, call, 120_000);
    if (r.kind !== null) failed++;
  });
  if (failed > 0) {
    await client.close();
    throw new Error(`${failed} of ${n} activation calls failed`);
  }
  return client;
}

export const memory: Scenario = {
  name: 'memory',
  title: 'Memory (RSS)',
  definition:
    'RSS of the server process (VmRSS, all threads). "Live": sessions that each made one call (`whoami`) and stay open — an mcp-actors live ' +
    'session holds a worker thread (`hibernateAfterMs: 0`). "Idle" (mcp-actors: hibernated): with `hibernateAfterMs: 300` and ' +
    '`warmPool {min:2, max:8, spareIdleMs:0}`, 1,000 sessions each call `whoami` (a thread, ctx.state written) and hibernate; the 10,000 figure adds ' +
    '9,000 sessions that only initialized (lazy activation: a session record, never a thread). The baseline has no hibernation: its idle ' +
    'sessions are live (same steps, same counts). Per-session cost = slope: (RSS at N live − RSS at 0) ÷ N; idle: (RSS at 10,000 − RSS at 1,000) ÷ 9,000. ' +
    'Each reading waits for RSS to hold steady (±1 % over 0.5 s). One round. (`--quick`: 5/10/20 live, 20 hibernated, 200 idle.)',
  estimateSec(_rounds, quick) {
    // Ours: ~0.25 s of CPU per thread boot on 2 cores; 100 live + 1,000 activations + settling; baseline 10,000 initializes.
    return quick ? 25 : 150;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const c = counts(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const points: Point[] = [];
    const record = (server: ServerKind, state: string, sessions: number, r: { rss: number; threads?: number; settled: boolean }, t0: number) => {
      const p: Point = { server, state, sessions, rssMB: r.rss / MB, settled: r.settled, reachSec: (performance.now() - t0) / 1000 };
      if (r.threads !== undefined) p.threads = r.threads;
      points.push(p);
      if (!r.settled) notes.push(`${server} ${state} ${sessions}: RSS did not settle (±1 %) within the wait; the last reading is used`);
      ctx.log(`${server} ${state} ${sessions}: ${fmt(p.rssMB)} MB${p.threads !== undefined ? `, ${p.threads} threads` : ''}`);
      return p;
    };
    const [small, mid, large] = c.live as [number, number, number];
    const h = c.hibernated.toLocaleString('en-US');
    const i = c.idle.toLocaleString('en-US');
    const liveId = (n: number) => (n === mid ? 'mem.live.mid' : n === large ? 'mem.live.large' : 'mem.live.small');

    for (const kind of ctx.order(0)) {
      // --- live sessions (ours: each holds a thread; the baseline's are all it has) ---
      let server: ServerProcess | undefined;
      const clients: OpenedClient[] = [];
      try {
        server = await ctx.start(kind, kind === 'ours' ? { config: LIVE_CONFIG } : {});
        let t0 = performance.now();
        const zero = record(kind, 'none', 0, await settledRss(server), t0);
        series.add('mem.zero', kind, zero.rssMB);
        let open = 0;
        let last = zero;
        let perSession = 0;
        let lastStep = 0;
        for (const n of c.live) {
          // Before each step: will it fit in memory and in the time budget (from the previous slope)?
          if (open > 0) {
            const needBytes = perSession * MB * (n - open);
            const avail = memAvailable();
            const secPerSession = last.reachSec / Math.max(1, lastStep);
            const needSec = secPerSession * (n - open);
            if (avail > 0 && needBytes > 0.5 * avail) {
              series.skip(liveId(n), kind, `skipped: would need ~${fmt(needBytes / 1024 ** 3)} GB more (${fmt(perSession)} MB per live session), half of MemAvailable is ${fmt(avail / 2 / 1024 ** 3)} GB`);
              break;
            }
            if (needSec > ctx.remainingSec()) {
              series.skip(liveId(n), kind, `skipped for time: ~${fmt(needSec)} s needed, ${fmt(ctx.remainingSec())} s left in the budget`);
              break;
            }
          }
          t0 = performance.now();
          clients.push(await liveSessions(server.url, n - open, 'whoami'));
          lastStep = n - open;
          open = n;
          last = record(kind, 'live', n, await settledRss(server), t0);
          series.add(liveId(n), kind, last.rssMB);
          perSession = (last.rssMB - zero.rssMB) / n;
        }
        if (open > 0) {
          series.add('mem.perLive', kind, perSession);
          let perThread = '';
          if (kind === 'ours' && last.threads !== undefined && zero.threads !== undefined && last.threads > zero.threads) {
            perThread = ` The process had ${zero.threads} threads at 0 and ${last.threads} at ${open.toLocaleString('en-US')} (warm-pool spares included): ${fmt((last.rssMB - zero.rssMB) / (last.threads - zero.threads))} MB per added thread.`;
          }
          notes.push(`${kind === 'ours' ? 'mcp-actors' : 'baseline'}: per live session measured over 0 → ${open.toLocaleString('en-US')} sessions.${perThread}`);
        }
        // The baseline's live sessions are also its idle ones: go on to 10,000 in the same process.
        if (kind === 'baseline') {
          if (open < c.hibernated) {
            series.skip('mem.idle.k', kind, 'not reached (the live steps stopped early)');
            series.skip('mem.idle.10k', kind, 'not reached (the live steps stopped early)');
          } else {
            series.add('mem.idle.k', kind, last.rssMB);
            const more = c.idle - open;
            const estimate = (last.reachSec / Math.max(1, lastStep)) * more;
            if (estimate > ctx.remainingSec()) {
              series.skip('mem.idle.10k', kind, `skipped for time: ~${fmt(estimate)} s needed`);
            } else {
              t0 = performance.now();
              const extra = await openSessions(server.url, more, { parallelism: 8, concurrency: 8 });
              clients.push(extra);
              if (extra.sessions.length < more) notes.push(`baseline: ${more - extra.sessions.length} of ${more} extra sessions did not open`);
              const p = record(kind, 'idle', open + extra.sessions.length, await settledRss(server), t0);
              series.add('mem.idle.10k', kind, p.rssMB);
              series.add('mem.perIdle', kind, ((p.rssMB - last.rssMB) * 1024) / extra.sessions.length);
            }
          }
        }
      } catch (err) {
        notes.push(`${kind} live: ${(err as Error).message}`);
      } finally {
        // Kill rather than end thousands of sessions one DELETE at a time: nothing here measures shutdown.
        await server?.kill();
        await Promise.all(clients.map((cl) => cl.close()));
      }

      if (kind !== 'ours') continue;
      // --- hibernated sessions (ours only) ---
      let hib: ServerProcess | undefined;
      const hclients: OpenedClient[] = [];
      try {
        hib = await ctx.start('ours', { config: HIBERNATE_CONFIG });
        let t0 = performance.now();
        // In chunks, so that a slow machine stops at what fits in the budget (keeping time for the
        // steps still to come) instead of overrunning it.
        const reserve = ctx.order(0).indexOf('ours') === 0 ? 90 : 25;
        const chunk = ctx.quick ? 10 : 100;
        let activated = 0;
        while (activated < c.hibernated) {
          const n = Math.min(chunk, c.hibernated - activated);
          hclients.push(await liveSessions(hib.url, n, 'whoami'));
          activated += n;
          if (activated < c.hibernated && ctx.remainingSec() < reserve) {
            notes.push(`mcp-actors: stopped activating at ${activated.toLocaleString('en-US')} of ${h} sessions to stay within the time budget`);
            break;
          }
        }
        const all = await waitForHealth(hib, (x) => x.sessions.hibernated >= activated && x.sessions.active === 0 && x.sessions.starting === 0, 60_000);
        if (!all) notes.push(`mcp-actors: not all ${activated} sessions hibernated within 60 s`);
        await waitForHealth(hib, (x) => x.warmPool.spare <= 2 && x.warmPool.booting === 0, 30_000);
        const k = record('ours', 'hibernated', activated, await settledRss(hib), t0);
        if (activated === c.hibernated) series.add('mem.idle.k', 'ours', k.rssMB);
        else series.skip('mem.idle.k', 'ours', `skipped for time: ${activated.toLocaleString('en-US')} of ${h} sessions activated (${fmt(k.rssMB)} MB there)`);
        const more = c.idle - activated;
        // Initialize-only sessions cost no thread: about a millisecond each here.
        const estimate = more * 0.002 + 10;
        if (estimate > ctx.remainingSec()) {
          series.skip('mem.idle.10k', 'ours', `skipped for time: ~${fmt(estimate)} s needed`);
        } else {
          t0 = performance.now();
          const extra = await openSessions(hib.url, more, { parallelism: 8, concurrency: 8 });
          hclients.push(extra);
          if (extra.sessions.length < more) notes.push(`mcp-actors: ${more - extra.sessions.length} of ${more} extra sessions did not open`);
          await waitForHealth(hib, (x) => x.warmPool.spare <= 2 && x.warmPool.booting === 0, 15_000);
          const p = record('ours', 'hibernated', activated + extra.sessions.length, await settledRss(hib), t0);
          series.add('mem.idle.10k', 'ours', p.rssMB);
          series.add('mem.perIdle', 'ours', ((p.rssMB - k.rssMB) * 1024) / extra.sessions.length);
          if (p.threads !== k.threads) notes.push(`mcp-actors: ${k.threads} threads at ${activated} hibernated, ${p.threads} at ${p.sessions}: the per-idle slope includes that difference`);
        }
      } catch (err) {
        notes.push(`ours hibernated: ${(err as Error).message}`);
      } finally {
        await hib?.kill();
        await Promise.all(hclients.map((cl) => cl.close()));
      }
    }

    const metrics = [
      series.metric('mem.zero', 'RSS, no session', 'MB', 'lower'),
      series.metric('mem.live.small', `RSS, ${small.toLocaleString('en-US')} live sessions`, 'MB', 'lower'),
      series.metric('mem.live.mid', `RSS, ${mid.toLocaleString('en-US')} live sessions`, 'MB', 'lower'),
      series.metric('mem.live.large', `RSS, ${large.toLocaleString('en-US')} live sessions`, 'MB', 'lower'),
      series.metric('mem.idle.k', `RSS, ${h} idle sessions (ours hibernated, baseline live)`, 'MB', 'lower'),
      series.metric('mem.idle.10k', `RSS, ${i} idle sessions (ours: ${h} hibernated + ${(c.idle - c.hibernated).toLocaleString('en-US')} never activated)`, 'MB', 'lower', 'headline'),
      series.metric('mem.perLive', 'memory per live session (slope)', 'MB', 'lower', 'headline'),
      series.metric('mem.perIdle', 'memory per idle session (slope; ours: hibernated)', 'KB', 'lower', 'headline'),
    ];
    const live = metrics[6]!.ours;
    const idle = metrics[7]!.ours;
    const goals: Goal[] = [
      {
        id: 'memory-live',
        text: 'a live session ≤ 10 MB RSS (goal 8 MB)',
        measured: isFigure(live) ? `${fmt(live.median)} MB per live session${live.median <= 10 && live.median > 8 ? '; goal 8 MB: not reached' : ''}` : 'not measured',
        met: isFigure(live) ? live.median <= 10 : null,
      },
      {
        id: 'memory-hibernated',
        text: 'a hibernated session ≤ 4 KB',
        measured: isFigure(idle) ? `${fmt(idle.median)} KB per idle session (slope from ${h} hibernated to ${i} sessions; the sessions added only initialized)` : 'not measured',
        met: isFigure(idle) ? idle.median <= 4 : null,
      },
    ];
    return { metrics, goals, notes, rounds: 1, raw: { points } };
  },
};
