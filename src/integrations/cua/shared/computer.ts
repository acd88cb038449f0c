/**
 * The Computer contract: one controllable screen (a local Xvfb display or a remote cua sandbox).
 *
 * Implementations: `xvfb/` (a sandboxed local X display, input through XTEST) and `remote/` (a client of trycua's
 * computer-server WebSocket protocol). The pool, the toolset, the agent loop and our own
 * `computer-server` all speak only this interface.
 *
 * Conventions:
 * - Coordinates are integer pixels, origin top-left, within `screenSize()`; implementations reject
 *   out-of-range coordinates with a ComputerError of code `BAD_COORDINATES`.
 * - `key()` takes xdotool-style key combos ("Return", "ctrl+c", "ctrl+alt+t"), space-separated for
 *   a sequence ("ctrl+a Delete") — the vocabulary of Anthropic's computer_20250124 `key` action.
 * - `screenshot()` resolves to PNG bytes.
 * - Every method rejects with a ComputerError (never hangs past `timeoutMs` of the implementation).
 */
import { CodedError } from '../../../shared/errors.js';

export type MouseButton = 'left' | 'right' | 'middle';

export interface Point {
  x: number;
  y: number;
}

export interface ScreenSize {
  width: number;
  height: number;
}

export type ComputerErrorCode =
  | 'BAD_COORDINATES'
  | 'BAD_ARGUMENT'
  | 'COMPUTER_DEAD'
  | 'TIMEOUT'
  | 'BACKEND_ERROR'
  | 'AUTH_FAILED'
  | 'NOT_SUPPORTED';

/** The runtime's one error type, with a computer's codes (retryable: only a TIMEOUT may pass). */
export class ComputerError extends CodedError<ComputerErrorCode> {
  constructor(code: ComputerErrorCode, message: string) {
    super(code, message, { retryable: code === 'TIMEOUT' });
    this.name = 'ComputerError';
  }
}

export interface Computer {
  /** A stable id for logs and metrics (e.g. "xvfb:99" or "cua:ws://host:8000/ws"). */
  readonly id: string;
  readonly backend: 'xvfb' | 'cua';

  screenshot(): Promise<Uint8Array>;
  screenSize(): Promise<ScreenSize>;
  cursorPosition(): Promise<Point>;

  move(x: number, y: number): Promise<void>;
  click(x: number, y: number, button?: MouseButton): Promise<void>;
  doubleClick(x: number, y: number): Promise<void>;
  tripleClick(x: number, y: number): Promise<void>;
  mouseDown(button?: MouseButton): Promise<void>;
  mouseUp(button?: MouseButton): Promise<void>;
  /** Presses the button at path[0], moves through every point, releases at the last one. */
  drag(path: Point[], button?: MouseButton): Promise<void>;
  /** Scrolls by dx/dy wheel clicks at (x, y); positive dy scrolls down, positive dx right. */
  scroll(x: number, y: number, dx: number, dy: number): Promise<void>;

  /** Types literal text (newlines press Return). */
  type(text: string): Promise<void>;
  /** Presses a key combo or a space-separated sequence of combos. */
  key(keys: string): Promise<void>;
  /** Holds a key combo down for `ms` milliseconds. */
  holdKey(keys: string, ms: number): Promise<void>;

  /** Cheap liveness probe; rejects with COMPUTER_DEAD when the computer is gone. */
  health(): Promise<void>;
  /** Returns the computer to a clean desktop (no client windows, cursor centred). */
  reset(): Promise<void>;
  /** Releases everything it holds (processes, sockets). Idempotent. */
  close(): Promise<void>;
}
