/**
 * XvfbComputer: one Xvfb display, its desktop session and an X connection of our own, behind the
 * Computer contract. See index.ts for the overview.
 */
import { randomUUID } from 'node:crypto';
import {
  ComputerError, type Computer, type MouseButton, type Point, type ScreenSize,
} from '../computer.js';
import { Desktop } from './desktop.js';
import { XvfbServer, type XvfbExit } from './display.js';
import { CommandRunner } from './exec.js';
import { buttonNumber, clickArgs, dragArgs, keyArgs, moveArgs, parseKeys, scrollArgs, typeArgs, unknownKeyNames } from './input.js';
import { checkHoldMs, checkPoint, checkText } from '../validate.js';
import { forgetOnExit, killOnExit } from './exit-hook.js';
import { MARKER_VARIABLE } from './processes.js';
import { screenshotPng, type PngFilter } from './screenshot.js';
import { DesktopSession, type TerminalCommand } from './session.js';
import { X11ClosedError, X11Connection, X11TimeoutError } from './x11-connection.js';

export interface XvfbComputerOptions {
  /** Screen width in pixels (default 1024). */
  width?: number;
  /** Screen height in pixels (default 768). */
  height?: number;
  /** Timeout of every external command and X request, in ms (default 10 000). */
  timeoutMs?: number;
  /** Timeout of the health probe, in ms (default 1 000). */
  healthTimeoutMs?: number;
  /** How long Xvfb and the session may take to come up, in ms (default 10 000). */
  startTimeoutMs?: number;
  /** How long key('ctrl+alt+t') waits for the new terminal's window to appear and take focus (default 5 000 ms). */
  launchWaitMs?: number;
  /** Delay between typed characters, in ms (xdotool's default 12). */
  typeDelayMs?: number;
  /** The program ctrl+alt+t starts (default `xterm`). */
  terminal?: TerminalCommand;
  /**
   * Extra environment for every desktop process (terminals and what runs in them). Of our own
   * environment they only inherit PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR.
   */
  env?: Record<string, string>;
  /** PNG zlib level (default 1) and row filter (default 'sub'). */
  png?: { level?: number; filter?: PngFilter };
  /** Binaries, when not on PATH. */
  xvfbPath?: string;
  xdotoolPath?: string;
  tiniPath?: string;
  /** Extra Xvfb arguments. */
  xvfbArgs?: readonly string[];
}

type Resolved = Required<Omit<XvfbComputerOptions, 'env' | 'png' | 'xvfbArgs'>> & Pick<XvfbComputerOptions, 'env' | 'png' | 'xvfbArgs'>;

const DEFAULTS = {
  width: 1024,
  height: 768,
  timeoutMs: 10_000,
  healthTimeoutMs: 1_000,
  startTimeoutMs: 10_000,
  launchWaitMs: 5_000,
  typeDelayMs: 12,
  terminal: { command: 'xterm', args: [] as string[] },
  xvfbPath: 'Xvfb',
  xdotoolPath: 'xdotool',
  tiniPath: 'tini',
};

const MAX_DIMENSION = 8192;

/**
 * What desktop programs inherit from our own environment: only the basics a shell needs. The agent
 * drives a terminal, so the server's secrets (API keys, tokens) must not show up in `env` there.
 */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR'];

function desktopBaseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (INHERITED_ENV.includes(k) || k.startsWith('LC_'))) env[k] = v;
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

function resolveOptions(options: XvfbComputerOptions): Resolved {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as Resolved;
  for (const key of ['width', 'height'] as const) {
    const v = o[key];
    if (!Number.isInteger(v) || v < 16 || v > MAX_DIMENSION) {
      throw new ComputerError('BAD_ARGUMENT', `${key} must be an integer in 16..${MAX_DIMENSION}, got ${String(v)}`);
    }
  }
  for (const key of ['timeoutMs', 'healthTimeoutMs', 'startTimeoutMs', 'launchWaitMs', 'typeDelayMs'] as const) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ComputerError('BAD_ARGUMENT', `${key} must be a non-negative number`);
  }
  return o;
}

export class XvfbComputer implements Computer {
  readonly backend = 'xvfb' as const;
  readonly id: string;
  /** Resolves when the Xvfb process has exited, for whatever reason (close() included). */
  readonly exited: Promise<XvfbExit>;

  private deadReason: string | undefined;
  private closing: Promise<void> | undefined;
  private inputChain: Promise<unknown> = Promise.resolve();
  private readonly size: ScreenSize;

  private constructor(
    private readonly options: Resolved,
    private readonly server: XvfbServer,
    private readonly session: DesktopSession,
    private readonly conn: X11Connection,
    private readonly desktop: Desktop,
    private readonly runner: CommandRunner,
  ) {
    this.id = `xvfb:${server.display}`;
    this.size = { width: options.width, height: options.height };
    this.exited = server.exited;
    void server.exited.then((exit) => this.die(`Xvfb exited (code ${exit.code}, signal ${exit.signal})`, false));
    void session.exited.then(() => this.die('the desktop session exited', true));
    conn.on('close', (reason) => this.die(`lost the X connection: ${reason}`, true));
    if (conn.closed) this.die('lost the X connection during startup', true);
  }

  /** Starts Xvfb, the desktop session and our X connection; undoes what it started on failure. */
  static async create(options: XvfbComputerOptions = {}): Promise<XvfbComputer> {
    const o = resolveOptions(options);
    const marker = randomUUID();
    const server = await XvfbServer.start({
      width: o.width, height: o.height, xvfbPath: o.xvfbPath, startTimeoutMs: o.startTimeoutMs, extraArgs: o.xvfbArgs,
    });
    killOnExit(server.pid);
    const env: NodeJS.ProcessEnv = { ...desktopBaseEnv(), ...o.env, DISPLAY: `:${server.display}`, [MARKER_VARIABLE]: marker };
    let session: DesktopSession | undefined;
    let conn: X11Connection | undefined;
    try {
      conn = await X11Connection.connect(server.display, o.startTimeoutMs);
      if (conn.setup.width !== o.width || conn.setup.height !== o.height) {
        throw new ComputerError('BACKEND_ERROR', `Xvfb screen is ${conn.setup.width}x${conn.setup.height}, asked for ${o.width}x${o.height}`);
      }
      session = await DesktopSession.start({ env, marker, tiniPath: o.tiniPath, terminal: o.terminal, startTimeoutMs: o.startTimeoutMs });
      killOnExit(session.tiniPid);
      const started = session;
      const desktop = new Desktop(conn, { timeoutMs: o.timeoutMs, onTerminalHotkey: () => started.launchTerminal() });
      await desktop.init();
      return new XvfbComputer(o, server, session, conn, desktop, new CommandRunner(env));
    } catch (err) {
      conn?.close();
      if (session) {
        await session.stop(2000);
        forgetOnExit(session.tiniPid);
      }
      await server.stop(2000);
      forgetOnExit(server.pid);
      if (err instanceof ComputerError) throw err;
      throw new ComputerError('BACKEND_ERROR', `cannot start the Xvfb computer: ${(err as Error).message}`);
    }
  }

  /** The X display number (the N of ":N"). */
  get display(): number {
    return this.server.display;
  }

  /** The DISPLAY value for programs that should run on this computer. */
  get displayName(): string {
    return `:${this.server.display}`;
  }

  /** Pid of the Xvfb process. */
  get pid(): number {
    return this.server.pid;
  }

  /** Pid of the session's subreaper (tini), the ancestor of every desktop program. */
  get sessionPid(): number {
    return this.session.tiniPid;
  }

  /** Why the computer is dead (undefined while alive). */
  get deathReason(): string | undefined {
    return this.deadReason;
  }

  get dead(): boolean {
    return this.deadReason !== undefined;
  }

  // ---- observation ---------------------------------------------------------------------------

  screenshot(): Promise<Uint8Array> {
    return this.guarded(() => screenshotPng(this.conn, this.options.timeoutMs, this.options.png));
  }

  screenSize(): Promise<ScreenSize> {
    return this.guarded(async () => ({ ...this.size }));
  }

  cursorPosition(): Promise<Point> {
    return this.guarded(() => this.desktop.pointer());
  }

  // ---- pointer -------------------------------------------------------------------------------

  move(x: number, y: number): Promise<void> {
    return this.input(async () => {
      checkPoint(x, y, this.size);
      await this.xdotool(moveArgs(x, y));
    });
  }

  click(x: number, y: number, button?: MouseButton): Promise<void> {
    return this.input(async () => {
      checkPoint(x, y, this.size);
      await this.xdotool(clickArgs(x, y, button));
    });
  }

  doubleClick(x: number, y: number): Promise<void> {
    return this.input(async () => {
      checkPoint(x, y, this.size);
      await this.xdotool(clickArgs(x, y, 'left', 2));
    });
  }

  tripleClick(x: number, y: number): Promise<void> {
    return this.input(async () => {
      checkPoint(x, y, this.size);
      await this.xdotool(clickArgs(x, y, 'left', 3));
    });
  }

  mouseDown(button?: MouseButton): Promise<void> {
    return this.input(() => this.xdotool(['mousedown', buttonNumber(button)]).then(() => {}));
  }

  mouseUp(button?: MouseButton): Promise<void> {
    return this.input(() => this.xdotool(['mouseup', buttonNumber(button)]).then(() => {}));
  }

  drag(path: Point[], button?: MouseButton): Promise<void> {
    return this.input(async () => {
      await this.xdotool(dragArgs(path, button, this.size));
    });
  }

  scroll(x: number, y: number, dx: number, dy: number): Promise<void> {
    return this.input(async () => {
      checkPoint(x, y, this.size);
      const args = scrollArgs(x, y, dx, dy);
      await this.xdotool(args, this.options.timeoutMs + 20 * (Math.abs(dx) + Math.abs(dy)));
    });
  }

  // ---- keyboard ------------------------------------------------------------------------------

  type(text: string): Promise<void> {
    return this.input(async () => {
      const t = checkText(text);
      if (t.length === 0) return;
      const perChar = this.options.typeDelayMs + 5;
      await this.xdotool(typeArgs(t, this.options.typeDelayMs), this.options.timeoutMs + perChar * t.length);
    });
  }

  key(keys: string): Promise<void> {
    return this.input(async () => {
      const combos = parseKeys(keys);
      const { stderr } = await this.xdotool(keyArgs(combos));
      // If the combo was the terminal hotkey, wait for the terminal so that typing goes to it.
      await this.desktop.settleLaunches(this.options.launchWaitMs);
      const unknown = unknownKeyNames(stderr);
      if (unknown.length > 0) throw new ComputerError('BAD_ARGUMENT', `unknown key name(s): ${unknown.join(', ')}`);
    });
  }

  holdKey(keys: string, ms: number): Promise<void> {
    return this.input(async () => {
      const combos = parseKeys(keys);
      checkHoldMs(ms);
      let stderr = '';
      try {
        stderr = (await this.xdotool(keyArgs(combos, 'keydown'))).stderr;
        await new Promise((resolve) => setTimeout(resolve, ms));
      } finally {
        await this.xdotool(keyArgs([...combos].reverse(), 'keyup'));
      }
      await this.desktop.settleLaunches(this.options.launchWaitMs);
      const unknown = unknownKeyNames(stderr);
      if (unknown.length > 0) throw new ComputerError('BAD_ARGUMENT', `unknown key name(s): ${unknown.join(', ')}`);
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Rejects with COMPUTER_DEAD unless Xvfb, the session and our connection are all alive and answering. */
  async health(): Promise<void> {
    this.assertAlive();
    try {
      await this.desktop.sync(this.options.healthTimeoutMs);
    } catch (err) {
      if (err instanceof X11TimeoutError) {
        throw new ComputerError('COMPUTER_DEAD', `${this.id} is unresponsive: no answer within ${this.options.healthTimeoutMs} ms`);
      }
      throw this.translate(err);
    }
    this.assertAlive();
  }

  /**
   * Kills every desktop program (terminals and all they started) and any other X client with a
   * window, releases held keys and buttons, centres the pointer and gives focus back to
   * PointerRoot. Xvfb, the session and the display number stay.
   */
  reset(): Promise<void> {
    return this.input(async () => {
      const deadline = Date.now() + this.options.timeoutMs;
      const survivors = await this.session.killClients(this.options.timeoutMs / 2);
      if (survivors.length > 0) throw new ComputerError('BACKEND_ERROR', `processes survived SIGKILL: ${survivors.join(', ')}`);
      for (let round = 0; ; round++) {
        const windows = await this.desktop.mappedTopLevels();
        if (windows.length === 0) break;
        if (Date.now() > deadline) throw new ComputerError('TIMEOUT', `windows remain after reset: ${windows.join(', ')}`);
        if (round > 0) this.desktop.killClientsOf(windows); // clients we did not start (or that cleared their env)
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await this.desktop.resetInput(Math.floor(this.size.width / 2), Math.floor(this.size.height / 2));
    });
  }

  /**
   * Ends every process of this computer (running xdotool commands, desktop programs, the session,
   * Xvfb), waits for each to exit, and removes a lock file or socket Xvfb could not. Idempotent;
   * every method rejects with COMPUTER_DEAD afterwards.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.deadReason ??= 'closed';
    await this.runner.close();
    await this.session.stop(5000);
    forgetOnExit(this.session.tiniPid);
    this.conn.close();
    await this.server.stop(2000);
    forgetOnExit(this.server.pid);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private die(reason: string, killServer: boolean): void {
    if (this.deadReason !== undefined) return;
    this.deadReason = reason;
    void this.runner.close();
    if (killServer && this.server.alive) process.kill(this.server.pid, 'SIGKILL');
  }

  private assertAlive(): void {
    if (this.deadReason !== undefined) throw new ComputerError('COMPUTER_DEAD', `${this.id} is dead: ${this.deadReason}`);
  }

  private translate(err: unknown): ComputerError {
    if (this.deadReason !== undefined) return new ComputerError('COMPUTER_DEAD', `${this.id} is dead: ${this.deadReason}`);
    if (err instanceof ComputerError) return err;
    if (err instanceof X11TimeoutError) return new ComputerError('TIMEOUT', err.message);
    if (err instanceof X11ClosedError) return new ComputerError('COMPUTER_DEAD', `${this.id}: ${err.message}`);
    return new ComputerError('BACKEND_ERROR', `${this.id}: ${(err as Error)?.message ?? String(err)}`);
  }

  /** Runs `fn` if alive; maps any failure to a ComputerError (COMPUTER_DEAD once the computer died). */
  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    this.assertAlive();
    try {
      return await fn();
    } catch (err) {
      if (this.deadReason === undefined && !(err instanceof ComputerError && err.code !== 'BACKEND_ERROR')) {
        // A helper may fail a moment before we hear that Xvfb died: ask the server before blaming it.
        // (A closed connection marks the computer dead through the connection's 'close' event.)
        await this.desktop.sync(this.options.healthTimeoutMs).catch(() => {});
      }
      throw this.translate(err);
    }
  }

  /** Input actions run one at a time, in call order. */
  private input(fn: () => Promise<void>): Promise<void> {
    const run = this.inputChain.then(() => this.guarded(fn));
    this.inputChain = run.catch(() => {});
    return run;
  }

  private xdotool(args: string[], timeoutMs = this.options.timeoutMs) {
    return this.runner.run(this.options.xdotoolPath, args, timeoutMs);
  }
}
