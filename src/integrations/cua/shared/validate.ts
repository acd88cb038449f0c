/**
 * Argument checks and limits of the Computer vocabulary, one set for every backend: the local Xvfb
 * computer checks before it injects any input, the remote client before anything is sent.
 */
import { ComputerError, type MouseButton, type Point, type ScreenSize } from './computer.js';

export const MAX_PATH_POINTS = 10_000;
export const MAX_SCROLL_CLICKS = 200;
export const MAX_TEXT_LENGTH = 100_000;
export const MAX_HOLD_MS = 60_000;

export function checkButton(button: unknown): MouseButton {
  const b = button ?? 'left';
  if (b === 'left' || b === 'right' || b === 'middle') return b;
  throw new ComputerError('BAD_ARGUMENT', `unknown mouse button ${JSON.stringify(button)} (left, right or middle)`);
}

export function checkPoint(x: unknown, y: unknown, size: ScreenSize): void {
  const ok = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < max;
  if (!ok(x, size.width) || !ok(y, size.height)) {
    throw new ComputerError(
      'BAD_COORDINATES',
      `(${String(x)}, ${String(y)}) is not an integer point on the ${size.width}x${size.height} screen (0..${size.width - 1}, 0..${size.height - 1})`,
    );
  }
}

export function checkPath(path: unknown, size: ScreenSize): Point[] {
  if (!Array.isArray(path) || path.length === 0) throw new ComputerError('BAD_ARGUMENT', 'drag needs a path of at least one point');
  if (path.length > MAX_PATH_POINTS) throw new ComputerError('BAD_ARGUMENT', `drag path too long (${path.length} > ${MAX_PATH_POINTS} points)`);
  return path.map((p: unknown) => {
    if (typeof p !== 'object' || p === null) throw new ComputerError('BAD_COORDINATES', 'drag path holds a non-point');
    const { x, y } = p as { x: unknown; y: unknown };
    checkPoint(x, y, size);
    return { x: x as number, y: y as number };
  });
}

export function checkClicks(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > MAX_SCROLL_CLICKS) {
    throw new ComputerError('BAD_ARGUMENT', `${name} must be an integer number of wheel clicks within ±${MAX_SCROLL_CLICKS}, got ${String(v)}`);
  }
  return v;
}

export function checkText(text: unknown): string {
  if (typeof text !== 'string') throw new ComputerError('BAD_ARGUMENT', 'text must be a string');
  if (text.length > MAX_TEXT_LENGTH) throw new ComputerError('BAD_ARGUMENT', `text too long (${text.length} > ${MAX_TEXT_LENGTH})`);
  if (text.includes('\0')) throw new ComputerError('BAD_ARGUMENT', 'text must not contain NUL characters');
  return text.replace(/\r\n?/g, '\n');
}

export function checkHoldMs(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_HOLD_MS) {
    throw new ComputerError('BAD_ARGUMENT', `hold time must be 0..${MAX_HOLD_MS} ms, got ${String(ms)}`);
  }
  return ms;
}

export function checkScreenSize(value: unknown): ScreenSize {
  const s = value as { width?: unknown; height?: unknown } | null;
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65_535;
  if (typeof s !== 'object' || s === null || !ok(s.width) || !ok(s.height)) {
    throw new ComputerError('BACKEND_ERROR', `the server reported a bad screen size: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return { width: s.width as number, height: s.height as number };
}

export function checkPosition(value: unknown): Point {
  const p = value as { x?: unknown; y?: unknown } | null;
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (typeof p !== 'object' || p === null || !ok(p.x) || !ok(p.y)) {
    throw new ComputerError('BACKEND_ERROR', `the server reported a bad cursor position: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return { x: Math.round(p.x as number), y: Math.round(p.y as number) };
}
