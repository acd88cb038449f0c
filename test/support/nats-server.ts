/**
 * Test support: a real `nats-server` with JetStream for the cluster tests. It listens on a free
 * 127.0.0.1 port (picked by the OS; another one is tried when it is taken in between), keeps its
 * JetStream store in a temp dir (removed on stop), and is ready when it logs "Server is ready".
 * `kill()` crashes it (SIGKILL) and `restart()` brings it back on the same port and store, so tests
 * can watch clients ride out an outage and find their data again. Nothing is left behind: a server
 * still running when the test process exits is killed, and its temp dir removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCleanup, PortInUse, alive, startOnFreePort, stopGracefully } from './processes.js';

const NATS_SERVER = '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const KEEP_LINES = 200;

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The JetStream store dir (kept across restart(); removed by stop()). */
  storeDir: string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Crashes the server (SIGKILL) and waits for it to be gone; the store is kept for restart(). */
  kill(): Promise<void>;
  /** Stops the server (if running) and starts it again on the same port and store dir; resolves when ready. */
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  /** Extra nats-server config text appended to the generated config (e.g. an authorization block). */
  config?: string;
}

/** Starts a nats-server with JetStream on a free loopback port; resolves when it is ready. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-nats-'));
  const storeDir = join(dir, 'store');
  const configFile = join(dir, 'nats.conf');
  const output: string[] = [];
  let running: Running | undefined;
  let stopped = false;

  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  onExit.add(cleanup);

  const args = (port: number): string[] => {
    if (opts.config === undefined) return ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
    // With a config file, listen/store live in it too, so the extra text may refer to / extend them.
    writeFileSync(configFile, `listen: ${JSON.stringify(`127.0.0.1:${port}`)}\njetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n}\n\n${opts.config}\n`, { mode: 0o600 });
    return ['-c', configFile];
  };

  const started = await startOnFreePort((p) => launch(args(p), output, Date.now() + START_TIMEOUT_MS), () => {
    onExit.delete(cleanup);
    cleanup();
  });
  const port = started.port;
  running = started.running;

  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running) await terminate(running);
      running = undefined;
      onExit.delete(cleanup);
      cleanup();
    },
    async kill() {
      if (!running) return;
      const r = running;
      running = undefined;
      killNow(r.proc);
      await r.exited;
    },
    async restart() {
      if (stopped) throw new Error('nats-server: restart() after stop()');
      if (running) await terminate(running);
      running = undefined;
      // Same port: it was ours a moment ago, so "in use" can only be passing (retry until the deadline).
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        try {
          running = await launch(args(port), output, deadline);
          return;
        } catch (err) {
          if (!(err instanceof PortInUse) || Date.now() + 100 > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
  };
  return handle;
}

interface Running {
  proc: ChildProcess;
  exited: Promise<void>;
}


/** Spawns nats-server and resolves once it logs "Server is ready" (rejects on exit or at the deadline). */
function launch(args: string[], output: string[], deadline: number): Promise<Running> {
  const proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  const exited = new Promise<void>((res) =>
    proc.once('exit', () => {
      live.delete(proc);
      res();
    }),
  );
  return new Promise<Running>((resolve, reject) => {
    let settled = false;
    let portInUse = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const msg = `nats-server ${args.join(' ')}: ${why}; its last output:\n${output.join('\n')}`;
      reject(portInUse ? new PortInUse(msg) : new Error(msg));
    };
    const timer = setTimeout(() => {
      killNow(proc);
      fail(`not ready after ${START_TIMEOUT_MS} ms (no "Server is ready" line)`);
    }, Math.max(0, deadline - Date.now()));
    const onLine = (line: string): void => {
      if (line.includes('address already in use')) portInUse = true;
      output.push(line);
      if (output.length > KEEP_LINES) output.splice(0, output.length - KEEP_LINES);
      if (!settled && line.includes('Server is ready')) {
        settled = true;
        clearTimeout(timer);
        resolve({ proc, exited });
      }
    };
    readLines(proc.stdout!, onLine);
    readLines(proc.stderr!, onLine);
    proc.once('error', (err) => fail(`could not be started (${err.message})`));
    proc.once('exit', (code, signal) => {
      // Output may still be in the pipes when 'exit' fires; 'close' comes after all of it.
      proc.once('close', () => fail(`exited before it was ready (code ${code}, signal ${signal})`));
    });
  });
}

/** Graceful stop: SIGTERM, SIGKILL when it has not exited after 5 s. */
function terminate(r: Running): Promise<void> {
  return stopGracefully(r.proc, r.exited, 'SIGTERM', killNow, STOP_TIMEOUT_MS);
}

function killNow(proc: ChildProcess): void {
  if (alive(proc)) proc.kill('SIGKILL');
}

function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) onLine(l);
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
    partial = '';
  });
}

/** If the test process exits first: what still runs is killed, then temp dirs removed (synchronously). */
const atExit = new ExitCleanup<ChildProcess>(killNow);
const live = atExit.live;
const onExit = atExit.cleanups;
