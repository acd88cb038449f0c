/**
 * Test support shared by the computer tests: PNG checks, polling, expected rejections, what is
 * on an X display, and the Xvfb processes a server started (from /proc).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ComputerError } from '../../src/resources/cua/computer.js';

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

/** Polls `probe` until it yields something (not undefined/false), or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The ComputerError a promise rejects with (fails the test if it resolves or throws something else). */
export async function rejection(p: Promise<unknown>): Promise<ComputerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ComputerError);
  return err as ComputerError;
}

/** The top-level windows on display :n (xwininfo's lines for them). */
export function topLevelWindows(display: number): string[] {
  const out = execFileSync('xwininfo', ['-root', '-children'], { env: { ...process.env, DISPLAY: `:${display}` }, encoding: 'utf8' });
  return out.split('\n').filter((line) => /^\s+0x[0-9a-f]+ /.test(line));
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

/** Xvfb processes whose parent is `parent` (zombies included). */
export const xvfbOf = (parent: number): ProcInfo[] => procs().filter((p) => p.comm === 'Xvfb' && p.ppid === parent);
