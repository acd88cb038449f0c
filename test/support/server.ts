/**
 * Test support: runs the real CLI (`node dist/src/cli.js serve`) as a child process on a free
 * loopback port, with a config file, and exposes its URL, logs and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface ServerProcess {
  url: string;
  origin: string;
  proc: ChildProcess;
  /** Every stderr line so far (JSON log lines and anything else). */
  stderr: string[];
  stdout: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
}

export interface StartOptions {
  toolsets?: string[];
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  args?: string[];
  /** Extra arguments for node itself, before the script (e.g. `--import` of a loader hook). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-test-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ logLevel: 'info', ...opts.config }), { mode: 0o600 });
  const args = [...(opts.nodeArgs ?? []), CLI, 'serve', '--port', '0', '--config', configFile, ...(opts.args ?? [])];
  if (opts.toolsets) args.push('--toolsets', opts.toolsets.join(','));
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, HOST: '', PORT: '', MCP_TOOLSETS: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const stdout: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      // Never leave a server behind: one that did not say it listens is stopped before failing.
      proc.kill('SIGKILL');
      rej(new Error(`server did not start (no "listening" log line; is logLevel above info?):\n${stderr.join('\n')}`));
    }, opts.timeoutMs ?? 20_000);
    let partial = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        stderr.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string };
          if (j.msg === 'listening' && j.url) {
            clearTimeout(timer);
            res(j.url);
          }
        } catch {
          // not a JSON line
        }
      }
    });
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (c: string) => stdout.push(c));
    void exited.then((e) => {
      clearTimeout(timer);
      rej(new Error(`server exited (${e.code ?? e.signal}) before listening:\n${stderr.join('\n')}`));
    });
  });
  return {
    url,
    origin: new URL(url).origin,
    proc,
    stderr,
    stdout,
    exited,
    logs: () =>
      stderr.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const e = await exited;
      clearTimeout(t);
      return e;
    },
  };
}
