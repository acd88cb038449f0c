/**
 * Spawning and owning one Xvfb server. The server picks a free display number itself
 * (`-displayfd`), listens on its Unix socket only (`-nolisten tcp`), and runs in its own process
 * group. `exited` settles when the process is gone; `stop()` ends it and removes the socket file
 * (and lock file, if any) it left behind after a SIGKILL. With -displayfd, Xvfb claims a display
 * number by binding its abstract socket and writes no lock file; a stale /tmp/.X11-unix/X<n> does
 * not block anyone, but we remove ours all the same — only if it is still the very file our server
 * created (same inode and change time: inode numbers alone get reused at once), so that a newer
 * server which took the number over keeps its socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ComputerError } from '../computer.js';

export interface XvfbExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface XvfbServerOptions {
  width: number;
  height: number;
  /** Path or name of the Xvfb binary. */
  xvfbPath: string;
  startTimeoutMs: number;
  /** Extra server arguments, appended after ours. */
  extraArgs?: readonly string[];
}

const STDERR_TAIL = 4096;

/** Whether some live socket is bound to `path` (per /proc/net/unix). */
function isBound(path: string): boolean {
  try {
    return readFileSync('/proc/net/unix', 'latin1').split('\n').some((line) => line.endsWith(` ${path}`));
  } catch {
    return false;
  }
}

function fileId(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.ctimeNs}`;
}

export class XvfbServer {
  readonly exited: Promise<XvfbExit>;
  private exitInfo: XvfbExit | undefined;
  private stderr = '';
  /** Identity of the socket file our server made: inode and change time (ns). */
  private socketId: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    private displayNumber: number,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-STDERR_TAIL);
    });
  }

  get display(): number {
    return this.displayNumber;
  }

  /** The display's Unix socket file. */
  get socketPath(): string {
    return `/tmp/.X11-unix/X${this.displayNumber}`;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): XvfbExit | undefined {
    return this.exitInfo;
  }

  stderrTail(): string {
    return this.stderr;
  }

  static async start(options: XvfbServerOptions): Promise<XvfbServer> {
    const { width, height } = options;
    const args = [
      '-displayfd', '3',
      '-screen', '0', `${width}x${height}x24`,
      '-nolisten', 'tcp',
      '-noreset',
      '-br',
      ...(options.extraArgs ?? []),
    ];
    const env = { ...process.env };
    delete env.DISPLAY;
    const child = spawn(options.xvfbPath, args, {
      env,
      detached: true, // own process group: a terminal's ^C does not reach it; it is ended by us
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    const server = new XvfbServer(child, child.pid ?? -1, -1);
    const displayFd = child.stdio[3] as Readable;
    try {
      server.displayNumber = await new Promise<number>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(
          () => reject(new ComputerError('TIMEOUT', `Xvfb did not report a display within ${options.startTimeoutMs} ms`)),
          options.startTimeoutMs,
        );
        child.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          const hint = err.code === 'ENOENT' ? ' (not installed? run scripts/install-system-deps.sh)' : '';
          reject(new ComputerError('BACKEND_ERROR', `cannot start Xvfb: ${err.message}${hint}`));
        });
        void server.exited.then((exit) => {
          clearTimeout(timer);
          reject(new ComputerError('BACKEND_ERROR', `Xvfb exited during startup (code ${exit.code}, signal ${exit.signal}): ${server.stderr.trim().slice(-800)}`));
        });
        displayFd.setEncoding('latin1');
        displayFd.on('data', (d: string) => {
          text += d;
          const nl = text.indexOf('\n');
          if (nl < 0) return;
          const n = Number(text.slice(0, nl).trim());
          clearTimeout(timer);
          if (Number.isInteger(n) && n >= 0) resolve(n);
          else reject(new ComputerError('BACKEND_ERROR', `Xvfb reported a bad display number: ${JSON.stringify(text)}`));
        });
      });
    } catch (err) {
      await server.stop(1000);
      throw err;
    }
    displayFd.destroy();
    if (server.pid < 0) throw new ComputerError('BACKEND_ERROR', 'Xvfb has no pid');
    try {
      server.socketId = fileId(server.socketPath);
    } catch {
      // no file socket (abstract only): nothing to clean up later
    }
    return server;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited and its files are gone. */
  async stop(graceMs: number): Promise<XvfbExit> {
    if (this.alive && this.pid > 0) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.removeStaleFiles();
    return this.exitInfo as XvfbExit;
  }

  /** After the server died without cleaning up: its socket file and its lock file, if they are still ours. */
  private removeStaleFiles(): void {
    if (this.displayNumber < 0) return;
    if (this.socketId !== undefined) {
      try {
        if (fileId(this.socketPath) === this.socketId && !isBound(this.socketPath)) unlinkSync(this.socketPath);
      } catch {
        // already gone
      }
    }
    const lock = `/tmp/.X${this.displayNumber}-lock`;
    try {
      if (Number(readFileSync(lock, 'latin1').trim()) === this.pid) unlinkSync(lock);
    } catch {
      // no lock file (the usual case with -displayfd)
    }
  }
}
