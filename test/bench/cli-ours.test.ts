/**
 * `mcp-actors bench` (the CLI, as a user runs it) against mcp-actors itself: the number of calls
 * the server executed — whoami calls answered ok, counted by the server in /metrics — equals the
 * number the load generator reports. (test/bench/loadgen.test.ts does the same against the SDK's
 * own example server and SDK fixtures.)
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ toolsets: ['diagnostics'], config: { warmPool: { min: 2, max: 8 } } });
});
afterAll(async () => {
  await server?.stop();
});

async function whoamiExecuted(): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('mcp_actors_request_duration_seconds_count{') && l.includes('tool="whoami"') && l.includes('outcome="ok"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function bench(args: string[]): { code: number | null; json: any; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'bench', '--url', server.url, '--json', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, json: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

describe('mcp-actors bench against mcp-actors', () => {
  it('--calls: the server executed exactly the calls reported', async () => {
    const before = await whoamiExecuted();
    const r = bench(['--tool', 'whoami', '--sessions', '4', '--concurrency', '8', '--calls', '400']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.calls).toEqual({ total: 400, ok: 400, errors: 0 });
    expect(r.json.sessions).toBe(4);
    expect(r.json.latencyMs.p50).toBeGreaterThan(0);
    expect(r.json.latencyMs.p99).toBeGreaterThanOrEqual(r.json.latencyMs.p50);
    expect((await whoamiExecuted()) - before).toBe(400);
  });

  it('--duration with warm-up: every ok call reported (warm-up included) was executed, and no other', async () => {
    const before = await whoamiExecuted();
    const r = bench(['--tool', 'whoami', '--sessions', '3', '--concurrency', '6', '--duration', '2', '--warmup', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.calls.errors).toBe(0);
    expect(r.json.calls.ok).toBeGreaterThan(50);
    expect((await whoamiExecuted()) - before).toBe(r.json.calls.ok + r.json.warmup.ok);
  });

  it('checks the tools up front: an unknown tool is a clear message and a non-zero exit, before any load', async () => {
    const before = await whoamiExecuted();
    const r = spawnSync(process.execPath, [CLI, 'bench', '--url', server.url, '--tool', 'no_such_tool', '--calls', '50'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no tool "no_such_tool"; it lists: .*whoami/);
    expect(r.stdout).toBe('');
    expect(await whoamiExecuted()).toBe(before);
  });

  it('reports one message the server gave for each error kind, in the text report and in --json', async () => {
    // echo without its required argument: every call is a tool error with the same message.
    const r = bench(['--tool', 'echo', '--calls', '20']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.errorsByKind).toEqual({ tool_error: 20 });
    expect(r.json.errorSamples.tool_error).toMatch(/text/);
    const text = spawnSync(process.execPath, [CLI, 'bench', '--url', server.url, '--tool', 'fail', '--args', '{"message":"boom-42"}', '--calls', '5'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/errors\s+tool_error 5/);
    expect(text.stdout).toMatch(/^  tool_error: .*boom-42/m);
  });
});
