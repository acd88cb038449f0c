/**
 * stdio: from spawning the server process to the answer of its first `tools/list` (initialize,
 * its answer, notifications/initialized, tools/list) — the start-up a stdio MCP client waits for.
 */
import { spawn } from 'node:child_process';
import { BASELINE_STDIO, OURS_CLI, ROOT, type ServerKind } from '../servers.js';
import type { Scenario, ScenarioContext, ScenarioOutput } from './types.js';
import { pct, Series } from './util.js';

export interface StdioTiming {
  /** ms from spawn to the initialize answer. */
  initializeMs: number;
  /** ms from spawn to the tools/list answer. */
  toolsListMs: number;
  tools: number;
}

export function stdioCommand(kind: ServerKind): string[] {
  return kind === 'ours'
    ? [OURS_CLI, 'stdio', '--toolsets', 'diagnostics']
    : [BASELINE_STDIO, '--toolsets', 'diagnostics', '--log-level', 'warn'];
}

/** One cold start of a stdio server, timed from spawn. */
export async function timeStdioStart(kind: ServerKind, timeoutMs = 30_000): Promise<StdioTiming> {
  const env = { ...process.env };
  for (const k of ['MCP_TOOLSETS', 'LOG_LEVEL', 'MCP_ACTORS_CONFIG', 'NODE_OPTIONS']) delete env[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, stdioCommand(kind), { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    return await new Promise<StdioTiming>((resolve, reject) => {
      let buffered = '';
      let initializeMs = 0;
      const timer = setTimeout(() => reject(new Error(`${kind} stdio: no tools/list answer within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${kind} stdio exited (${code ?? signal}) before answering tools/list`));
      });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let msg: { id?: unknown; result?: { tools?: unknown[] }; error?: unknown };
          try {
            msg = JSON.parse(line) as typeof msg;
          } catch {
            continue;
          }
          if (msg.id === 1) {
            initializeMs = performance.now() - t0;
            child.stdin!.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n');
          } else if (msg.id === 2) {
            const toolsListMs = performance.now() - t0;
            clearTimeout(timer);
            const tools = msg.result?.tools?.length ?? 0;
            if (tools === 0) reject(new Error(`${kind} stdio: tools/list answered without tools: ${line.slice(0, 200)}`));
            else resolve({ initializeMs, toolsListMs, tools });
          }
        }
      });
      child.stdin!.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'mcp-actors-bench', version: '0.1.0' } } })}\n`,
      );
    });
  } finally {
    child.stdin!.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
  }
}

export const stdio: Scenario = {
  name: 'stdio',
  title: 'stdio start-up',
  definition:
    'Spawn the server (`node dist/src/cli.js stdio --toolsets diagnostics`; baseline: the SDK\'s `StdioServerTransport` with the same toolset ' +
    'in one process), send `initialize`, on its answer `notifications/initialized` and `tools/list`: time from spawn to the `tools/list` answer. ' +
    'Three starts per server per round (their median is the round\'s value), alternating servers.',
  estimateSec(rounds, quick) {
    return rounds * (quick ? 1 : 3) * 2 * 1.2 + 1;
  },
  async run(ctx: ScenarioContext): Promise<ScenarioOutput> {
    const perRound = ctx.quick ? 1 : 3;
    const series = new Series();
    const notes: string[] = [];
    const raw: Array<{ round: number; server: ServerKind; starts: StdioTiming[] }> = [];
    for (let round = 0; round < ctx.rounds; round++) {
      const starts: Record<ServerKind, StdioTiming[]> = { ours: [], baseline: [] };
      for (let i = 0; i < perRound; i++) {
        for (const kind of ctx.order(round + i)) {
          try {
            starts[kind].push(await timeStdioStart(kind));
          } catch (err) {
            notes.push(`round ${round + 1}, ${kind}: ${(err as Error).message}`);
          }
        }
      }
      for (const kind of ['ours', 'baseline'] as const) {
        raw.push({ round, server: kind, starts: starts[kind] });
        if (starts[kind].length === 0) continue;
        series.add('stdio.toolsList', kind, pct(starts[kind].map((s) => s.toolsListMs), 50));
        series.add('stdio.initialize', kind, pct(starts[kind].map((s) => s.initializeMs), 50));
      }
      ctx.log(`round ${round + 1}/${ctx.rounds} done`);
    }
    return {
      metrics: [
        series.metric('stdio.toolsList', 'spawn → first tools/list answer', 'ms', 'lower', { panel: 'timing', label: 'stdio start' }),
        series.metric('stdio.initialize', 'spawn → initialize answer', 'ms', 'lower'),
      ],
      notes,
      rounds: ctx.rounds,
      raw,
    };
  },
};
