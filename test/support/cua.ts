/**
 * Test support shared by the computer tests: PNG checks, polling, expected rejections, what is
 * on a computer's X display, files in a computer's home, and the sandboxes and Xvfb processes a
 * server started (from /proc).
 *
 * Computers are sandboxes: their display and home exist only inside their namespaces. The tests
 * look in from the host as root — X clients run inside the desktop sandbox with nsenter (an
 * independent client of the display, with the computer's own cookie), files are read through
 * /proc/<pid>/root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ComputerError } from '../../src/integrations/cua/shared/computer.js';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Checks the bytes are a PNG (signature, IHDR first, IEND last) and returns its size. */
export function pngSize(bytes: Uint8Array | undefined): { width: number; height: number } {
  expect(bytes).toBeDefined();
  const b = Buffer.from(bytes!);
  expect(b.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(b.toString('latin1', 12, 16)).toBe('IHDR');
  expect(b.toString('latin1', b.length - 8, b.length - 4)).toBe('IEND');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Polls a condition (one copy, in ./wait.ts). */
export { waitFor } from './wait.js';

/** The ComputerError a promise rejects with (fails the test if it resolves or throws something else). */
export async function rejection(p: Promise<unknown>): Promise<ComputerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ComputerError);
  return err as ComputerError;
}

/** What the tests need to reach into a computer: its desktop sandbox's PID 1 and DISPLAY there. */
export interface ComputerHandle {
  desktopPid: number;
  display: string;
}

/** Runs a program inside the computer's desktop sandbox, as its user, with its DISPLAY and cookie. */
export function inComputer(c: ComputerHandle, command: string, args: string[]): string {
  return execFileSync(
    'nsenter',
    [
      '--target', String(c.desktopPid), '--user', '--mount', '--net', '--ipc', '--uts', '--pid', '--root', '--wd',
      '--setuid', '1000', '--setgid', '1000',
      '/usr/bin/env', '-i', 'PATH=/usr/bin:/bin', `DISPLAY=${c.display}`, 'XAUTHORITY=/run/computer/xauthority', command, ...args,
    ],
    { encoding: 'utf8' },
  ).trim();
}

/** The top-level windows on the computer's display (xwininfo's lines for them, topmost first). */
export function topLevelWindows(c: ComputerHandle): string[] {
  return inComputer(c, 'xwininfo', ['-root', '-children']).split('\n').filter((line) => /^\s+0x[0-9a-f]+ /.test(line));
}

/** A file in the computer's home (undefined while it does not exist). */
export function homeFile(c: Pick<ComputerHandle, 'desktopPid'>, name: string): string | undefined {
  const path = `/proc/${c.desktopPid}/root/home/user/${name}`;
  try {
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

export function procs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      out.push({ pid, ppid: Number(ppid), state: state!, comm });
    } catch {
      // gone
    }
  }
  return out;
}

/** Every process below `root` in the process tree (not `root` itself). */
export function descendants(root: number, all: ProcInfo[] = procs()): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** Xvfb processes started (through their sandboxes) by process `root` (zombies included). */
export const xvfbOf = (root: number): ProcInfo[] => descendants(root).filter((p) => p.comm === 'Xvfb');

function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
    }
  } catch {
    // gone
  }
  return env;
}

export interface ComputerProcesses extends ComputerHandle {
  /** The computer's id (what the tools report as `computer`). */
  id: string;
  xvfbPid: number;
}

/**
 * The live computers process `root` runs: for each, its X server and its desktop sandbox, told
 * apart by the MCP_ACTORS_COMPUTER variable both sandboxes carry.
 */
export function computersOf(root: number): ComputerProcesses[] {
  const all = procs();
  const below = descendants(root, all);
  const byId = new Map<string, Partial<ComputerProcesses>>();
  for (const p of below) {
    if (p.state === 'Z') continue;
    const env = environOf(p.pid);
    const id = env.get('MCP_ACTORS_COMPUTER');
    if (!id) continue;
    const entry = byId.get(id) ?? { id };
    if (p.comm === 'Xvfb') entry.xvfbPid = p.pid;
    // The desktop's launcher: its parent is the desktop sandbox's PID 1 (tini).
    if (p.comm === 'sh' && env.has('DISPLAY') && readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').includes('mcp-actors-launcher')) {
      entry.desktopPid = p.ppid;
      entry.display = env.get('DISPLAY');
    }
    byId.set(id, entry);
  }
  return [...byId.values()].filter((c): c is ComputerProcesses => c.xvfbPid !== undefined && c.desktopPid !== undefined);
}

/** The live computer with this id among those process `root` runs. */
export function computerOf(root: number, id: string): ComputerProcesses {
  const found = computersOf(root).find((c) => c.id === id);
  if (!found) throw new Error(`no live computer ${id} under pid ${root}`);
  return found;
}
