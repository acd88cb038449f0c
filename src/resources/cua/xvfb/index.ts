/**
 * The local Xvfb backend of the Computer contract.
 *
 * Each computer owns:
 * - an Xvfb server on a display number it picked itself (`-displayfd`), Unix socket only
 *   (`-nolisten tcp`), 24-bit colour, default 1024x768;
 * - a desktop session (`tini -s` + a fixed launcher loop) under which every desktop program runs,
 *   so that orphans are reaped and close()/reset() can find every process by a marker variable;
 * - one X connection of its own that grabs ctrl+alt+t (→ a new xterm), gives focus to new windows
 *   and to clicked windows, takes screenshots (GetImage → PNG with node:zlib) and answers
 *   cursorPosition()/health() without spawning anything.
 * Input goes through xdotool (XTEST), one process per action, argument arrays only.
 *
 * Requires the Debian packages installed by scripts/install-system-deps.sh.
 */
import { XvfbComputer, type XvfbComputerOptions } from './computer.js';

export { XvfbComputer, type XvfbComputerOptions } from './computer.js';
export type { XvfbExit } from './display.js';
export type { TerminalCommand } from './session.js';

/** Starts a new local computer; rejects with a ComputerError if Xvfb or its desktop cannot start. */
export function createXvfbComputer(options: XvfbComputerOptions = {}): Promise<XvfbComputer> {
  return XvfbComputer.create(options);
}
