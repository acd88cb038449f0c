/**
 * The two servers under test, each started as its own child process so both get the same
 * conditions and the load generator (in the bench process) competes with neither's event loop:
 *
 * - `ours`: `node dist/src/cli.js serve --port 0 --toolsets … --config <file>` (mcp-actors);
 * - `baseline`: `node dist/bench/baseline/cli.js --port 0 --toolsets …` (the SDK's own
 *   in-process `StreamableHTTPServerTransport` server, one thread).
 *
 * Both log a JSON line `{"msg":"listening","url":…}` on stderr when ready. RSS is read from
 * /proc/<pid>/status (the whole process: for ours that includes every actor thread).
 *
 * `startCluster`: ours in cluster mode — a nats-server with JetStream and several nodes joined
 * through it (config `cluster.servers`, the file form of `--cluster`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../src/main/config.js';
import { startNatsServer, type NatsServer } from './support/nats-server.js';

export type ServerKind = 'ours' | 'baseline';
export const SERVER_KINDS: readonly ServerKind[] = ['ours', 'baseline'];
export const SERVER_LABEL: Record<ServerKind, string> = { ours: 'mcp-actors', baseline: 'SDK baseline' };

/** The repository root: the nearest folder above this file with package.json (works from dist/ and from source). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json) above bench/servers');
    dir = up;
  }
}

export const ROOT = findRoot();
export const OURS_CLI = join(ROOT, 'dist/src/cli.js');
export const BASELINE_CLI = join(ROOT, 'dist/bench/baseline/cli.js');
export const BASELINE_STDIO = join(ROOT, 'dist/bench/baseline/stdio.js');

export interface StartOptions {
  /** Toolsets to serve (built-in names). Default: diagnostics. */
  toolsets?: string[];
  /** Configuration for ours (merged over the bench defaults); ignored by the baseline. */
  config?: ConfigInput;
  /** How long to wait for the listening line. */
  startTimeoutMs?: number;
}

export interface ServerProcess {
  readonly kind: ServerKind;
  readonly pid: number;
  /** The MCP endpoint. */
  readonly url: string;
  /** scheme://host:port */
  readonly origin: string;
  /** ms from spawn to the listening line. */
  readonly startMs: number;
  /** true once the process has exited. */
  readonly exited: boolean;
  /** Resident set size of the process in bytes (VmRSS), undefined when it is gone. */
  rss(): number | undefined;
  /** Ours only: GET /health (undefined for the baseline, or when it does not answer in time). */
  health(timeoutMs?: number): Promise<Health | undefined>;
  /** The last lines the process wrote on stderr (for error messages). */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a server whose event loop is blocked cannot shut down). */
  kill(): Promise<void>;
}

export interface Health {
  status: string;
  sessions: { total: number; active: number; hibernated: number; starting: number; restarting: number };
  threads: number;
  warmPool: { spare: number; booting: number; target: number; coldStarts: number; warmStarts: number; recycled: number };
}

/**
 * The bench's defaults for ours: none — the configuration as shipped (log level info: a line per
 * session created or ended, and the "listening" line this harness waits for).
 */
const OUR_DEFAULTS: ConfigInput = {};

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
export function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

class ChildServer implements ServerProcess {
  url = '';
  origin = '';
  startMs = 0;
  private lines: string[] = [];
  private readonly exitPromise: Promise<void>;
  private gone = false;

  constructor(
    readonly kind: ServerKind,
    private readonly child: ChildProcess,
    private readonly cleanup: () => void,
  ) {
    this.exitPromise = new Promise((resolve) =>
      child.once('exit', () => {
        this.gone = true;
        this.cleanup();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): boolean {
    return this.gone;
  }

  /** Resolves with the URL from the listening line. */
  ready(timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      let buffered = '';
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => finish(new Error(`${this.kind} server did not start within ${timeoutMs} ms: ${this.tail()}`)), timeoutMs);
      this.child.stderr!.setEncoding('utf8');
      this.child.stderr!.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          this.lines.push(line);
          if (this.lines.length > 40) this.lines.shift();
          if (!done && line.includes('"listening"')) {
            try {
              const url = (JSON.parse(line) as { url?: unknown }).url;
              if (typeof url === 'string') {
                this.url = url;
                this.origin = new URL(url).origin;
                this.startMs = performance.now() - t0;
                finish();
              }
            } catch {
              // not our line
            }
          }
        }
      });
      this.child.once('exit', (code, signal) => finish(new Error(`${this.kind} server exited (${code ?? signal}) before listening: ${this.tail()}`)));
    });
  }

  rss(): number | undefined {
    return this.gone ? undefined : readRss(this.pid);
  }

  async health(timeoutMs = 5_000): Promise<Health | undefined> {
    if (this.kind !== 'ours' || this.gone) return undefined;
    try {
      const res = await fetch(`${this.origin}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return undefined;
      return (await res.json()) as Health;
    } catch {
      return undefined;
    }
  }

  tail(): string {
    return this.lines.slice(-10).join('\n');
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (this.gone) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    if (this.gone) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
  }
}

/** Starts one server as a child process and waits until it listens. */
export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<ServerProcess> {
  const toolsets = (opts.toolsets ?? ['diagnostics']).join(',');
  let args: string[];
  let cleanup = () => {};
  if (kind === 'ours') {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-bench-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(deepMerge(OUR_DEFAULTS as Record<string, unknown>, (opts.config ?? {}) as Record<string, unknown>)));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    args = [OURS_CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--toolsets', toolsets, '--config', file];
  } else {
    args = [BASELINE_CLI, '--host', '127.0.0.1', '--port', '0', '--toolsets', toolsets, '--log-level', 'warn'];
  }
  // No inherited PORT/HOST/MCP_* variables: the flags and the file are the whole configuration.
  const env = { ...process.env };
  for (const k of ['PORT', 'HOST', 'MCP_TOOLSETS', 'LOG_LEVEL', 'MCP_ACTORS_CONFIG', 'MCP_ACTORS_ADMIN_TOKEN', 'MCP_ACTORS_CLUSTER', 'MCP_ACTORS_CLUSTER_TOKEN', 'NODE_OPTIONS']) delete env[k];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const server = new ChildServer(kind, child, cleanup);
  try {
    await server.ready(opts.startTimeoutMs ?? 30_000);
  } catch (err) {
    await server.kill();
    throw err;
  }
  return server;
}

export interface ClusterProcesses {
  nats: NatsServer;
  /** The nodes by slot (a killed node stays in its slot until `respawn`). */
  nodes: ServerProcess[];
  /** Starts a new node in slot `i` (after its node was killed); resolves when it listens. */
  respawn(i: number): Promise<ServerProcess>;
  /** Stops the nodes (SIGTERM), then nats-server. */
  stop(): Promise<void>;
}

/**
 * A nats-server and `size` nodes of ours joined through it, all with `opts`. `start` starts one
 * node (the suite passes its own, which tracks the processes).
 */
export async function startCluster(
  size: number,
  opts: StartOptions = {},
  start: (o: StartOptions) => Promise<ServerProcess> = (o) => startServer('ours', o),
): Promise<ClusterProcesses> {
  const nats = await startNatsServer();
  const node = () => start({ ...opts, config: { ...opts.config, cluster: { ...opts.config?.cluster, servers: [nats.url] } } });
  const started = await Promise.allSettled(Array.from({ length: size }, node));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await nats.stop();
  };
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    nats,
    nodes,
    async respawn(i) {
      return (nodes[i] = await node());
    },
    stop,
  };
}

/** Polls until `check` holds or the timeout passes; resolves to whether it held. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
