/**
 * ccxt: exchange market data through mcp-actors (ccxt in exchange-host threads, leased by the
 * session threads) vs the SDK baseline with the same tools calling ccxt in its only thread
 * (bench/baseline/ccxt-toolset.ts). Both talk to the same fake Binance exchange (its own child
 * process, 3,000 synthetic markets), with ccxt's rate limiter off and the market-data cache TTLs at
 * 0 on both (identical concurrent requests are still coalesced, on both), so every call reaches
 * the exchange.
 *
 * 1. Throughput: 20 sessions × 20 callers, a mix of get_ticker and get_order_book over 6 markets.
 * 2. Cold loadMarkets: 10 sessions × 10 callers loop `echo`; meanwhile another session makes the
 *    first call on a new venue (a market type not used before), which loads the 3,000 markets
 *    (exchangeInfo download + parse). Reported: the echo p99 of the calls that overlapped it, the
 *    p99 before it, and how long the cold call took.
 */
import { join } from 'node:path';
import { runLoad } from '../loadgen/index.js';
import { startJsonChild, type JsonChild } from '../support/json-child.js';
import { ROOT, type ServerKind, type ServerProcess } from '../servers.js';
import type { Goal, Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { fmt, isFigure, openSessions, pct, Series, sleep, timedCall, toolCall, waitForHealth, type TimedCall } from './util.js';

const MARKETS = 3_000;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'BNB/USDT', 'SOL/USDT', 'XRP/USDT', 'ETH/BTC'];
/** A venue per round and server for the cold load: each is a new public client on both servers. */
// ('future' is left out: ccxt's binance then resolves "BTC/USDT" to a futures market the fake does not list)
const COLD_VENUES = [
  { market_type: 'margin' },
  { market_type: 'swap' },
  { market_type: 'option' },
  { market_type: 'spot', sandbox: true },
  { market_type: 'margin', sandbox: true },
  { market_type: 'swap', sandbox: true },
  { market_type: 'option', sandbox: true },
] as const;

export const BASELINE_CCXT_TOOLSET = join(ROOT, 'dist/bench/baseline/ccxt-toolset.js');
const FAKE_EXCHANGE_CLI = join(ROOT, 'dist/test/support/fake-exchange/cli.js');

function shape(quick: boolean) {
  return quick
    ? { sessions: 4, callers: 4, warmupSec: 0.5, durationSec: 1, echoSessions: 4, quietSec: 0.5, afterSec: 0.3 }
    : { sessions: 20, callers: 20, warmupSec: 2.5, durationSec: 4, echoSessions: 10, quietSec: 1.5, afterSec: 0.5 };
}

interface FakeExchangeInfo {
  url: string;
  config: { ccxt: { overrides: { binance: Record<string, unknown> } } };
}

/** The fake exchange as a child process (so it competes with neither server's event loop nor the load generator's). */
function startFakeExchangeProcess(): Promise<JsonChild<FakeExchangeInfo>> {
  return startJsonChild<FakeExchangeInfo>(FAKE_EXCHANGE_CLI, ['--markets', String(MARKETS)], ROOT);
}

interface ColdRecord {
  round: number;
  server: ServerKind;
  venue: (typeof COLD_VENUES)[number];
  coldMs: number;
  coldError: string | null;
  echoDuring: number;
  echoDuringP99: number;
  echoDuringMax: number;
  echoQuietP99: number;
  echoErrors: number;
}

/** Echo callers in a loop while one session makes a cold first call on a new venue. */
async function coldLoad(server: ServerProcess, venue: (typeof COLD_VENUES)[number], p: ReturnType<typeof shape>): Promise<Omit<ColdRecord, 'round' | 'server' | 'venue'>> {
  const client = await openSessions(server.url, p.echoSessions + 1, { parallelism: 4, concurrency: p.echoSessions + 1 });
  try {
    const [trigger, ...echoers] = client.sessions;
    if (!trigger || echoers.length === 0) throw new Error(`sessions did not open: ${JSON.stringify(client.errors)}`);
    const echo = toolCall('echo', { text: 'hello' });
    // every session's actor up (ours boots a thread per session on its first call)
    await Promise.all(client.sessions.map((s) => timedCall(s, echo, 30_000)));
    // ...and ours' warm pool refilled behind them, so the quiet window is quiet
    if (server.kind === 'ours') await waitForHealth(server, (h) => h.warmPool.booting === 0, 10_000);
    const calls: TimedCall[] = [];
    let stop = false;
    const loops = echoers.map(async (s) => {
      while (!stop) calls.push(await timedCall(s, echo, 30_000));
    });
    await sleep(p.quietSec * 1_000);
    const cold = await timedCall(trigger, toolCall('get_ticker', { symbol: 'BTC/USDT', ...venue }), 60_000);
    await sleep(p.afterSec * 1_000);
    stop = true;
    await Promise.all(loops);
    const during = calls.filter((c) => c.end >= cold.start && c.start <= cold.end && c.kind === null).map((c) => c.ms);
    const quiet = calls.filter((c) => c.end < cold.start && c.kind === null).map((c) => c.ms);
    return {
      coldMs: cold.ms,
      coldError: cold.kind,
      echoDuring: during.length,
      echoDuringP99: pct(during, 99),
      echoDuringMax: during.length ? Math.max(...during) : 0,
      echoQuietP99: pct(quiet, 99),
      echoErrors: calls.filter((c) => c.kind !== null).length,
    };
  } finally {
    await client.close();
  }
}

export const ccxtScenario: Scenario = {
  name: 'ccxt',
  title: 'ccxt market data',
  definition:
    'Real ccxt against a loopback fake Binance (3,000 markets, own process), rate limiter off, cache TTLs 0 on both (concurrent identical requests coalesced on both). ' +
    'Throughput: 20 sessions × 20 callers, closed loop over get_ticker and get_order_book{limit:10} on 6 markets (2.5 s warm-up, 4 s measured). ' +
    'Cold loadMarkets: 10 sessions × 10 callers loop `echo` while an 11th session makes the first call on a venue never used before (a new public client: exchangeInfo of 3,000 markets downloaded and parsed); ' +
    'reported: the p99 of the echo calls that overlapped that call, the echo p99 before it, and the cold call\'s own duration.',
  estimateSec(rounds, quick) {
    const p = shape(quick);
    // Measured here: ~57 s for 3 rounds.
    return 6 + rounds * 2 * (p.warmupSec + p.durationSec + 1 + p.quietSec + p.afterSec + 2);
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const p = shape(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: { throughput: unknown[]; cold: ColdRecord[] } = { throughput: [], cold: [] };
    const fake = await startFakeExchangeProcess();
    // The fake prints the configuration that points ccxt's binance at it.
    const overrides = { ...fake.info.config.ccxt.overrides.binance, enableRateLimit: false };
    const cache = { tickerMs: 0, tickersMs: 0, orderBookMs: 0 };
    const servers: Partial<Record<ServerKind, ServerProcess>> = {};
    const mix = SYMBOLS.flatMap((symbol) => [
      { tool: 'get_ticker', args: { symbol } },
      { tool: 'get_order_book', args: { symbol, limit: 10 } },
    ]);
    try {
      servers.ours = await ctx.start('ours', {
        toolsets: ['ccxt', 'diagnostics'],
        config: { ccxt: { exchanges: ['binance'], overrides: { binance: overrides }, cache } },
      });
      const previous = process.env.MCP_BENCH_CCXT;
      process.env.MCP_BENCH_CCXT = JSON.stringify({ exchange: 'binance', overrides, cache });
      try {
        servers.baseline = await ctx.start('baseline', { toolsets: [BASELINE_CCXT_TOOLSET, 'diagnostics'] });
      } finally {
        if (previous === undefined) delete process.env.MCP_BENCH_CCXT;
        else process.env.MCP_BENCH_CCXT = previous;
      }
      for (let round = 0; round < ctx.rounds; round++) {
        for (const kind of ctx.order(round)) {
          const url = servers[kind]!.url;
          try {
            ctx.log(`round ${round + 1}/${ctx.rounds} ${kind} throughput`);
            const r = await runLoad({ url, sessions: p.sessions, concurrency: p.callers, mix, warmupSec: p.warmupSec, durationSec: p.durationSec, seed: ctx.seed + round, timeoutMs: 30_000 });
            raw.throughput.push({ round, server: kind, throughput: r.throughput, latencyMs: r.latencyMs, calls: r.calls, errorsByKind: r.errorsByKind });
            if (r.calls.errors > 0) notes.push(`round ${round + 1}, ${kind}: ${r.calls.errors} of ${r.calls.total} calls failed (${JSON.stringify(r.errorsByKind)})`);
            series.add('ccxt.throughput', kind, r.throughput);
            series.add('ccxt.p99', kind, r.latencyMs.p99);
            series.add('ccxt.p50', kind, r.latencyMs.p50);

            const venue = COLD_VENUES[round % COLD_VENUES.length]!;
            ctx.log(`round ${round + 1}/${ctx.rounds} ${kind} cold loadMarkets (${JSON.stringify(venue)})`);
            const c = await coldLoad(servers[kind]!, venue, p);
            raw.cold.push({ round, server: kind, venue, ...c });
            if (c.coldError) notes.push(`round ${round + 1}, ${kind}: the cold call failed (${c.coldError})`);
            if (c.echoDuring > 0) {
              series.add('ccxt.cold.echoP99', kind, c.echoDuringP99);
              series.add('ccxt.cold.echoMax', kind, c.echoDuringMax);
            } else series.skip('ccxt.cold.echoP99', kind, 'no echo call overlapped the cold load');
            series.add('ccxt.cold.quietP99', kind, c.echoQuietP99);
            series.add('ccxt.cold.ms', kind, c.coldMs);
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
      await fake.stop();
    }

    const metrics = [
      series.metric('ccxt.throughput', 'ticker + order book, 20×20: throughput', 'req/s', 'higher', { panel: 'throughput', label: 'ccxt 20×20' }),
      series.metric('ccxt.p50', 'ticker + order book, 20×20: p50', 'ms', 'lower'),
      series.metric('ccxt.p99', 'ticker + order book, 20×20: p99', 'ms', 'lower', { panel: 'p99', label: 'ccxt 20×20' }),
      series.metric('ccxt.cold.quietP99', 'echo p99 before the cold loadMarkets', 'ms', 'lower'),
      series.metric('ccxt.cold.echoP99', 'echo p99 during a cold loadMarkets (3,000 markets)', 'ms', 'lower', { panel: 'p99', label: 'echo during loadMarkets' }),
      series.metric('ccxt.cold.echoMax', 'slowest echo during the cold loadMarkets', 'ms', 'lower'),
      series.metric('ccxt.cold.ms', 'the cold call itself (first get_ticker on a new venue)', 'ms', 'lower', { panel: 'timing', label: 'cold loadMarkets' }),
    ];
    const byId = (id: string) => metrics.find((m) => m.id === id)!;
    const ourEcho = byId('ccxt.cold.echoP99').ours;
    const ourQuiet = byId('ccxt.cold.quietP99').ours;
    const tp = byId('ccxt.throughput');
    const goals: Goal[] = [
      {
        id: 'ccxt-cold-load-isolated',
        text: 'a cold loadMarkets does not stall other sessions: echo p99 during it ≤ 3× the echo p99 before it (mcp-actors)',
        measured: isFigure(ourEcho) && isFigure(ourQuiet) ? `${fmt(ourEcho.median)} ms vs ${fmt(ourQuiet.median)} ms before` : 'not measured',
        met: isFigure(ourEcho) && isFigure(ourQuiet) ? ourEcho.median <= 3 * Math.max(ourQuiet.median, 1) : null,
      },
      {
        id: 'ccxt-throughput',
        text: 'ticker + order book throughput at 20×20 ≥ the SDK baseline',
        measured: isFigure(tp.ours) && isFigure(tp.baseline) ? `${fmt(tp.ours.median)} vs ${fmt(tp.baseline.median)} req/s` : 'not measured',
        met: isFigure(tp.ours) && isFigure(tp.baseline) ? tp.ours.median >= tp.baseline.median : null,
      },
    ];
    return { metrics, goals, notes, rounds: ctx.rounds, raw };
  },
};

export default ccxtScenario;
