/**
 * Keyboard and pointer input over the backend's own X connection through XTEST FakeInput: no
 * helper process per action, nothing run inside the computer's sandbox from outside.
 *
 * - Key names follow xdotool's vocabulary, which is the vocabulary of Anthropic's computer-use
 *   `key` action: X keysym names ("Return", "BackSpace", "Page_Up", "a", "F5"), xdotool's aliases
 *   ("ctrl", "alt", "shift", "super", "meta"), combos joined by "+", a few forgiving extras
 *   ("enter", "esc", "pgdn", any case) and single characters ("+", "é"). Every name is resolved
 *   before any key is pressed: an unknown one fails the whole call and presses nothing.
 * - A keysym found in the server's keyboard map is typed with its keycode (plus Shift for the
 *   second level). Anything else is bound to a spare keycode (one with no keysyms) and kept bound
 *   until the spares run out — so that clients which fetch the map lazily after MappingNotify
 *   always see the binding that was in place when the key was pressed. Spares are reused least
 *   recently used first, never sooner than `REBIND_AFTER_MS` after their last use.
 * - A MappingNotify from the server (a program ran xmodmap, say) makes us reload the map before
 *   the next key.
 * - Every action ends with a round trip, so that when it resolves the server has processed it.
 */
import type { X11Connection } from './x11-connection.js';
import { KEYSYM_TABLE } from './keysym-names.js';
import {
  EventCode, FakeEvent, changeKeyboardMapping, decodeKeyboardMapping, decodeModifierMapping,
  getInputFocus, getKeyboardMapping, getModifierMapping, xtestFakeInput,
} from './x11-requests.js';
import { ComputerError, type Point } from '../../shared/computer.js';

const NAMES = new Map<string, number>();
const LOWER = new Map<string, number>();
for (const chunk of KEYSYM_TABLE) {
  for (const pair of chunk.split(' ')) {
    const i = pair.indexOf(':');
    const name = pair.slice(0, i);
    const value = parseInt(pair.slice(i + 1), 36);
    NAMES.set(name, value);
    if (!LOWER.has(name.toLowerCase())) LOWER.set(name.toLowerCase(), value);
  }
}

/** xdotool's aliases and a few names models use that X does not know. Case-insensitive. */
const ALIASES: Record<string, string> = {
  ctrl: 'Control_L', control: 'Control_L', alt: 'Alt_L', shift: 'Shift_L', meta: 'Meta_L',
  super: 'Super_L', win: 'Super_L', windows: 'Super_L', cmd: 'Super_L', command: 'Super_L',
  enter: 'Return', esc: 'Escape', del: 'Delete', backspace: 'BackSpace', bksp: 'BackSpace',
  pgup: 'Prior', pageup: 'Prior', pgdn: 'Next', pagedown: 'Next', ins: 'Insert', spacebar: 'space',
};

const KS_RETURN = 0xff0d;
const KS_TAB = 0xff09;
const KS_SHIFT_L = 0xffe1;
/** A spare keycode is not rebound sooner than this after its last use. */
const REBIND_AFTER_MS = 200;

/** The keysym for one character, as X clients map characters (Latin-1 directly, the rest as Unicode keysyms). */
export function charKeysym(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  if (ch === '\n') return KS_RETURN;
  if (ch === '\t') return KS_TAB;
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}

/** The keysym a key name stands for, or undefined when it names nothing. */
export function keysymOf(name: string): number | undefined {
  const alias = ALIASES[name.toLowerCase()];
  if (alias) return NAMES.get(alias);
  const exact = NAMES.get(name);
  if (exact !== undefined) return exact;
  if ([...name].length === 1) return charKeysym(name);
  const folded = LOWER.get(name.toLowerCase());
  if (folded !== undefined) return folded;
  const uni = /^U\+?([0-9a-f]{4,6})$/i.exec(name);
  if (uni) return 0x01000000 + parseInt(uni[1] as string, 16);
  const hex = /^0x([0-9a-f]{1,8})$/i.exec(name);
  if (hex) return parseInt(hex[1] as string, 16);
  return undefined;
}

/** Resolves a list of combos ("ctrl+a", "Delete") to keysyms; throws BAD_ARGUMENT naming every unknown name. */
export function resolveCombos(combos: readonly string[]): number[][] {
  const unknown: string[] = [];
  const out = combos.map((combo) =>
    combo.split('+').map((part) => {
      const ks = keysymOf(part);
      if (ks === undefined) unknown.push(part);
      return ks ?? 0;
    }),
  );
  if (unknown.length > 0) throw new ComputerError('BAD_ARGUMENT', `unknown key name(s): ${unknown.join(', ')}`);
  return out;
}

interface Stroke {
  keycode: number;
  shift: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class XInput {
  private keysyms = new Map<number, number[]>();
  private perKeycode = 2;
  private shiftKeycode = 0;
  private stale = true;
  /** Spare keycodes (no keysyms in the server's map) → what we bound there and when it was last used. */
  private spares = new Map<number, { keysym: number; usedAt: number }>();

  constructor(
    private readonly conn: X11Connection,
    private readonly xtestOpcode: number,
    private readonly timeoutMs: number,
  ) {
    conn.on('event', (code) => {
      if (code === EventCode.MappingNotify) this.stale = true;
    });
  }

  private fake(type: number, detail: number, x = 0, y = 0): void {
    this.conn.send(xtestFakeInput(this.xtestOpcode, type, detail, this.conn.setup.root, x, y));
  }

  /** One round trip: the server has processed everything sent before. */
  async sync(): Promise<void> {
    await this.conn.request(getInputFocus(), this.timeoutMs);
  }

  private async loadMap(): Promise<void> {
    const { minKeycode, maxKeycode } = this.conn.setup;
    const [mapping, modifiers] = await Promise.all([
      this.conn.request(getKeyboardMapping(minKeycode, maxKeycode - minKeycode + 1), this.timeoutMs),
      this.conn.request(getModifierMapping(), this.timeoutMs),
    ]);
    this.keysyms = decodeKeyboardMapping(mapping, minKeycode);
    this.perKeycode = Math.max(2, mapping[1] ?? 2);
    const shiftCodes = decodeModifierMapping(modifiers)[0] ?? [];
    this.shiftKeycode = shiftCodes[0] ?? this.find(KS_SHIFT_L)?.keycode ?? 0;
    const spares = new Map<number, { keysym: number; usedAt: number }>();
    for (const [code, syms] of this.keysyms) {
      const previous = this.spares.get(code);
      if (syms.every((s) => s === 0)) spares.set(code, { keysym: 0, usedAt: 0 });
      else if (previous && syms[0] === previous.keysym) spares.set(code, previous); // one of our own bindings
    }
    this.spares = spares;
    this.stale = false;
  }

  /** Where a keysym is on the first two levels of the map (the second needs Shift). */
  private find(keysym: number): Stroke | undefined {
    for (const level of [0, 1]) {
      for (const [keycode, syms] of this.keysyms) if (syms[level] === keysym) return { keycode, shift: level === 1 };
    }
    return undefined;
  }

  /** The keycode for a keysym, binding a spare keycode when the map has none. */
  private async strokeFor(keysym: number): Promise<Stroke> {
    if (this.stale) await this.loadMap();
    for (const [keycode, spare] of this.spares) {
      if (spare.keysym === keysym) {
        spare.usedAt = Date.now();
        return { keycode, shift: false };
      }
    }
    const found = this.find(keysym);
    if (found) return found;
    const victim = [...this.spares.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)[0];
    if (!victim) throw new ComputerError('BACKEND_ERROR', 'the keyboard map has no spare keycode to type this character with');
    const [keycode, spare] = victim;
    const wait = spare.usedAt + REBIND_AFTER_MS - Date.now();
    if (wait > 0) await sleep(wait);
    const syms = new Array<number>(this.perKeycode).fill(0);
    syms[0] = keysym;
    syms[1] = keysym;
    this.conn.send(changeKeyboardMapping(keycode, this.perKeycode, syms));
    this.keysyms.set(keycode, syms);
    spare.keysym = keysym;
    spare.usedAt = Date.now();
    return { keycode, shift: false };
  }

  private async strokes(keysyms: readonly number[]): Promise<Stroke[]> {
    const out: Stroke[] = [];
    for (const ks of keysyms) out.push(await this.strokeFor(ks));
    return out;
  }

  // ---- pointer -----------------------------------------------------------------------------

  async move(x: number, y: number): Promise<void> {
    this.fake(FakeEvent.Motion, 0, x, y);
    await this.sync();
  }

  /** Moves to (x, y), then clicks `count` times `gapMs` apart. */
  async click(x: number, y: number, button: number, count = 1, gapMs = 60): Promise<void> {
    this.fake(FakeEvent.Motion, 0, x, y);
    for (let i = 0; i < count; i++) {
      if (i > 0) {
        await this.sync();
        await sleep(gapMs);
      }
      this.fake(FakeEvent.ButtonPress, button);
      this.fake(FakeEvent.ButtonRelease, button);
    }
    await this.sync();
  }

  async button(button: number, down: boolean): Promise<void> {
    this.fake(down ? FakeEvent.ButtonPress : FakeEvent.ButtonRelease, button);
    await this.sync();
  }

  /** Presses at the first point, moves through the others, releases at the last. */
  async drag(path: readonly Point[], button: number): Promise<void> {
    const [first, ...rest] = path as [Point, ...Point[]];
    this.fake(FakeEvent.Motion, 0, first.x, first.y);
    this.fake(FakeEvent.ButtonPress, button);
    for (const p of rest) this.fake(FakeEvent.Motion, 0, p.x, p.y);
    await this.sync();
    this.fake(FakeEvent.ButtonRelease, button);
    await this.sync();
  }

  /** Wheel clicks at (x, y): buttons 4/5 vertically, 6/7 horizontally. */
  async scroll(x: number, y: number, dx: number, dy: number): Promise<void> {
    this.fake(FakeEvent.Motion, 0, x, y);
    const wheel = (clicks: number, b: number) => {
      for (let i = 0; i < Math.abs(clicks); i++) {
        this.fake(FakeEvent.ButtonPress, b);
        this.fake(FakeEvent.ButtonRelease, b);
      }
    };
    wheel(dy, dy > 0 ? 5 : 4);
    wheel(dx, dx > 0 ? 7 : 6);
    await this.sync();
  }

  // ---- keyboard ----------------------------------------------------------------------------

  /**
   * Presses combos ("ctrl+a", then "Delete"): 'tap' presses and releases each combo in turn,
   * 'down' only presses, 'up' only releases (in reverse order).
   */
  async keys(combos: readonly string[], mode: 'tap' | 'down' | 'up' = 'tap'): Promise<void> {
    const resolved = resolveCombos(combos);
    for (const keysyms of resolved) {
      const strokes = await this.strokes(keysyms);
      const needsShift = strokes.some((s) => s.shift) && !strokes.some((s) => s.keycode === this.shiftKeycode);
      const codes = [...(needsShift && this.shiftKeycode ? [this.shiftKeycode] : []), ...strokes.map((s) => s.keycode)];
      if (mode !== 'up') for (const c of codes) this.fake(FakeEvent.KeyPress, c);
      if (mode !== 'down') for (const c of [...codes].reverse()) this.fake(FakeEvent.KeyRelease, c);
    }
    await this.sync();
  }

  /** Types text character by character, `delayMs` apart; newlines press Return, tabs Tab. */
  async type(text: string, delayMs: number): Promise<void> {
    let first = true;
    for (const ch of text) {
      const stroke = await this.strokeFor(charKeysym(ch));
      if (!first && delayMs > 0) {
        await this.sync();
        await sleep(delayMs);
      }
      first = false;
      const shift = stroke.shift && this.shiftKeycode !== 0;
      if (shift) this.fake(FakeEvent.KeyPress, this.shiftKeycode);
      this.fake(FakeEvent.KeyPress, stroke.keycode);
      this.fake(FakeEvent.KeyRelease, stroke.keycode);
      if (shift) this.fake(FakeEvent.KeyRelease, this.shiftKeycode);
    }
    await this.sync();
  }
}
