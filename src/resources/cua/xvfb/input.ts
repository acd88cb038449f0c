/**
 * The Computer input vocabulary translated into xdotool argument arrays (run without a shell;
 * literal text always follows `--`), after the checks every backend shares (../validate.ts).
 * xdotool's command chaining does several steps in one process: `mousemove X Y click 1`.
 */
import { ComputerError, type MouseButton, type Point, type ScreenSize } from '../computer.js';
import { checkButton, checkClicks, checkPath } from '../validate.js';

/** X button numbers: 1 left, 2 middle, 3 right; wheel 4 up, 5 down, 6 left, 7 right. */
export function buttonNumber(button: MouseButton | undefined): string {
  return { left: '1', middle: '2', right: '3' }[checkButton(button)];
}

export function moveArgs(x: number, y: number): string[] {
  return ['mousemove', String(x), String(y)];
}

export function clickArgs(x: number, y: number, button: MouseButton | undefined, count = 1): string[] {
  const b = buttonNumber(button);
  // xdotool waits --delay ms after every click (default 100); 60 ms apart still reads as a multi-click.
  const repeat = count > 1 ? ['--repeat', String(count), '--delay', '60'] : ['--delay', '0'];
  return [...moveArgs(x, y), 'click', ...repeat, b];
}

export function dragArgs(points: readonly Point[], button: MouseButton | undefined, size: ScreenSize): string[] {
  const path = checkPath(points, size);
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
  checkClicks('dx', dx);
  checkClicks('dy', dy);
  const args = moveArgs(x, y);
  const wheel = (clicks: number, button: number) => {
    if (clicks !== 0) args.push('click', '--repeat', String(Math.abs(clicks)), '--delay', '10', String(button));
  };
  wheel(dy, dy > 0 ? 5 : 4);
  wheel(dx, dx > 0 ? 7 : 6);
  return args;
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
