/**
 * CuaRemoteComputer: the Computer contract over trycua's computer-server WebSocket protocol — a cua
 * sandbox, or our own `computer-server` lending a local Xvfb computer.
 *
 * - One WebSocket; public calls run one at a time in call order, each command answered by one reply.
 * - Every command has a timeout (TIMEOUT); see channel.ts for what happens to a late reply.
 * - Losing the connection rejects what is in flight and everything later with COMPUTER_DEAD and
 *   resolves `exited` — unless `reconnect` is on and the server keeps its computer across
 *   connections (a cua sandbox does; ours does not, so there a loss is always final). While
 *   reconnecting, the command that was in flight rejects with BACKEND_ERROR (it may or may not have
 *   run) and later calls wait for the new connection within their own timeout.
 * - Coordinates are checked against the screen size read at connect (refreshed by screenSize()).
 * - reset(): against our server, the real thing (our `mcp_actors_reset` extension). A cua server has
 *   no way to close windows, so there reset() releases the mouse buttons and modifier keys, centres
 *   the pointer and then rejects with NOT_SUPPORTED: the pool should replace such a computer.
 * - The API key goes into the auth frame only; it is scrubbed from every error message and never
 *   logged (this module logs nothing).
 */
import { ComputerError, type Computer, type MouseButton, type Point, type ScreenSize } from '../../shared/computer.js';
import { ConnectionLost, type ReplyChannel } from './channel.js';
import { dial, publicName, wsUrl, type DialOptions, type ServerInfo } from './dial.js';
import {
  EXTENSIONS, failureCode, frame, toCua, xdotoolKeysToCua, type CommandFrame, type SuccessReply,
} from './protocol.js';
import {
  checkButton, checkClicks, checkHoldMs, checkPath, checkPoint, checkPosition, checkScreenSize, checkText,
} from '../../shared/validate.js';

export interface CuaConnectOptions {
  /** ws(s)://host:port/ws, or an http(s) base URL (then `/ws` is appended). */
  url: string;
  /** Sent in the auth frame first thing; cua cloud sandboxes need it (with containerName). */
  apiKey?: string;
  /** The sandbox's container name, for the auth frame (cua cloud checks it; our server ignores it). */
  containerName?: string;
  /** Per-command timeout, in ms (default 15 000); typing gets 25 ms more per character. */
  timeoutMs?: number;
  /** Timeout of the health probe, in ms (default 3 000). */
  healthTimeoutMs?: number;
  /** Reconnect after a lost connection (default false). Never done against a per-connection server. */
  reconnect?: boolean | { attempts?: number; delayMs?: number };
  /** WebSocket ping interval in ms; a ping unanswered until the next one drops the connection (default 15 000, 0 = off). */
  pingIntervalMs?: number;
  /** Extra headers for the upgrade request (e.g. for an authenticating proxy in front). */
  headers?: Record<string, string>;
  /** Largest reply frame accepted, in bytes (default 64 MiB; screenshots are base64 PNGs). */
  maxPayload?: number;
}

export interface CuaExit {
  /** WebSocket close code (1000 when we closed it). */
  code: number;
  reason: string;
}

const DEFAULTS = { timeoutMs: 15_000, healthTimeoutMs: 3_000, pingIntervalMs: 15_000, maxPayload: 64 * 1024 * 1024 };
const TYPE_MS_PER_CHAR = 25;
const SCROLL_MS_PER_CLICK = 20;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** What reset() releases on a server without our reset extension. */
const RELEASE_BUTTONS: MouseButton[] = ['left', 'middle', 'right'];
const RELEASE_KEYS = ['shift', 'ctrl', 'alt', 'cmd'];

/** Connects, authenticates (when apiKey is given) and reads the screen size. */
export async function connectCuaComputer(options: CuaConnectOptions): Promise<CuaRemoteComputer> {
  return CuaRemoteComputer.connect(options);
}

export class CuaRemoteComputer implements Computer {
  readonly backend = 'cua' as const;
  readonly id: string;
  /** Resolves when the computer is gone for good: close(), or a lost connection that is not recovered. */
  readonly exited: Promise<CuaExit>;

  private deadReason: string | undefined;
  private closing: Promise<void> | undefined;
  private opChain: Promise<unknown> = Promise.resolve();
  private reconnecting: Promise<void> | undefined;
  private resolveExit!: (exit: CuaExit) => void;

  private constructor(
    private readonly dialOptions: DialOptions,
    private readonly healthTimeoutMs: number,
    private readonly reconnectPolicy: { attempts: number; delayMs: number } | undefined,
    private channel: ReplyChannel,
    private serverInfo: ServerInfo,
    private size: ScreenSize,
  ) {
    this.id = `cua:${publicName(wsUrl(dialOptions.url))}`;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  static async connect(options: CuaConnectOptions): Promise<CuaRemoteComputer> {
    const o = resolveOptions(options);
    let computer: CuaRemoteComputer | undefined;
    let lostBeforeReady: ConnectionLost | undefined;
    const session = await dial(o.dial, (lost) => {
      if (computer) computer.onLost(lost);
      else lostBeforeReady = lost;
    });
    computer = new CuaRemoteComputer(o.dial, o.healthTimeoutMs, o.reconnect, session.channel, session.info, session.size);
    if (lostBeforeReady) computer.onLost(lostBeforeReady);
    return computer;
  }

  /** What the server said about itself at connect. */
  get server(): ServerInfo {
    return this.serverInfo;
  }

  get dead(): boolean {
    return this.deadReason !== undefined;
  }

  /** Why the computer is dead (undefined while alive). */
  get deathReason(): string | undefined {
    return this.deadReason;
  }

  // ---- observation ---------------------------------------------------------------------------

  screenshot(): Promise<Uint8Array> {
    return this.op(async () => {
      const r = await this.send(toCua.screenshot());
      if (typeof r.image_data !== 'string' || r.image_data.length === 0) {
        throw new ComputerError('BACKEND_ERROR', `${this.id}: the screenshot reply carries no image_data`);
      }
      const bytes = Buffer.from(r.image_data, 'base64');
      if (bytes.length < 33 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
        throw new ComputerError('BACKEND_ERROR', `${this.id}: the screenshot is not a PNG (format ${String(r.format)})`);
      }
      return bytes;
    });
  }

  screenSize(): Promise<ScreenSize> {
    return this.op(async () => {
      const r = await this.send(toCua.screenSize());
      this.size = checkScreenSize(r.size);
      return { ...this.size };
    });
  }

  cursorPosition(): Promise<Point> {
    return this.op(async () => checkPosition((await this.send(toCua.cursorPosition())).position));
  }

  // ---- pointer -------------------------------------------------------------------------------

  move(x: number, y: number): Promise<void> {
    return this.op(async () => {
      checkPoint(x, y, this.size);
      await this.send(toCua.move(x, y));
    });
  }

  click(x: number, y: number, button?: MouseButton): Promise<void> {
    return this.op(async () => {
      const b = checkButton(button);
      checkPoint(x, y, this.size);
      for (const f of toCua.click(x, y, b)) await this.send(f);
    });
  }

  doubleClick(x: number, y: number): Promise<void> {
    return this.op(async () => {
      checkPoint(x, y, this.size);
      await this.send(toCua.doubleClick(x, y));
    });
  }

  tripleClick(x: number, y: number): Promise<void> {
    return this.op(async () => {
      checkPoint(x, y, this.size);
      if (this.has(EXTENSIONS.tripleClick)) await this.send(frame(EXTENSIONS.tripleClick, { x, y }));
      else for (const f of toCua.tripleClick(x, y)) await this.send(f);
    });
  }

  mouseDown(button?: MouseButton): Promise<void> {
    return this.op(async () => {
      await this.send(toCua.mouseDown(checkButton(button)));
    });
  }

  mouseUp(button?: MouseButton): Promise<void> {
    return this.op(async () => {
      await this.send(toCua.mouseUp(checkButton(button)));
    });
  }

  drag(path: Point[], button?: MouseButton): Promise<void> {
    return this.op(async () => {
      const b = checkButton(button);
      const points = checkPath(path, this.size);
      const plan = toCua.drag(points, b);
      const [moveToStart, press] = plan.start as [CommandFrame, CommandFrame];
      await this.send(moveToStart);
      await this.send(press);
      let failed: unknown;
      try {
        for (const f of plan.moves) await this.send(f);
      } catch (err) {
        failed = err;
      }
      // Release even when a move failed, unless the computer is gone.
      try {
        if (!this.dead) await this.send(plan.release);
      } catch (err) {
        failed ??= err;
      }
      if (failed !== undefined) throw failed;
    });
  }

  scroll(x: number, y: number, dx: number, dy: number): Promise<void> {
    return this.op(async () => {
      checkPoint(x, y, this.size);
      checkClicks('dx', dx);
      checkClicks('dy', dy);
      const extra = SCROLL_MS_PER_CLICK * (Math.abs(dx) + Math.abs(dy));
      for (const f of toCua.scroll(x, y, dx, dy)) await this.send(f, this.dialOptions.timeoutMs + extra);
    });
  }

  // ---- keyboard ------------------------------------------------------------------------------

  type(text: string): Promise<void> {
    return this.op(async () => {
      const t = checkText(text);
      if (t.length === 0) return;
      await this.send(toCua.type(t), this.dialOptions.timeoutMs + TYPE_MS_PER_CHAR * t.length);
    });
  }

  key(keys: string): Promise<void> {
    return this.op(async () => {
      const combos = xdotoolKeysToCua(keys);
      for (const combo of combos) await this.send(toCua.combo(combo));
    });
  }

  holdKey(keys: string, ms: number): Promise<void> {
    return this.op(async () => {
      const combos = xdotoolKeysToCua(keys);
      checkHoldMs(ms);
      if (this.has(EXTENSIONS.holdKey)) {
        await this.send(frame(EXTENSIONS.holdKey, { keys, ms }), this.dialOptions.timeoutMs + ms);
        return;
      }
      const held: string[] = [];
      let failed: unknown;
      try {
        for (const key of combos.flat()) {
          await this.send(toCua.keyDown(key));
          held.push(key);
        }
        await new Promise((resolve) => setTimeout(resolve, ms));
      } catch (err) {
        failed = err;
      }
      for (const key of held.reverse()) {
        if (this.dead) break;
        try {
          await this.send(toCua.keyUp(key));
        } catch (err) {
          failed ??= err;
        }
      }
      if (failed !== undefined) throw failed;
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** get_cursor_position within healthTimeoutMs; any failure is COMPUTER_DEAD (unresponsive or gone). */
  health(): Promise<void> {
    return this.op(async () => {
      try {
        checkPosition((await this.send(toCua.cursorPosition(), this.healthTimeoutMs)).position);
      } catch (err) {
        if (err instanceof ComputerError && err.code === 'COMPUTER_DEAD') throw err;
        throw new ComputerError('COMPUTER_DEAD', `${this.id} is unhealthy: ${(err as Error).message}`);
      }
    });
  }

  /**
   * Our server: a full reset of its computer. A cua server: releases buttons and modifier keys,
   * centres the pointer, then rejects with NOT_SUPPORTED (windows cannot be closed over the
   * protocol; replace the computer instead).
   */
  reset(): Promise<void> {
    return this.op(async () => {
      if (this.has(EXTENSIONS.reset)) {
        await this.send(frame(EXTENSIONS.reset), this.dialOptions.timeoutMs * 2);
        return;
      }
      for (const b of RELEASE_BUTTONS) await this.send(toCua.mouseUp(b)).catch(() => {});
      for (const k of RELEASE_KEYS) await this.send(toCua.keyUp(k)).catch(() => {});
      await this.send(toCua.move(Math.floor(this.size.width / 2), Math.floor(this.size.height / 2)));
      throw new ComputerError(
        'NOT_SUPPORTED',
        `${this.id}: the computer-server protocol cannot close windows; input was released and the pointer centred, but the desktop is not clean — replace this computer`,
      );
    });
  }

  /** Closes the WebSocket (the server then frees what it gave us). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.die('closed', { code: 1000, reason: 'closed by the client' });
      await this.channel.close();
    })();
    return this.closing;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private has(extension: string): boolean {
    return this.serverInfo.extensions.has(extension);
  }

  /** Public calls run one at a time, in call order. */
  private op<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(() => {
      this.assertAlive();
      return fn();
    });
    this.opChain = run.catch(() => {});
    return run;
  }

  private assertAlive(): void {
    if (this.deadReason !== undefined) throw new ComputerError('COMPUTER_DEAD', `${this.id} is dead: ${this.deadReason}`);
  }

  /** Sends one command; resolves with its success reply, rejects with a ComputerError. */
  private async send(f: CommandFrame, timeoutMs = this.dialOptions.timeoutMs): Promise<SuccessReply> {
    this.assertAlive();
    const started = Date.now();
    if (this.reconnecting) {
      const ok = await Promise.race([this.reconnecting.then(() => true), sleep(timeoutMs).then(() => false)]);
      this.assertAlive();
      if (!ok) throw new ComputerError('TIMEOUT', `${f.command} not sent: still reconnecting to ${this.id} after ${timeoutMs} ms`);
    }
    let reply;
    try {
      reply = await this.channel.request(f, Math.max(1, timeoutMs - (Date.now() - started)));
    } catch (err) {
      throw this.translate(err, f.command);
    }
    if (!reply.success) {
      const code = failureCode(reply);
      const message = this.dialOptions.redact(`${this.id}: ${f.command} failed: ${reply.error}`);
      if (code === 'COMPUTER_DEAD') this.die(message, { code: 1011, reason: 'the server reported the computer dead' });
      throw new ComputerError(code, message);
    }
    return reply;
  }

  private translate(err: unknown, command: string): ComputerError {
    if (err instanceof ConnectionLost) {
      if (this.reconnecting && !this.dead) {
        return new ComputerError('BACKEND_ERROR', `${this.id}: connection lost while ${command} was in flight (it may or may not have run); reconnecting`);
      }
      return new ComputerError('COMPUTER_DEAD', `${this.id} is dead: ${this.deadReason ?? err.message}`);
    }
    if (err instanceof ComputerError) return err;
    return new ComputerError('BACKEND_ERROR', this.dialOptions.redact(`${this.id}: ${(err as Error)?.message ?? String(err)}`));
  }

  private onLost(lost: ConnectionLost): void {
    if (this.dead) return;
    const final = !this.reconnectPolicy || this.serverInfo.perConnection || lost.closeCode === 1008 || lost.closeCode === 1011;
    const why = `connection lost (${lost.closeCode}${lost.closeReason ? `: ${this.dialOptions.redact(lost.closeReason)}` : ''})`;
    if (final) {
      this.die(why, { code: lost.closeCode, reason: lost.closeReason });
      return;
    }
    this.reconnecting = this.reconnectLoop(this.reconnectPolicy as { attempts: number; delayMs: number }, lost, why).finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnectLoop(policy: { attempts: number; delayMs: number }, lost: ConnectionLost, why: string): Promise<void> {
    let last = '';
    for (let attempt = 0; attempt < policy.attempts && !this.dead; attempt++) {
      await sleep(Math.min(policy.delayMs * 2 ** attempt, 30_000));
      if (this.dead) return;
      try {
        const session = await dial(this.dialOptions, (l) => this.onLost(l));
        if (this.dead) {
          await session.channel.close();
          return;
        }
        this.channel = session.channel;
        this.serverInfo = session.info;
        this.size = session.size;
        return;
      } catch (err) {
        last = (err as Error).message;
        if (err instanceof ComputerError && err.code === 'AUTH_FAILED') break;
      }
    }
    this.die(`${why}; reconnecting failed${last ? `: ${last}` : ''}`, { code: lost.closeCode, reason: lost.closeReason });
  }

  private die(reason: string, exit: CuaExit): void {
    if (this.deadReason !== undefined) return;
    this.deadReason = reason;
    this.resolveExit({ code: exit.code, reason: this.dialOptions.redact(exit.reason) });
    if (!this.channel.closed) void this.channel.close();
  }
}

function resolveOptions(options: CuaConnectOptions) {
  if (typeof options !== 'object' || options === null || typeof options.url !== 'string') {
    throw new ComputerError('BAD_ARGUMENT', 'connectCuaComputer needs { url }');
  }
  wsUrl(options.url); // validates
  const num = (name: string, v: number | undefined, dflt: number, min: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ComputerError('BAD_ARGUMENT', `${name} must be a number >= ${min}`);
    return v;
  };
  const apiKey = options.apiKey;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0)) throw new ComputerError('BAD_ARGUMENT', 'apiKey must be a non-empty string');
  const secrets = [apiKey, ...urlSecrets(options.url)].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const redact = (text: string) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
  const r = options.reconnect;
  const reconnect = r === undefined || r === false
    ? undefined
    : { attempts: num('reconnect.attempts', r === true ? undefined : r.attempts, 5, 1), delayMs: num('reconnect.delayMs', r === true ? undefined : r.delayMs, 500, 0) };
  const dialOptions: DialOptions = {
    url: options.url,
    apiKey,
    containerName: options.containerName,
    timeoutMs: num('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs, 1),
    pingIntervalMs: num('pingIntervalMs', options.pingIntervalMs, DEFAULTS.pingIntervalMs, 0),
    headers: { ...options.headers },
    maxPayload: num('maxPayload', options.maxPayload, DEFAULTS.maxPayload, 1024),
    redact,
  };
  return { dial: dialOptions, healthTimeoutMs: num('healthTimeoutMs', options.healthTimeoutMs, DEFAULTS.healthTimeoutMs, 1), reconnect };
}

/** Credentials a URL may carry (userinfo, query values), to scrub from messages. */
function urlSecrets(raw: string): string[] {
  try {
    const u = new URL(raw);
    return [decodeURIComponent(u.username), decodeURIComponent(u.password), ...[...u.searchParams.values()]];
  } catch {
    return [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
