/**
 * Validation of the Computer input vocabulary and its translation into xdotool argument arrays
 * (run without a shell; literal text always follows `--`). xdotool's command chaining does several
 * steps in one process: `mousemove X Y click 1`.
 */
import { ComputerError, type MouseButton, type Point, type ScreenSize } from '../computer.js';

/** X button numbers: 1 left, 2 middle, 3 right; wheel 4 up, 5 down, 6 left, 7 right. */
export function buttonNumber(button: MouseButton | undefined): string {
  switch (button ?? 'left') {
    case 'left':
      return '1';
    case 'middle':
      return '2';
    case 'right':
      return '3';
    default:
      throw new ComputerError('BAD_ARGUMENT', `unknown mouse button ${JSON.stringify(button)} (left, right or middle)`);
  }
}

export function checkPoint(x: number, y: number, size: ScreenSize): void {
  const ok = (v: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < max;
  if (!ok(x, size.width) || !ok(y, size.height)) {
    throw new ComputerError(
      'BAD_COORDINATES',
      `(${String(x)}, ${String(y)}) is not an integer point on the ${size.width}x${size.height} screen (0..${size.width - 1}, 0..${size.height - 1})`,
    );
  }
}

export const MAX_PATH_POINTS = 10_000;
export const MAX_SCROLL_CLICKS = 200;
export const MAX_TEXT_LENGTH = 100_000;
export const MAX_HOLD_MS = 60_000;

export function moveArgs(x: number, y: number): string[] {
  return ['mousemove', String(x), String(y)];
}

export function clickArgs(x: number, y: number, button: MouseButton | undefined, count = 1): string[] {
  const b = buttonNumber(button);
  // xdotool waits --delay ms after every click (default 100); 60 ms apart still reads as a multi-click.
  const repeat = count > 1 ? ['--repeat', String(count), '--delay', '60'] : ['--delay', '0'];
  return [...moveArgs(x, y), 'click', ...repeat, b];
}

export function dragArgs(path: readonly Point[], button: MouseButton | undefined, size: ScreenSize): string[] {
  if (!Array.isArray(path) || path.length === 0) throw new ComputerError('BAD_ARGUMENT', 'drag needs a path of at least one point');
  if (path.length > MAX_PATH_POINTS) throw new ComputerError('BAD_ARGUMENT', `drag path too long (${path.length} > ${MAX_PATH_POINTS} points)`);
  for (const p of path) {
    if (typeof p !== 'object' || p === null) throw new ComputerError('BAD_COORDINATES', 'drag path holds a non-point');
    checkPoint(p.x, p.y, size);
  }
  const b = buttonNumber(button);
  const [first, ...rest] = path as [Point, ...Point[]];
  const last = rest[rest.length - 1] ?? first;
  const args = [...moveArgs(first.x, first.y), 'mousedown', b];
  for (const p of rest) args.push(...moveArgs(p.x, p.y));
  // A last, separate motion makes sure the release happens at the final point even for a 1-point path.
  args.push(...moveArgs(last.x, last.y), 'mouseup', b);
  return args;
}

export function scrollArgs(x: number, y: number, dx: number, dy: number): string[] {
  for (const [name, v] of [['dx', dx], ['dy', dy]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > MAX_SCROLL_CLICKS) {
      throw new ComputerError('BAD_ARGUMENT', `${name} must be an integer number of wheel clicks within ±${MAX_SCROLL_CLICKS}, got ${String(v)}`);
    }
  }
  const args = moveArgs(x, y);
  const wheel = (clicks: number, button: number) => {
    if (clicks !== 0) args.push('click', '--repeat', String(Math.abs(clicks)), '--delay', '10', String(button));
  };
  wheel(dy, dy > 0 ? 5 : 4);
  wheel(dx, dx > 0 ? 7 : 6);
  return args;
}

/** Normalises line endings; newlines become Return in xdotool's `type`. */
export function normaliseText(text: string): string {
  if (typeof text !== 'string') throw new ComputerError('BAD_ARGUMENT', 'text must be a string');
  if (text.length > MAX_TEXT_LENGTH) throw new ComputerError('BAD_ARGUMENT', `text too long (${text.length} > ${MAX_TEXT_LENGTH})`);
  if (text.includes('\0')) throw new ComputerError('BAD_ARGUMENT', 'text must not contain NUL characters');
  return text.replace(/\r\n?/g, '\n');
}

export function typeArgs(text: string, delayMs: number): string[] {
  return ['type', '--delay', String(delayMs), '--', text];
}

/** Splits "ctrl+a Delete" into combos; refuses empty input and anything that looks like an option. */
export function parseKeys(keys: string): string[] {
  if (typeof keys !== 'string') throw new ComputerError('BAD_ARGUMENT', 'keys must be a string');
  const combos = keys.trim().split(/\s+/).filter((c) => c.length > 0);
  if (combos.length === 0) throw new ComputerError('BAD_ARGUMENT', 'no key given');
  for (const combo of combos) {
    if (combo.includes('\0') || combo.startsWith('-') || combo.split('+').some((part) => part.length === 0)) {
      throw new ComputerError('BAD_ARGUMENT', `malformed key combo ${JSON.stringify(combo)}`);
    }
  }
  return combos;
}

export function keyArgs(combos: readonly string[], command: 'key' | 'keydown' | 'keyup' = 'key'): string[] {
  return [command, '--', ...combos];
}

/** xdotool reports unknown key names on stderr but exits 0. */
export function unknownKeyNames(stderr: string): string[] {
  return [...stderr.matchAll(/No such key name '([^']*)'/g)].map((m) => m[1] ?? '');
}

export function checkHoldMs(ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_HOLD_MS) {
    throw new ComputerError('BAD_ARGUMENT', `hold time must be 0..${MAX_HOLD_MS} ms, got ${String(ms)}`);
  }
}
