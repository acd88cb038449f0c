/**
 * The local Xvfb backend of the Computer contract: every computer is a sandbox, not the host.
 *
 * Each computer owns (desk.ts):
 * - a display sandbox running only Xvfb (24-bit colour, default 1024x768), with no network, a
 *   cookie required of every client, and its socket in a host directory nothing else binds;
 * - a desktop sandbox where every desktop program runs (the ctrl+alt+t terminal and all it
 *   starts) as an unprivileged user without capabilities, in its own user, mount, PID, IPC, UTS,
 *   cgroup and (unless network "host") network namespaces, with a private home and /tmp, the
 *   system directories read-only and nothing else of the host;
 * - caps on processes and memory (a cgroup), when the host allows;
 * - one X connection of our own (with the cookie) that injects input through XTEST, grabs
 *   ctrl+alt+t (→ a new terminal), gives focus to new and clicked windows, takes screenshots
 *   (GetImage → PNG with node:zlib) and answers cursorPosition()/health() — no helper process
 *   per action.
 * reset() ends both sandboxes and starts fresh ones.
 *
 * Requires the Debian packages installed by scripts/install-system-deps.sh (bubblewrap, xvfb,
 * xterm; slirp4netns for network "outbound").
 */
import { XvfbComputer, type XvfbComputerOptions } from './computer.js';

export { XvfbComputer, type SandboxOptions, type XvfbComputerOptions } from './computer.js';
export type { TerminalCommand } from './desk.js';
export type { SandboxNetwork } from './sandbox.js';

/** Starts a new local computer; rejects with a ComputerError if its sandboxes or Xvfb cannot start. */
export function createXvfbComputer(options: XvfbComputerOptions = {}): Promise<XvfbComputer> {
  return XvfbComputer.create(options);
}
