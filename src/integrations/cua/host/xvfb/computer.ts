/**
 * XvfbComputer: a sandboxed Xvfb display and desktop (desk.ts) and an X connection of our own,
 * behind the Computer contract. See index.ts for the overview.
 */
import { randomBytes } from 'node:crypto';
import {
  ComputerError, type Computer, type MouseButton, type Point, type ScreenSize,
} from '../../shared/computer.js';
import { checkButton, checkClicks, checkHoldMs, checkPath, checkPoint, checkText } from '../../shared/validate.js';
import { Desk, type TerminalCommand } from './desk.js';
import { Desktop } from './desktop.js';
import { parseKeys } from './keys.js';
import type { SandboxNetwork } from './sandbox.js';
import { screenshotPng, type PngFilter } from './screenshot.js';
import { X11ClosedError, X11Connection, X11TimeoutError } from './x11-connection.js';
import { XInput } from './xinput.js';

export interface SandboxOptions {
  /** "none" (default): no network at all; "outbound": internet without the host's loopback; "host": the host's network (trusted use only). */
  network?: SandboxNetwork;
  /** Host user/group the computer's programs run as, when the server runs as root (default 65534, nobody). */
  uid?: number;
  gid?: number;
  /** Most processes the computer may have at once (default 512). */
  maxProcesses?: number;
  /** Memory cap of the computer's processes, Xvfb included, in MB (default 2048). */
  memoryMb?: number;
  /** Size cap of the computer's home and of its /tmp, each, in MB (default 512). */
  tmpfsMb?: number;
  /** Extra host paths the desktop sees read-only (same path inside), e.g. an application in /opt. */
  readOnlyPaths?: readonly string[];
  /** Called once if the process and memory caps cannot be applied on this host (why). */
  onLimitsUnavailable?: (reason: string) => void;
}

export interface XvfbComputerOptions {
  /** Screen width in pixels (default 1024). */
  width?: number;
  /** Screen height in pixels (default 768). */
  height?: number;
  /** Timeout of every X request, in ms (default 10 000). */
  timeoutMs?: number;
  /** Timeout of the health probe, in ms (default 1 000). */
  healthTimeoutMs?: number;
  /** How long the sandboxes and Xvfb may take to come up, in ms (default 10 000). */
  startTimeoutMs?: number;
  /** How long key('ctrl+alt+t') waits for the new terminal's window to appear and take focus (default 5 000 ms). */
  launchWaitMs?: number;
  /** Delay between typed characters, in ms (default 12, as xdotool). */
  typeDelayMs?: number;
  /** The program ctrl+alt+t starts (default `xterm`). */
  terminal?: TerminalCommand;
  /** Extra environment for every desktop program. Nothing of the server's own environment reaches them but LANG, TZ and LC_*. */
  env?: Record<string, string>;
  sandbox?: SandboxOptions;
  /** PNG zlib level (default 1) and row filter (default 'sub'). */
  png?: { level?: number; filter?: PngFilter };
  /** Binaries, when not on PATH. */
  xvfbPath?: string;
  bwrapPath?: string;
  tiniPath?: string;
  slirpPath?: string;
}

type Resolved = Required<Omit<XvfbComputerOptions, 'env' | 'png' | 'sandbox'>> & Pick<XvfbComputerOptions, 'env' | 'png'> & { sandbox: Required<Omit<SandboxOptions, 'onLimitsUnavailable' | 'uid' | 'gid'>> & SandboxOptions };

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
  bwrapPath: 'bwrap',
  tiniPath: 'tini',
  slirpPath: 'slirp4netns',
};

const SANDBOX_DEFAULTS = { network: 'none' as const, uid: 65534, gid: 65534, maxProcesses: 512, memoryMb: 2048, tmpfsMb: 512, readOnlyPaths: [] as string[] };

const MAX_DIMENSION = 8192;

/** X button numbers: 1 left, 2 middle, 3 right. */
const BUTTONS = { left: 1, middle: 2, right: 3 } as const;
const buttonNumber = (b: MouseButton | undefined) => BUTTONS[checkButton(b)];

function resolveOptions(options: XvfbComputerOptions): Resolved {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const sandboxGiven = Object.fromEntries(Object.entries(options.sandbox ?? {}).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given, sandbox: { ...SANDBOX_DEFAULTS, ...sandboxGiven } } as Resolved;
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
  if (!['none', 'outbound', 'host'].includes(o.sandbox.network)) {
    throw new ComputerError('BAD_ARGUMENT', `sandbox.network must be "none", "outbound" or "host", got ${JSON.stringify(o.sandbox.network)}`);
  }
  return o;
}

/** One incarnation of the computer: its desk (sandboxes) and our connection to its X server. */
interface Station {
  desk: Desk;
  conn: X11Connection;
  desktop: Desktop;
  input: XInput;
}

async function openStation(o: Resolved, label: string): Promise<Station> {
  const desk = await Desk.start({
    label,
    width: o.width,
    height: o.height,
    network: o.sandbox.network,
    uid: o.sandbox.uid,
    gid: o.sandbox.gid,
    maxProcesses: o.sandbox.maxProcesses,
    memoryMb: o.sandbox.memoryMb,
    tmpfsMb: o.sandbox.tmpfsMb,
    readOnlyPaths: o.sandbox.readOnlyPaths,
    env: o.env ?? {},
    terminal: o.terminal,
    bwrapPath: o.bwrapPath,
    xvfbPath: o.xvfbPath,
    tiniPath: o.tiniPath,
    slirpPath: o.slirpPath,
    startTimeoutMs: o.startTimeoutMs,
    onLimitsUnavailable: o.sandbox.onLimitsUnavailable,
  });
  let conn: X11Connection | undefined;
  try {
    conn = await X11Connection.connect({ path: desk.socketPath, cookie: desk.cookie, label: 'the computer\'s X server' }, o.startTimeoutMs);
    if (conn.setup.width !== o.width || conn.setup.height !== o.height) {
      throw new ComputerError('BACKEND_ERROR', `Xvfb screen is ${conn.setup.width}x${conn.setup.height}, asked for ${o.width}x${o.height}`);
    }
    const desktop = new Desktop(conn, { timeoutMs: o.timeoutMs, onTerminalHotkey: () => desk.launchTerminal() });
    await desktop.init();
    if (desktop.xtestOpcode === 0) throw new ComputerError('BACKEND_ERROR', 'the X server has no XTEST extension');
    const input = new XInput(conn, desktop.xtestOpcode, o.timeoutMs);
    await desktop.resetInput(Math.floor(o.width / 2), Math.floor(o.height / 2));
    return { desk, conn, desktop, input };
  } catch (err) {
    conn?.close();
    await desk.stop();
    if (err instanceof ComputerError) throw err;
    throw new ComputerError('BACKEND_ERROR', `cannot start the Xvfb computer: ${(err as Error).message}`);
  }
}

export class XvfbComputer implements Computer {
  readonly backend = 'xvfb' as const;
  /**
   * Resolves (with the reason) once the computer has died or been closed and every process of it
   * is gone; a reset is not a death.
   */
  readonly exited: Promise<string>;

  private deadReason: string | undefined;
  private closing: Promise<void> | undefined;
  private inputChain: Promise<unknown> = Promise.resolve();
  private readonly size: ScreenSize;
  private markExited!: (reason: string) => void;

  private constructor(
    private readonly options: Resolved,
    readonly id: string,
    private station: Station,
  ) {
    this.size = { width: options.width, height: options.height };
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.watch(station);
  }

  /** Starts the sandboxes, Xvfb and our X connection; undoes what it started on failure. */
  static async create(options: XvfbComputerOptions = {}): Promise<XvfbComputer> {
    const o = resolveOptions(options);
    const id = `xvfb:${randomBytes(4).toString('hex')}`;
    return new XvfbComputer(o, id, await openStation(o, id));
  }

  /** Host pids of every process of the computer right now (both sandboxes, their PID 1s included). */
  processes(): number[] {
    return this.deadReason === undefined ? this.station.desk.pids() : [];
  }

  /** DISPLAY inside the computer (":n"). */
  get display(): string {
    return `:${this.station.desk.displayNumber}`;
  }

  /** Host path of the X server's Unix socket (it admits only clients presenting the computer's cookie). */
  get socketPath(): string {
    return this.station.desk.socketPath;
  }

  /** Host pid of the desktop sandbox's PID 1 (its namespaces are the desktop programs'). */
  get desktopPid(): number {
    return this.station.desk.desktop.initPid;
  }

  /** Host pid of the display sandbox's PID 1: Xvfb itself. */
  get displayPid(): number {
    return this.station.desk.display.initPid;
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
    return this.guarded(() => screenshotPng(this.station.conn, this.options.timeoutMs, this.options.png));
  }

  screenSize(): Promise<ScreenSize> {
    return this.guarded(async () => ({ ...this.size }));
  }

  cursorPosition(): Promise<Point> {
    return this.guarded(() => this.station.desktop.pointer());
  }

  // ---- pointer -------------------------------------------------------------------------------

  move(x: number, y: number): Promise<void> {
    return this.input(async (s) => {
      checkPoint(x, y, this.size);
      await s.input.move(x, y);
    });
  }

  click(x: number, y: number, button?: MouseButton): Promise<void> {
    return this.input(async (s) => {
      checkPoint(x, y, this.size);
      await s.input.click(x, y, buttonNumber(button));
    });
  }

  doubleClick(x: number, y: number): Promise<void> {
    return this.input(async (s) => {
      checkPoint(x, y, this.size);
      await s.input.click(x, y, 1, 2);
    });
  }

  tripleClick(x: number, y: number): Promise<void> {
    return this.input(async (s) => {
      checkPoint(x, y, this.size);
      await s.input.click(x, y, 1, 3);
    });
  }

  mouseDown(button?: MouseButton): Promise<void> {
    return this.input((s) => s.input.button(buttonNumber(button), true));
  }

  mouseUp(button?: MouseButton): Promise<void> {
    return this.input((s) => s.input.button(buttonNumber(button), false));
  }

  drag(path: Point[], button?: MouseButton): Promise<void> {
    return this.input(async (s) => {
      const points = checkPath(path, this.size);
      await s.input.drag(points, buttonNumber(button));
    });
  }

  scroll(x: number, y: number, dx: number, dy: number): Promise<void> {
    return this.input(async (s) => {
      checkPoint(x, y, this.size);
      await s.input.scroll(x, y, checkClicks('dx', dx), checkClicks('dy', dy));
    });
  }

  // ---- keyboard ------------------------------------------------------------------------------

  type(text: string): Promise<void> {
    return this.input(async (s) => {
      const t = checkText(text);
      if (t.length > 0) await s.input.type(t, this.options.typeDelayMs);
    });
  }

  key(keys: string): Promise<void> {
    return this.input(async (s) => {
      await s.input.keys(parseKeys(keys));
      // If the combo was the terminal hotkey, wait for the terminal so that typing goes to it.
      await s.desktop.settleLaunches(this.options.launchWaitMs);
    });
  }

  holdKey(keys: string, ms: number): Promise<void> {
    return this.input(async (s) => {
      const combos = parseKeys(keys);
      checkHoldMs(ms);
      await s.input.keys(combos, 'down');
      try {
        await new Promise((resolve) => setTimeout(resolve, ms));
      } finally {
        await s.input.keys([...combos].reverse(), 'up');
      }
      await s.desktop.settleLaunches(this.options.launchWaitMs);
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Rejects with COMPUTER_DEAD unless both sandboxes and our connection are alive and the X server answers. */
  async health(): Promise<void> {
    this.assertAlive();
    try {
      await this.station.desktop.sync(this.options.healthTimeoutMs);
    } catch (err) {
      if (err instanceof X11TimeoutError) {
        throw new ComputerError('COMPUTER_DEAD', `${this.id} is unresponsive: no answer within ${this.options.healthTimeoutMs} ms`);
      }
      throw this.translate(err);
    }
    this.assertAlive();
  }

  /**
   * Ends every process of the computer — both sandboxes, whatever their programs did to escape
   * (new sessions, cleared environments, double forks) — and starts it afresh: a new X server,
   * an empty home and /tmp, the pointer centred. Nothing of the previous lease survives.
   */
  reset(): Promise<void> {
    return this.input(async (old) => {
      this.retired.add(old);
      old.conn.close();
      await old.desk.stop();
      let next: Station;
      try {
        next = await openStation(this.options, this.id);
      } catch (err) {
        this.die(`reset failed: ${(err as Error).message}`);
        throw err;
      }
      if (this.deadReason !== undefined) {
        // closed while we were starting the new one
        next.conn.close();
        await next.desk.stop();
        throw new ComputerError('COMPUTER_DEAD', `${this.id} is dead: ${this.deadReason}`);
      }
      this.station = next;
      this.watch(next);
    });
  }

  /** Ends every process of this computer and waits for each to exit. Idempotent; every method rejects with COMPUTER_DEAD afterwards. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const station = this.station;
    this.die('closed', station);
    station.conn.close(); // a running action fails at once
    await station.desk.stop();
    await this.inputChain; // a reset in progress stops what it started (it sees the computer dead)
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Stations a reset has replaced: their ends are not deaths. */
  private readonly retired = new WeakSet<Station>();

  private watch(station: Station): void {
    void station.desk.exited.then((why) => {
      if (!this.retired.has(station)) this.die(why, station);
    });
    station.conn.on('close', (reason) => {
      if (!this.retired.has(station)) this.die(`lost the X connection: ${reason}`, station);
    });
    if (station.conn.closed) this.die('lost the X connection during startup', station);
  }

  /** Marks the computer dead at once; `exited` resolves once the station's processes are gone. */
  private die(reason: string, station?: Station): void {
    if (this.deadReason !== undefined) return;
    this.deadReason = reason;
    if (!station) {
      this.markExited(reason);
      return;
    }
    station.conn.close();
    void station.desk.stop().then(() => this.markExited(reason));
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
  private async guarded<T>(fn: (s: Station) => Promise<T>): Promise<T> {
    this.assertAlive();
    try {
      return await fn(this.station);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Input actions (and resets) run one at a time, in call order. */
  private input(fn: (s: Station) => Promise<void>): Promise<void> {
    const run = this.inputChain.then(() => this.guarded(fn));
    this.inputChain = run.catch(() => {});
    return run;
  }
}
