/**
 * Test support: a real `nginx` as the cluster tests' round-robin load balancer in front of several
 * nodes. It listens on a free 127.0.0.1 port (picked by the OS; another one is tried when it is
 * taken in between) with its config, pid, logs and temp paths in a temp prefix dir (removed on
 * stop). `proxy_next_upstream off`: a request that fails on a node is never silently retried on
 * another, so tests see the failure. Ready = nginx wrote its pid file (it has bound its socket)
 * and a TCP connect to the port succeeds. Nothing is left behind: nginx (master and workers) still
 * running when the test process exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCleanup, PortInUse, alive, startOnFreePort, stopGracefully } from './processes.js';

const NGINX = '/usr/sbin/nginx';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface NginxHandle {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Graceful stop (SIGQUIT; SIGKILL of master and workers after 5 s), then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Starts nginx balancing (round robin) over `upstreams` ('host:port' each); resolves when it accepts connections. */
export async function startNginx(upstreams: string[]): Promise<NginxHandle> {
  if (upstreams.length === 0) throw new Error('startNginx: no upstreams');
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-nginx-'));
  // Run as root, nginx's workers are `nobody`: they must be able to reach the temp paths inside.
  chmodSync(dir, 0o711);
  let running: Running | undefined;
  let stopped = false;

  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  onExit.add(cleanup);

  const started = await startOnFreePort((p) => launch(dir, p, upstreams), () => {
    onExit.delete(cleanup);
    cleanup();
  });
  const port = started.port;
  running = started.running;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running) await quit(running);
      running = undefined;
      onExit.delete(cleanup);
      cleanup();
    },
  };
}

function config(dir: string, port: number, upstreams: string[]): string {
  const p = (name: string): string => join(dir, name);
  return `daemon off;
master_process on;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;

events {}

http {
  access_log off;
  client_body_temp_path ${p('client_body_temp')};
  proxy_temp_path ${p('proxy_temp')};
  fastcgi_temp_path ${p('fastcgi_temp')};
  uwsgi_temp_path ${p('uwsgi_temp')};
  scgi_temp_path ${p('scgi_temp')};

  upstream mcp {
${upstreams.map((u) => `    server ${u};`).join('\n')}
    keepalive 16;
  }

  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
      proxy_next_upstream off;
    }
  }
}
`;
}

interface Running {
  proc: ChildProcess;
  exited: Promise<void>;
}


/** Writes the config, spawns nginx and waits until it is ready (rejects when it exits first or at the timeout). */
async function launch(dir: string, port: number, upstreams: string[]): Promise<Running> {
  const conf = join(dir, 'nginx.conf');
  const pidFile = join(dir, 'nginx.pid');
  const errorLog = join(dir, 'error.log');
  rmSync(pidFile, { force: true });
  writeFileSync(conf, config(dir, port, upstreams));
  const proc = spawn(NGINX, ['-p', `${dir}/`, '-c', conf, '-e', errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  const output: string[] = [];
  let exit: string | undefined;
  for (const s of [proc.stdout!, proc.stderr!]) {
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => output.push(chunk));
  }
  const exited = new Promise<void>((res) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exit = `code ${code}, signal ${signal}`;
      res();
    }),
  );
  // 'close' comes after 'exit' once its output is all read (also after a failed spawn).
  const closed = new Promise<void>((res) => proc.once('close', () => res()));
  proc.once('error', (err) => {
    exit = `could not be started: ${err.message}`;
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exit !== undefined) break;
    // The pid file is written after nginx has bound its listening socket, so a connect that
    // succeeds then reaches nginx, not some other process that took the port.
    if (readPid(pidFile) === proc.pid && (await canConnect(port))) return { proc, exited };
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 25));
  }

  const started = exit === undefined;
  if (started) killTree(proc);
  await closed;
  const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
  const text = `${output.join('')}${log}`.trim().split('\n').slice(-200).join('\n');
  const why = started ? `not ready after ${START_TIMEOUT_MS} ms` : `exited before it was ready (${exit})`;
  const msg = `nginx on 127.0.0.1:${port}: ${why}; its output and error log:\n${text}`;
  throw text.includes('Address already in use') ? new PortInUse(msg) : new Error(msg);
}

/** Graceful shutdown: SIGQUIT; master and workers are killed when it has not exited after 5 s. */
function quit(r: Running): Promise<void> {
  return stopGracefully(r.proc, r.exited, 'SIGQUIT', killTree, STOP_TIMEOUT_MS);
}

/**
 * SIGKILL for the master and its workers (synchronous, so it also serves the 'exit' cleanup). The
 * workers first: killed on its own, the master would leave them running.
 */
function killTree(proc: ChildProcess): void {
  if (!alive(proc) || proc.pid === undefined) return;
  for (const pid of childPids(proc.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  proc.kill('SIGKILL');
}

/** Pids whose parent is `ppid` (from /proc/<pid>/stat). */
function childPids(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parens, so parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // exited while listing
    }
  }
  return pids;
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** If the test process exits first: what still runs is killed, then temp dirs removed (synchronously). */
const atExit = new ExitCleanup<ChildProcess>(killTree);
const live = atExit.live;
const onExit = atExit.cleanups;
