/**
 * The desktop session of one display: the process under which every desktop program runs.
 *
 *   node ── tini -s ── sh (launcher) ╌╌ setsid -f xterm ── bash ── ...
 *
 * `tini -s` registers as a child subreaper, so every descendant that loses its parent is reparented
 * to it and reaped — no zombies, even where PID 1 does not reap. The launcher is a fixed shell loop
 * that reads one word per line on stdin and starts the terminal (in its own session) for each
 * "terminal"; no user text ever reaches it. All of these carry the computer's marker variable (see
 * `processes.ts`), so they can be found and killed wherever they went.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ComputerError } from '../computer.js';
import { killMarked, signal, waitGone } from './processes.js';

const LAUNCHER = [
  'printf "%s\\n" "$$"',
  'while IFS= read -r request; do',
  '  case "$request" in',
  '    terminal) setsid -f "$@" </dev/null >/dev/null 2>&1 ;;',
  '  esac',
  'done',
].join('\n');

export interface TerminalCommand {
  command: string;
  args: readonly string[];
}

export interface DesktopSessionOptions {
  /** Environment of every desktop process: DISPLAY and the marker variable already set. */
  env: NodeJS.ProcessEnv;
  marker: string;
  tiniPath: string;
  terminal: TerminalCommand;
  startTimeoutMs: number;
}

export class DesktopSession {
  readonly exited: Promise<void>;
  private running = true;

  private constructor(
    private readonly tini: ChildProcess,
    readonly tiniPid: number,
    readonly launcherPid: number,
    private readonly marker: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (tini.exitCode !== null || tini.signalCode !== null) {
        this.running = false;
        resolve();
        return;
      }
      tini.once('exit', () => {
        this.running = false;
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.running;
  }

  static async start(options: DesktopSessionOptions): Promise<DesktopSession> {
    const { command, args } = options.terminal;
    const tini = spawn(options.tiniPath, ['-s', '--', 'sh', '-c', LAUNCHER, 'mcp-actors-launcher', command, ...args], {
      env: options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    tini.stdin?.on('error', () => {}); // EPIPE once the launcher is gone: reported through `exited`
    let launcherPid: number;
    try {
      launcherPid = await new Promise<number>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(
          () => reject(new ComputerError('TIMEOUT', `desktop session did not start within ${options.startTimeoutMs} ms`)),
          options.startTimeoutMs,
        );
        tini.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          const hint = err.code === 'ENOENT' ? ' (not installed? run scripts/install-system-deps.sh)' : '';
          reject(new ComputerError('BACKEND_ERROR', `cannot start ${options.tiniPath}: ${err.message}${hint}`));
        });
        tini.once('exit', (code, sig) => {
          clearTimeout(timer);
          reject(new ComputerError('BACKEND_ERROR', `desktop session exited during startup (code ${code}, signal ${sig})`));
        });
        const out = tini.stdout as Readable;
        out.setEncoding('latin1');
        out.on('data', (d: string) => {
          text += d;
          const nl = text.indexOf('\n');
          if (nl < 0) return;
          clearTimeout(timer);
          resolve(Number(text.slice(0, nl)));
        });
      });
    } catch (err) {
      if (tini.pid !== undefined && tini.exitCode === null && tini.signalCode === null) {
        const gone = new Promise((resolve) => tini.once('exit', resolve));
        tini.kill('SIGKILL');
        await gone;
      }
      await killMarked(options.marker, new Set(), 2000);
      throw err;
    }
    tini.stdout?.resume(); // nothing more is expected; keep the pipe drained
    return new DesktopSession(tini, tini.pid as number, launcherPid, options.marker);
  }

  /** Asks the launcher for a new terminal. Returns false when the session is gone. */
  launchTerminal(): boolean {
    if (!this.running || !this.tini.stdin || this.tini.stdin.destroyed) return false;
    this.tini.stdin.write('terminal\n');
    return true;
  }

  /** Kills every desktop process except the session itself; resolves with pids that survived. */
  killClients(timeoutMs: number): Promise<number[]> {
    return killMarked(this.marker, new Set([this.tiniPid, this.launcherPid]), timeoutMs);
  }

  /** Kills every desktop process, then the launcher and tini, and waits for all of them. */
  async stop(timeoutMs: number): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    if (this.running) {
      await this.killClients(left() / 2);
      this.tini.stdin?.end(); // the launcher's loop ends on EOF, tini follows its only child out
      const timer = setTimeout(() => {
        signal(this.launcherPid, 'SIGKILL'); // tini reaps it and exits
        setTimeout(() => this.tini.kill('SIGKILL'), 200).unref();
      }, Math.min(500, left()));
      await this.exited;
      clearTimeout(timer);
    }
    // Anything left (the session died first and orphans went elsewhere): kill and wait.
    const survivors = await killMarked(this.marker, new Set(), left());
    return [...survivors, ...(await waitGone([this.launcherPid], 0))];
  }
}
