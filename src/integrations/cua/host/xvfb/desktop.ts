/**
 * The window-manager-sized bit of desktop behaviour, done over the backend's own X connection
 * instead of a separate window manager or hotkey daemon:
 *
 * - ctrl+alt+t: a passive key grab on the root window (for every Lock/NumLock combination); each
 *   press calls `onTerminalHotkey` (the session launches an xterm). `settleLaunches` waits until
 *   such a terminal is ready for typing: mapped, focused, and drawn (its shell has printed a
 *   prompt — keys typed before that can be lost while the terminal sets up its tty).
 * - Focus: every newly mapped top-level window gets the keyboard focus (reverting to PointerRoot
 *   when it goes away, at which point the topmost remaining window is focused); a click on a
 *   top-level window focuses and raises it (a synchronous passive button grab on the root that
 *   replays every click to its window, the way click-to-focus window managers do it).
 * - Reset helpers: list and kill client windows, release held keys and buttons, centre the pointer.
 *
 * - Placement: windows are not decorated or resized; a new window that appears while others are
 *   mapped is cascaded (moved 32 px down-right per window) so that it does not hide them exactly.
 */
import { X11ProtocolError, type X11Connection } from './x11-connection.js';
import {
  AllowReplayPointer, EventCode, EventMask, ModMask, PointerRoot, RevertToPointerRoot,
  allowEvents, decodeExtension, decodeInputEvent, decodeKeyboardMapping, decodeKeymap,
  decodeModifierMapping, decodeQueryPointer, decodeQueryTree, decodeStructureEvent, decodeWindowAttributes,
  getInputFocus, getKeyboardMapping, getModifierMapping, getWindowAttributes, grabAnyButtonSync, grabKey,
  killClient, moveWindow, queryExtension, queryKeymap, queryPointer, queryTree, raiseWindow, selectInput, setInputFocus,
  warpPointer, xtestFakeInput, getGeometry, decodeGeometry, getImage,
} from './x11-requests.js';

/** Whether every 32-bit pixel of a ZPixmap image is the same (a window showing only its background). */
function uniform(image: Buffer): boolean {
  if (image.length < 8) return true;
  const first = image.readUInt32LE(0);
  for (let i = 4; i + 4 <= image.length; i += 4) if (image.readUInt32LE(i) !== first) return false;
  return true;
}

const XK_t = 0x74;
const XK_Alt_L = 0xffe9;
const XK_Alt_R = 0xffea;
const XK_Num_Lock = 0xff7f;

interface PendingLaunch {
  resolve: (window: number | undefined) => void;
  promise: Promise<number | undefined>;
}

/** How often a new terminal's window is looked at while waiting for it to draw. */
const DRAWN_POLL_MS = 15;

export interface DesktopOptions {
  timeoutMs: number;
  /** Starts a terminal; returns false when it could not (the session is gone). */
  onTerminalHotkey: () => boolean;
}

export class Desktop {
  private readonly root: number;
  private hotkeycode = 0;
  /** Major opcode of the XTEST extension (0 when the server has none). */
  xtestOpcode = 0;
  /** Mapped top-level windows we know of, bottom to top. */
  private readonly stack: number[] = [];
  private readonly seen = new Set<number>();
  private focused = 0;
  private readonly launches: PendingLaunch[] = [];

  constructor(
    private readonly conn: X11Connection,
    private readonly options: DesktopOptions,
  ) {
    this.root = conn.setup.root;
  }

  /** Sets up the grabs and event selection. Rejects if another client already holds them. */
  async init(): Promise<void> {
    const { conn } = this;
    const t = this.options.timeoutMs;
    const { minKeycode, maxKeycode } = conn.setup;
    const [mappingReply, modReply, xtestReply] = await Promise.all([
      conn.request(getKeyboardMapping(minKeycode, maxKeycode - minKeycode + 1), t),
      conn.request(getModifierMapping(), t),
      conn.request(queryExtension('XTEST'), t),
    ]);
    const mapping = decodeKeyboardMapping(mappingReply, minKeycode);
    const modifiers = decodeModifierMapping(modReply);
    const xtest = decodeExtension(xtestReply);
    this.xtestOpcode = xtest.present ? xtest.majorOpcode : 0;

    const keycodesOf = (keysym: number) => [...mapping].filter(([, syms]) => syms.includes(keysym)).map(([code]) => code);
    const maskOf = (keysyms: number[], fallback: number) => {
      const codes = keysyms.flatMap(keycodesOf);
      const index = modifiers.findIndex((mod) => mod.some((code) => codes.includes(code)));
      return index >= 0 ? 1 << index : fallback;
    };
    this.hotkeycode = [...mapping].find(([, syms]) => syms[0] === XK_t)?.[0] ?? 0;
    if (this.hotkeycode === 0) throw new Error('no keycode for "t" in the keyboard mapping');
    const alt = maskOf([XK_Alt_L, XK_Alt_R], ModMask.Mod1);
    const numLock = maskOf([XK_Num_Lock], ModMask.Mod2);

    conn.on('event', (code, packet) => this.onEvent(code, packet));
    // During setup an error means a grab failed. Later ones are expected races (focusing or
    // killing a window that just went away) and are ignored.
    const errors: X11ProtocolError[] = [];
    const collect = (err: X11ProtocolError) => errors.push(err);
    conn.on('asyncError', collect);
    conn.send(selectInput(this.root, EventMask.SubstructureNotify));
    for (const extra of [0, ModMask.Lock, numLock, ModMask.Lock | numLock]) {
      conn.send(grabKey(this.root, ModMask.Control | alt | extra, this.hotkeycode));
    }
    conn.send(grabAnyButtonSync(this.root));
    await this.sync();
    conn.off('asyncError', collect);
    const failure = errors[0];
    if (failure) throw new Error(`could not set up the desktop (another window manager?): ${failure.message}`);
  }

  /** One round trip: every request sent before has been processed, every event before it received. */
  async sync(timeoutMs = this.options.timeoutMs): Promise<void> {
    await this.conn.request(getInputFocus(), timeoutMs);
  }

  /**
   * Waits (at most `timeoutMs`) until every terminal launched by the hotkey so far has mapped its
   * window and been given the focus. Resolves false if some did not appear in time (those are
   * then forgotten, so that a terminal that failed to start delays only one call).
   */
  async settleLaunches(timeoutMs: number): Promise<boolean> {
    await this.sync();
    const waiting = [...this.launches];
    if (waiting.length === 0) return true;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const mapped = await Promise.race([Promise.all(waiting.map((l) => l.promise)), timeout]);
    clearTimeout(timer);
    if (!mapped) {
      for (const launch of waiting) {
        const i = this.launches.indexOf(launch);
        if (i >= 0) this.launches.splice(i, 1);
      }
      return false;
    }
    for (const window of mapped) if (window !== undefined && !(await this.drawn(window, deadline))) return false;
    return true;
  }

  /**
   * Waits until a window shows more than its background and has stopped changing (two looks
   * DRAWN_POLL_MS apart are the same), or the deadline. False at the deadline; true also when
   * the window went away meanwhile (nothing to wait for).
   */
  private async drawn(window: number, deadline: number): Promise<boolean> {
    const t = this.options.timeoutMs;
    let previous: Buffer | undefined;
    while (Date.now() < deadline) {
      let image: Buffer;
      try {
        const { width, height } = decodeGeometry(await this.conn.request(getGeometry(window), t));
        image = (await this.conn.request(getImage(window, 0, 0, width, height), t)).subarray(32);
      } catch (err) {
        if (err instanceof X11ProtocolError) return true; // destroyed or unmapped meanwhile
        throw err;
      }
      if (previous?.equals(image) && !uniform(image)) return true;
      previous = image;
      await new Promise((resolve) => setTimeout(resolve, DRAWN_POLL_MS));
    }
    return false;
  }

  /** Top-level windows that are mapped, bottom to top (asks the server, not our bookkeeping). */
  async mappedTopLevels(): Promise<number[]> {
    const t = this.options.timeoutMs;
    const children = decodeQueryTree(await this.conn.request(queryTree(this.root), t));
    const attrs = await Promise.all(
      children.map((w) =>
        this.conn.request(getWindowAttributes(w), t).then(decodeWindowAttributes, (err: unknown) => {
          if (err instanceof X11ProtocolError) return undefined; // destroyed meanwhile
          throw err;
        }),
      ),
    );
    return children.filter((_, i) => attrs[i] !== undefined && attrs[i].mapState !== 0);
  }

  /** Disconnects the clients owning the given windows (and so destroys all their windows). */
  killClientsOf(windows: readonly number[]): void {
    for (const w of windows) this.conn.send(killClient(w));
  }

  /** Releases held keys and buttons, forgets pending launches, centres the pointer, focus to PointerRoot. */
  async resetInput(x: number, y: number): Promise<void> {
    const t = this.options.timeoutMs;
    for (const launch of this.launches.splice(0)) launch.resolve(undefined);
    if (this.xtestOpcode !== 0) {
      const [keymap, pointer] = await Promise.all([
        this.conn.request(queryKeymap(), t).then(decodeKeymap),
        this.conn.request(queryPointer(this.root), t).then(decodeQueryPointer),
      ]);
      for (const keycode of keymap) this.conn.send(xtestFakeInput(this.xtestOpcode, 3, keycode));
      for (let button = 1; button <= 5; button++) {
        if (pointer.mask & (0x100 << (button - 1))) this.conn.send(xtestFakeInput(this.xtestOpcode, 5, button));
      }
    }
    this.conn.send(warpPointer(this.root, x, y));
    this.conn.send(setInputFocus(PointerRoot, RevertToPointerRoot));
    this.focused = 0;
    this.stack.length = 0;
    await this.sync();
  }

  async pointer(): Promise<{ x: number; y: number }> {
    const { x, y } = decodeQueryPointer(await this.conn.request(queryPointer(this.root), this.options.timeoutMs));
    return { x, y };
  }

  /** The focus window id (1 = PointerRoot, 0 = None). */
  async focus(): Promise<number> {
    return (await this.conn.request(getInputFocus(), this.options.timeoutMs)).readUInt32LE(8);
  }

  private onEvent(code: number, packet: Buffer): void {
    switch (code) {
      case EventCode.KeyPress: {
        const ev = decodeInputEvent(packet);
        if (ev.detail === this.hotkeycode) this.launchTerminal();
        return;
      }
      case EventCode.ButtonPress: {
        const ev = decodeInputEvent(packet);
        // Only client top-levels we saw mapped: never focus override-redirect menus or tooltips.
        if (ev.child !== 0 && this.stack.includes(ev.child)) {
          this.conn.send(raiseWindow(ev.child));
          this.focusWindow(ev.child);
        }
        this.conn.send(allowEvents(AllowReplayPointer));
        return;
      }
      case EventCode.MapNotify: {
        const ev = decodeStructureEvent(packet);
        if (ev.event !== this.root || ev.overrideRedirect) return;
        this.untrack(ev.window);
        const isNew = !this.seen.has(ev.window);
        if (isNew && this.stack.length > 0) {
          const offset = 32 * (this.stack.length % 8);
          this.conn.send(moveWindow(ev.window, offset, offset));
        }
        this.stack.push(ev.window);
        this.focusWindow(ev.window);
        if (isNew) {
          this.seen.add(ev.window);
          void this.matchLaunch(ev.window);
        }
        return;
      }
      case EventCode.UnmapNotify:
      case EventCode.DestroyNotify: {
        const ev = decodeStructureEvent(packet);
        if (ev.event !== this.root) return;
        this.untrack(ev.window);
        if (code === EventCode.DestroyNotify) this.seen.delete(ev.window);
        if (ev.window === this.focused) {
          const top = this.stack[this.stack.length - 1];
          if (top !== undefined) this.focusWindow(top);
          else this.focused = 0; // the server reverts to PointerRoot by itself
        }
        return;
      }
    }
  }

  private launchTerminal(): void {
    if (!this.options.onTerminalHotkey()) return;
    let resolve!: (window: number | undefined) => void;
    const promise = new Promise<number | undefined>((r) => {
      resolve = r;
    });
    this.launches.push({ resolve, promise });
  }

  /** A new top-level window settles the oldest pending launch once its focus has been applied. */
  private async matchLaunch(window: number): Promise<void> {
    if (this.launches.length === 0) return;
    try {
      await this.sync(); // our SetInputFocus is processed before anyone is told the window is there
    } catch {
      // connection gone: waiters are released below and the computer reports itself dead
    }
    this.launches.shift()?.resolve(window);
  }

  private focusWindow(window: number): void {
    this.focused = window;
    this.conn.send(setInputFocus(window, RevertToPointerRoot));
    const i = this.stack.indexOf(window);
    if (i >= 0 && i !== this.stack.length - 1) {
      this.stack.splice(i, 1);
      this.stack.push(window);
    }
  }

  private untrack(window: number): void {
    const i = this.stack.indexOf(window);
    if (i >= 0) this.stack.splice(i, 1);
  }
}
