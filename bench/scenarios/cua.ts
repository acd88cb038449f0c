/**
 * cua: computers as leased resource actors (real Xvfb displays), mcp-actors only.
 *
 * - Lease latency, cold: a server with `cua.idleTtlMs: 0` (every returned computer is shut down),
 *   so a session's first computer call starts a host thread and an Xvfb display. Warm: a server
 *   with `cua.minComputers` idle computers ready (reset after each session). Each sample is a new
 *   session, activated first with `echo` (so the actor thread's start is not counted); the figure is
 *   the round trip of its first `computer_screen_size`, minus nothing — the second call's round
 *   trip (the lease already held) is reported alongside for scale.
 * - Screenshot round trip: `screenshot_cua` (1024×768 PNG, host thread → session thread by
 *   transfer, base64 into the JSON-RPC result) over HTTP, one session, back to back.
 * - Agent tasks: N sessions each run `run_cua_task` with a scripted 20-step task (the fake
 *   Messages API on loopback, one script per session; each step is one action and the screenshot the
 *   loop takes after it; input actions wait the loop's 300 ms settle time), all at once on a pool of
 *   N warm computers; and one session alone for comparison.
 *
 * No baseline: the SDK baseline server has no computers to lease — the seed design (every session's
 * computer driven from one process) would have to be rebuilt to measure it honestly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../servers.js';
import { startJsonChild } from '../support/json-child.js';
import { callTool, openSession, send, type RawResponse } from '../support/mcp-http.js';
import type { ServerProcess } from '../servers.js';
import type { Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { pct, Series, sleep } from './util.js';

const API_KEY = 'bench-fake-model-key';
const NO_BASELINE = 'no single-process computer baseline (the SDK server has no computers to lease)';

function counts(quick: boolean) {
  return quick ? { cold: 2, warm: 3, shots: 10, sessions: 3, steps: 5 } : { cold: 6, warm: 8, shots: 40, sessions: 10, steps: 20 };
}

// ---- a tiny MCP client over test/support/mcp-http ------------------------------------------

function ok(r: RawResponse, what: string): RawResponse {
  if (r.status !== 200 || r.json?.error || r.json?.result?.isError) throw new Error(`${what} failed: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

async function timed(url: string, session: string, tool: string, args: Record<string, unknown> = {}): Promise<{ ms: number; r: RawResponse }> {
  const t0 = performance.now();
  const r = await callTool(url, session, tool, args);
  const ms = performance.now() - t0;
  return { ms, r: ok(r, tool) };
}

async function endSession(url: string, session: string): Promise<void> {
  await send(url, undefined, { session, method: 'DELETE' }).catch(() => undefined);
}

/** Idle computers the server reports (GET /metrics). */
async function idleComputers(server: ServerProcess): Promise<number> {
  try {
    const text = await (await fetch(`${server.origin}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const m = /^mcp_actors_pool_instances\{[^}]*kind="computer"[^}]*state="idle"[^}]*\}\s+(\d+)/m.exec(text) ?? /^mcp_actors_pool_instances\{[^}]*state="idle"[^}]*kind="computer"[^}]*\}\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function waitIdle(server: ServerProcess, n: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await idleComputers(server)) >= n) return true;
    await sleep(200);
  }
  return false;
}

// ---- the fake model: one script per session behind one URL ---------------------------------

/** The fake Messages API of test/support (its router, as a child process): scripts go in, request times come out. */
const FAKE_MODEL_CLI = join(ROOT, 'dist/test/support/fake-model/cli.js');

/** A step of a scripted model: a tool use, or the final answer. */
type ScriptStep = { use: Record<string, unknown> } | { final: string };

interface ModelRouter {
  url: string;
  add(name: string, script: ScriptStep[]): Promise<{ requestTimes(): Promise<number[]> }>;
  close(): Promise<void>;
}

async function startModelRouter(apiKey: string): Promise<ModelRouter> {
  const child = await startJsonChild<{ url: string }>(FAKE_MODEL_CLI, ['--router', '--api-key', apiKey], ROOT);
  const url = child.info.url;
  return {
    url,
    async add(name, script) {
      const r = await fetch(`${url}/_scripts/${name}`, { method: 'PUT', body: JSON.stringify(script) });
      if (!r.ok) throw new Error(`the fake model refused script ${name}: ${await r.text()}`);
      return {
        async requestTimes() {
          const q = await fetch(`${url}/_requests/${name}`);
          return ((await q.json()) as { receivedAt: number[] }).receivedAt;
        },
      };
    },
    close: () => child.stop(),
  };
}

/** A `steps`-step task: open a terminal, then a cycle of typing, keys, pointer, scroll and screenshot actions. */
function taskScript(i: number, steps: number): ScriptStep[] {
  const cycle: ScriptStep[] = [
    { use: { action: 'type', text: `echo session-${i}` } },
    { use: { action: 'key', text: 'Return' } },
    { use: { action: 'mouse_move', coordinate: [300, 200] } },
    { use: { action: 'left_click', coordinate: [200, 150] } },
    { use: { action: 'scroll', coordinate: [200, 150], scroll_direction: 'down', scroll_amount: 2 } },
    { use: { action: 'cursor_position' } },
    { use: { action: 'screenshot' } },
  ];
  const s: ScriptStep[] = [{ use: { action: 'key', text: 'ctrl+alt+t' } }];
  for (let k = 1; k < steps; k++) s.push(cycle[(k - 1) % cycle.length]!);
  s.push({ final: `session ${i} done` });
  return s;
}

interface TaskRun {
  wallMs: number;
  taskMs: number[];
  stepMs: number[];
  failures: string[];
}

/** `n` sessions (computers leased beforehand), each running its scripted task, all at once. */
async function runTasks(url: string, router: ModelRouter, n: number, steps: number, tag: string): Promise<TaskRun> {
  const sessions = await Promise.all(Array.from({ length: n }, () => openSession(url)));
  try {
    await Promise.all(sessions.map((s) => timed(url, s, 'computer_screen_size')));
    const fakes = await Promise.all(sessions.map((_, i) => router.add(`${tag}-${i}`, taskScript(i, steps))));
    const failures: string[] = [];
    const t0 = performance.now();
    const durations = await Promise.all(
      sessions.map(async (s, i) => {
        const t = performance.now();
        const r = await callTool(url, s, 'run_cua_task', { task: `[script:${tag}-${i}] a scripted task` });
        const ms = performance.now() - t;
        const sc = r.json?.result?.structuredContent as { status?: string; steps?: number } | undefined;
        if (sc?.status !== 'done' || sc.steps !== steps) failures.push(`session ${i}: ${sc?.status ?? r.status} after ${sc?.steps ?? '?'} steps ${r.text.slice(0, 200)}`);
        return ms;
      }),
    );
    const wallMs = performance.now() - t0;
    // Per step: the time between consecutive model requests of a task (action + settle + screenshot + model turn).
    const times = await Promise.all(fakes.map((f) => f.requestTimes()));
    const stepMs = times.flatMap((t) => t.slice(1).map((at, k) => at - t[k]!));
    return { wallMs, taskMs: durations, stepMs, failures };
  } finally {
    await Promise.all(sessions.map((s) => endSession(url, s)));
  }
}

export const cua: Scenario = {
  name: 'cua',
  title: 'Computers (cua): leases, screenshots, agent tasks',
  definition:
    'Real Xvfb computers (1024×768) as resource actors, one host thread each; mcp-actors only (the SDK baseline has no computers). ' +
    '"Lease cold": a new session\'s first `computer_screen_size` round trip (after an `echo` activated the session) on a server with ' +
    '`cua.idleTtlMs: 0`, so each lease starts a host thread and an Xvfb display. "Lease warm": the same with `cua.minComputers` idle ' +
    'computers ready. "Screenshot": `screenshot_cua` round trip (PNG, transferred between threads, base64 in the result), back to back ' +
    'on one session. "Agent tasks": 10 sessions at once, each `run_cua_task` with a scripted 20-step task against a loopback fake of ' +
    'the Messages API (one step = one action + the 300 ms settle for input actions + a screenshot + one model turn) on a pool of 10 ' +
    'warm computers; "alone" = one session running the same task by itself.',
  estimateSec(rounds, quick) {
    const c = counts(quick);
    // Measured here: ~19 s a round (a cold lease ~0.2 s, a warm one a few ms, an agent step ~0.4 s).
    return 10 + rounds * (c.cold * 0.5 + c.warm * 0.3 + c.shots * 0.05 + 2 * (c.steps * 0.4 + 2));
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const c = counts(ctx.quick);
    const series = new Series();
    const notes: string[] = [];
    const raw: unknown[] = [];
    const router = await startModelRouter(API_KEY);
    const base = { model: { baseUrl: router.url, apiKey: API_KEY, maxSteps: c.steps + 5, taskDeadlineMs: 180_000 } };
    const servers: ServerProcess[] = [];
    try {
      // Cold leases: every returned computer is shut down at once.
      const cold = await ctx.start('ours', { toolsets: ['cua', 'diagnostics'], config: { cua: { ...base, maxComputers: 2, idleTtlMs: 0 } } });
      servers.push(cold);
      // Warm leases, screenshots and agent tasks: a pool of N computers, kept started.
      const warm = await ctx.start('ours', {
        toolsets: ['cua', 'diagnostics'],
        config: { cua: { ...base, maxComputers: c.sessions, minComputers: c.sessions, waitTimeoutMs: 60_000 }, warmPool: { min: 4, max: 32 } },
      });
      servers.push(warm);
      if (!(await waitIdle(warm, c.sessions, 60_000))) notes.push(`the ${c.sessions} warm computers were not all ready within 60 s`);

      const lease = async (server: ServerProcess, n: number, settleMs: number) => {
        const first: number[] = [];
        const second: number[] = [];
        for (let i = 0; i < n; i++) {
          const s = await openSession(server.url);
          await timed(server.url, s, 'echo', { text: 'activate' });
          first.push((await timed(server.url, s, 'computer_screen_size')).ms);
          second.push((await timed(server.url, s, 'computer_screen_size')).ms);
          await endSession(server.url, s);
          await sleep(settleMs); // the returned computer is destroyed (cold) or reset (warm) before the next sample
        }
        return { first, second };
      };

      for (let round = 0; round < ctx.rounds; round++) {
        const rec: Record<string, unknown> = { round };
        try {
          ctx.log(`round ${round + 1}/${ctx.rounds}: cold leases`);
          const lc = await lease(cold, c.cold, 300);
          series.add('cua.lease.cold', 'ours', pct(lc.first, 50));
          ctx.log(`round ${round + 1}/${ctx.rounds}: warm leases`);
          await waitIdle(warm, c.sessions, 20_000);
          const lw = await lease(warm, c.warm, 300);
          series.add('cua.lease.warm', 'ours', pct(lw.first, 50));
          series.add('cua.call.leased', 'ours', pct([...lc.second, ...lw.second], 50));
          rec.lease = { cold: lc, warm: lw };

          ctx.log(`round ${round + 1}/${ctx.rounds}: screenshots`);
          const s = await openSession(warm.url);
          try {
            await timed(warm.url, s, 'screenshot_cua');
            const shots: number[] = [];
            let bytes = 0;
            for (let i = 0; i < c.shots; i++) {
              const { ms, r } = await timed(warm.url, s, 'screenshot_cua');
              shots.push(ms);
              bytes = Math.round((String(r.json.result.content[0].data).length * 3) / 4);
            }
            series.add('cua.screenshot.p50', 'ours', pct(shots, 50));
            series.add('cua.screenshot.p99', 'ours', pct(shots, 99));
            rec.screenshots = { ms: shots, pngBytes: bytes };
          } finally {
            await endSession(warm.url, s);
          }

          ctx.log(`round ${round + 1}/${ctx.rounds}: one agent task alone`);
          await waitIdle(warm, c.sessions, 20_000);
          const alone = await runTasks(warm.url, router, 1, c.steps, `alone-${round}`);
          ctx.log(`round ${round + 1}/${ctx.rounds}: ${c.sessions} agent tasks at once`);
          await waitIdle(warm, c.sessions, 20_000);
          const many = await runTasks(warm.url, router, c.sessions, c.steps, `many-${round}`);
          for (const f of [...alone.failures, ...many.failures]) notes.push(`round ${round + 1}: ${f}`);
          series.add('cua.task.alone', 'ours', alone.wallMs / 1000);
          series.add('cua.task.many.wall', 'ours', many.wallMs / 1000);
          series.add('cua.task.many.p50', 'ours', pct(many.taskMs, 50) / 1000);
          series.add('cua.task.step.alone', 'ours', pct(alone.stepMs, 50));
          series.add('cua.task.step.p50', 'ours', pct(many.stepMs, 50));
          series.add('cua.task.step.p99', 'ours', pct(many.stepMs, 99));
          if (alone.wallMs > 0) series.add('cua.task.slowdown', 'ours', many.wallMs / alone.wallMs);
          rec.tasks = { alone: { wallMs: alone.wallMs, stepMs: alone.stepMs }, many: { wallMs: many.wallMs, taskMs: many.taskMs } };
        } catch (err) {
          notes.push(`round ${round + 1}: ${(err as Error).message}`);
        }
        raw.push(rec);
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await router.close();
    }

    const ids = [
      'cua.lease.cold', 'cua.lease.warm', 'cua.call.leased', 'cua.screenshot.p50', 'cua.screenshot.p99', 'cua.task.alone', 'cua.task.many.wall',
      'cua.task.many.p50', 'cua.task.step.alone', 'cua.task.step.p50', 'cua.task.step.p99', 'cua.task.slowdown',
    ];
    for (const id of ids) series.skip(id, 'baseline', NO_BASELINE);
    const n = c.sessions;
    const metrics = [
      series.metric('cua.lease.cold', 'computer lease, cold (host thread + Xvfb started): first computer call p50', 'ms', 'lower', { panel: 'timing', label: 'lease cold' }),
      series.metric('cua.lease.warm', 'computer lease, warm (an idle, reset computer): first computer call p50', 'ms', 'lower', { panel: 'timing', label: 'lease warm' }),
      series.metric('cua.call.leased', 'computer_screen_size with the lease held p50 (for scale)', 'ms', 'lower'),
      series.metric('cua.screenshot.p50', 'screenshot_cua round trip p50 (1024×768 PNG)', 'ms', 'lower', { panel: 'timing', label: 'screenshot' }),
      series.metric('cua.screenshot.p99', 'screenshot_cua round trip p99', 'ms', 'lower'),
      series.metric('cua.task.alone', `one ${c.steps}-step agent task alone: wall time`, 's', 'lower'),
      series.metric('cua.task.many.wall', `${n} sessions × ${c.steps}-step agent task at once: wall time`, 's', 'lower'),
      series.metric('cua.task.many.p50', `${n} sessions at once: task time p50`, 's', 'lower'),
      series.metric('cua.task.step.alone', 'agent step, task alone: p50 (action + settle + screenshot + model turn)', 'ms', 'lower'),
      series.metric('cua.task.step.p50', `agent step, ${n} tasks at once: p50`, 'ms', 'lower'),
      series.metric('cua.task.step.p99', `agent step, ${n} tasks at once: p99`, 'ms', 'lower'),
      series.metric('cua.task.slowdown', `${n} tasks at once ÷ one alone (wall time)`, '×', 'lower'),
    ];
    notes.push(
      'Noisy: on a 2-core machine the computers (Xvfb, xdotool, xterm), PNG encoding, the server and the bench process — which also ' +
        `plays the fake model for all ${n} conversations — share the same cores; "at once ÷ alone" is bounded by that CPU, not by waiting ` +
        'on each other (each task has its own computer and its own session thread).',
    );
    return { metrics, notes, rounds: ctx.rounds, raw };
  },
};
