/**
 * The local Xvfb computer against real Xvfb, xdotool and xterm (scripts/install-system-deps.sh).
 * No fixed display numbers: every computer lets Xvfb pick one.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputerError } from '../../../src/resources/cua/computer.js';
import { createXvfbComputer, type XvfbComputer } from '../../../src/resources/cua/xvfb/index.js';
import { pngSize, rejection, topLevelWindows, waitFor } from '../../support/cua.js';


/** Decodes our screenshots (8-bit RGB, filters None/Sub) into a pixel reader. */
function decodePng(bytes: Uint8Array): (x: number, y: number) => [number, number, number] {
  const b = Buffer.from(bytes);
  const { width, height } = pngSize(bytes);
  expect([b[24], b[25], b[28]]).toEqual([8, 2, 0]); // bit depth 8, RGB, not interlaced
  const idat: Buffer[] = [];
  for (let off = 8; off < b.length; ) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(b.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = 1 + width * 3;
  expect(raw.length).toBe(height * stride);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride];
    expect([0, 1]).toContain(filter);
    for (let i = 0; i < width * 3; i++) {
      const left = filter === 1 && i >= 3 ? (px[y * width * 3 + i - 3] as number) : 0;
      px[y * width * 3 + i] = ((raw[y * stride + 1 + i] as number) + left) & 0xff;
    }
  }
  return (x, y) => [px[(y * width + x) * 3] as number, px[(y * width + x) * 3 + 1] as number, px[(y * width + x) * 3 + 2] as number];
}

/** Pids whose environment has DISPLAY=:n (zombies have an empty environ and do not show). */
function pidsOnDisplay(display: number): number[] {
  const needle = Buffer.from(`DISPLAY=:${display}\0`);
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`);
      const at = env.indexOf(needle);
      if (at === 0 || (at > 0 && env[at - 1] === 0)) out.push(pid);
    } catch {
      // gone
    }
  }
  return out;
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** Xvfb processes that are children of this test process (pgrep -x Xvfb -P <our pid>). */
function xvfbChildren(): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && comm(pid) === 'Xvfb')
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[1] === String(process.pid);
      } catch {
        return false;
      }
    });
}

/** Present in /proc at all — a zombie counts as present. */
const exists = (pid: number) => existsSync(`/proc/${pid}`);

/** Top-level windows as the X server lists them, via xwininfo (an independent client). */
function listening(socket: string): boolean {
  return readFileSync('/proc/net/unix', 'latin1').split('\n').some((line) => line.endsWith(` ${socket}`));
}

/**
 * Nothing of our server is left on display n: no lock file naming it, and no socket file unless a
 * live server (another test file's, say) has taken the number over and listens on it.
 */
function expectDisplayReleased(display: number, pid: number): void {
  const lock = `/tmp/.X${display}-lock`;
  if (existsSync(lock)) expect(Number(readFileSync(lock, 'latin1').trim())).not.toBe(pid);
  const socket = `/tmp/.X11-unix/X${display}`;
  if (existsSync(socket)) expect(listening(socket)).toBe(true);
}

const dir = mkdtempSync(join(tmpdir(), 'xvfb-test-'));
/**
 * Terminals get a scratch HOME: the shell then skips the machine's ~/.bashrc, which can take seconds
 * (pyenv init takes a lock that parallel shells queue on) and would only be measuring that machine.
 */
const create = (options: Parameters<typeof createXvfbComputer>[0] = {}) => createXvfbComputer({ env: { HOME: dir }, ...options });

describe('XvfbComputer', () => {
  let a: XvfbComputer;
  let b: XvfbComputer;
  let freshShot: Uint8Array;

  beforeAll(async () => {
    process.env.XVFB_TEST_SECRET = 'must-not-leak';
    [a, b] = await Promise.all([create(), create()]);
    freshShot = await a.screenshot();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives two computers their own displays, where ctrl+alt+t opens a focused terminal that runs typed commands', async () => {
    expect(a.display).not.toBe(b.display);
    expect(a.id).toBe(`xvfb:${a.display}`);
    expect(a.id).not.toBe(b.id);
    expect(a.backend).toBe('xvfb');

    const runIn = async (c: XvfbComputer, text: string, file: string) => {
      expect(topLevelWindows(c.display)).toHaveLength(0);
      await c.key('ctrl+alt+t');
      expect(topLevelWindows(c.display).join('\n')).toMatch(/xterm/);
      // The quote and the redirection would break under shell interpolation of our arguments.
      await c.type(`echo '${text}' > ${file}\n`);
      return waitFor(`${file} from :${c.display}`, () => existsSync(file) && readFileSync(file, 'utf8') === `${text}\n`);
    };
    const fileA = join(dir, 'a.txt');
    const fileB = join(dir, 'b.txt');
    await Promise.all([runIn(a, 'hello from A; $HOME', fileA), runIn(b, 'greetings from B', fileB)]);
    expect(readFileSync(fileA, 'utf8')).toBe('hello from A; $HOME\n');
    expect(readFileSync(fileB, 'utf8')).toBe('greetings from B\n');

    const [shotA, shotB] = await Promise.all([a.screenshot(), b.screenshot()]);
    expect(shotA).toBeInstanceOf(Uint8Array);
    expect(pngSize(shotA)).toEqual({ width: 1024, height: 768 });
    expect(pngSize(shotB)).toEqual({ width: 1024, height: 768 });
    expect(Buffer.from(shotA).equals(Buffer.from(shotB))).toBe(false);
    expect(Buffer.from(shotA).equals(Buffer.from(freshShot))).toBe(false);
    // The pixels are right: a black desktop (-br) with a white-background xterm at the top left.
    const fresh = decodePng(freshShot);
    const withTerminal = decodePng(shotA);
    for (const [x, y] of [[0, 0], [400, 300], [1023, 767], [700, 500]] as const) expect(fresh(x, y)).toEqual([0, 0, 0]);
    expect(withTerminal(400, 300)).toEqual([255, 255, 255]);
    expect(withTerminal(700, 500)).toEqual([0, 0, 0]);
  });

  it('cascades new windows, focuses and raises a window on click, and keeps our environment out of the desktop', async () => {
    const xdotool = (...args: string[]) =>
      execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: b.displayName }, encoding: 'utf8' }).trim();
    const [first] = topLevelWindows(b.display);
    await b.key('ctrl+alt+t');
    const windows = topLevelWindows(b.display); // topmost first
    expect(windows).toHaveLength(2);
    expect(windows[0]).toMatch(/\+32\+32\s*$/);
    expect(windows[1]).toBe(first);
    const id = (line: string | undefined) => String(Number.parseInt(line?.trim().split(' ')[0] ?? '', 16));
    expect(xdotool('getwindowfocus')).toBe(id(windows[0]));

    // (5, 5) is only covered by the first terminal: clicking there focuses and raises it.
    await b.click(5, 5);
    expect(xdotool('getwindowfocus')).toBe(id(windows[1]));
    expect(topLevelWindows(b.display)[0]).toBe(first);
    // xterm tells its shell its window id: the typing went to the clicked terminal.
    const file = join(dir, 'windowid.txt');
    await b.type(`echo $WINDOWID $XVFB_TEST_SECRET > ${file}\n`);
    const got = await waitFor('WINDOWID', () => existsSync(file) && readFileSync(file, 'utf8'));
    expect(got).toBe(`${id(windows[1])}\n`);
    const xterms = pidsOnDisplay(b.display).filter((pid) => comm(pid) === 'xterm');
    expect(xterms).toHaveLength(2);
    for (const pid of xterms) expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain('must-not-leak');
  });

  it('reset() kills the terminal and what it started, and restores the fresh desktop', async () => {
    // A background job started from the terminal must die with it.
    const marker = join(dir, 'bg.txt');
    await a.type(`sleep 600 & echo started > ${marker}\n`);
    await waitFor('background job', () => existsSync(marker));
    const before = pidsOnDisplay(a.display);
    expect(before.map(comm)).toEqual(expect.arrayContaining(['xterm', 'sleep']));
    await a.move(10, 10);
    await a.mouseDown('left'); // a held button must not survive reset either

    const t0 = performance.now();
    await a.reset();
    const took = performance.now() - t0;
    expect(took).toBeLessThan(3000);

    expect(topLevelWindows(a.display)).toHaveLength(0);
    expect(await a.cursorPosition()).toEqual({ x: 512, y: 384 });
    const desktopProcs = before.filter((pid) => ['xterm', 'sleep', 'bash', 'sh'].includes(comm(pid) ?? '') && pid !== a.sessionPid);
    // Only the session's own launcher (a child of tini) may remain.
    for (const pid of desktopProcs) {
      if (exists(pid)) expect(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[1]).toBe(String(a.sessionPid));
    }
    expect(pidsOnDisplay(a.display).map(comm)).not.toContain('sleep');
    expect(pidsOnDisplay(a.display).map(comm)).not.toContain('xterm');
    expect(Buffer.from(await a.screenshot()).equals(Buffer.from(freshShot))).toBe(true);

    // The desktop still works after a reset.
    const again = join(dir, 'again.txt');
    await a.key('ctrl+alt+t');
    await a.type(`echo again > ${again}\n`);
    await waitFor('terminal after reset', () => existsSync(again) && readFileSync(again, 'utf8') === 'again\n');
  });

  it('validates coordinates and arguments, and reports the pointer where it was moved', async () => {
    const c = await create({ width: 640, height: 480 });
    try {
      expect(await c.screenSize()).toEqual({ width: 640, height: 480 });
      expect(pngSize(await c.screenshot())).toEqual({ width: 640, height: 480 });

      await c.move(639, 479);
      expect(await c.cursorPosition()).toEqual({ x: 639, y: 479 });
      await c.click(17, 23, 'right');
      expect(await c.cursorPosition()).toEqual({ x: 17, y: 23 });
      await c.drag([{ x: 5, y: 5 }, { x: 50, y: 60 }, { x: 100, y: 200 }]);
      expect(await c.cursorPosition()).toEqual({ x: 100, y: 200 });
      await c.scroll(300, 200, 0, 3);
      expect(await c.cursorPosition()).toEqual({ x: 300, y: 200 });

      for (const p of [
        c.move(640, 0), c.move(0, 480), c.move(-1, 5), c.click(1.5, 2), c.doubleClick(Number.NaN, 1),
        c.tripleClick(0, 10_000), c.scroll(700, 1, 0, 1), c.drag([{ x: 1, y: 1 }, { x: 1, y: 480 }]),
      ]) {
        expect((await rejection(p)).code).toBe('BAD_COORDINATES');
      }
      expect(await c.cursorPosition()).toEqual({ x: 300, y: 200 }); // nothing moved

      for (const p of [
        c.click(1, 1, 'thumb' as never), c.key(''), c.key('   '), c.key('--help'), c.drag([]), c.scroll(1, 1, 0, 1.5),
        c.holdKey('shift', -1), c.key('no_such_key_name'),
      ]) {
        expect((await rejection(p)).code).toBe('BAD_ARGUMENT');
      }

      await c.doubleClick(320, 240);
      await c.tripleClick(320, 240);
      await c.holdKey('shift', 20);
      await c.key('ctrl+a Escape');
      await c.health();
    } finally {
      await c.close();
    }
  });

  it('times out a helper command that hangs (TIMEOUT), kills it, and stays usable', async () => {
    // A stand-in for xdotool that never finishes.
    const hang = join(dir, 'hanging-xdotool');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hang, 0o755);
    const c = await create({ width: 320, height: 240, timeoutMs: 300, xdotoolPath: hang });
    try {
      const t0 = Date.now();
      expect((await rejection(c.click(10, 10))).code).toBe('TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(pidsOnDisplay(c.display).map(comm)).not.toContain('sleep'); // the hung helper was killed
      await c.health();
      expect(pngSize(await c.screenshot())).toEqual({ width: 320, height: 240 });
    } finally {
      await c.close();
    }
  });

  it('reports COMPUTER_DEAD when Xvfb is killed, and close() still cleans everything up', async () => {
    const c = await create({ width: 320, height: 240 });
    const { display, pid, sessionPid } = c;
    await c.key('ctrl+alt+t');
    const procs = pidsOnDisplay(display);
    expect(procs.map(comm)).toContain('xterm');

    process.kill(pid, 'SIGKILL');
    // Straight away, before anyone awaited the exit: the call must not pass for a backend hiccup.
    expect((await rejection(c.move(1, 1))).code).toBe('COMPUTER_DEAD');
    const exit = await c.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(c.dead).toBe(true);
    expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.screenshot())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.cursorPosition())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.type('x'))).code).toBe('COMPUTER_DEAD');

    // The dead server left its socket file. A new server may take the display number over (it
    // replaces the file); close() must then leave the newcomer's socket alone.
    const socket = `/tmp/.X11-unix/X${display}`;
    expect(existsSync(socket)).toBe(true);
    const successor = spawn('Xvfb', [`:${display}`, '-nolisten', 'tcp', '-screen', '0', '64x64x24'], { stdio: 'ignore' });
    const successorExit = new Promise((resolve) => successor.once('exit', resolve));
    try {
      // (If another test file's computer took the number first, ours exits and theirs is listening.)
      await waitFor('a successor on the display', () => listening(socket));
      await c.close();
      expect(existsSync(socket)).toBe(true);
    } finally {
      successor.kill('SIGTERM');
      await successorExit;
    }

    expect(exists(pid)).toBe(false);
    expect(exists(sessionPid)).toBe(false);
    for (const p of procs) expect(exists(p)).toBe(false);
    // The only Xvfb servers this test process still has are the two computers that stay open.
    expect(xvfbChildren().sort()).toEqual([a.pid, b.pid].sort());
    expectDisplayReleased(display, pid);
  });

  it('close() ends every process it started, leaves no zombie or lock behind, and is idempotent', async () => {
    const c = await create();
    const { display, pid, sessionPid } = c;
    await c.key('ctrl+alt+t');
    await c.key('ctrl+alt+t');
    await c.type('sleep 600 &\n');
    await waitFor('sleep in terminal', () => pidsOnDisplay(display).map(comm).includes('sleep'));
    const procs = pidsOnDisplay(display);
    expect(procs.filter((p) => comm(p) === 'xterm')).toHaveLength(2);

    await Promise.all([c.close(), c.close()]);
    await c.close();
    expect((await c.exited).signal ?? (await c.exited).code).toBeDefined();
    expect(exists(pid)).toBe(false);
    expect(exists(sessionPid)).toBe(false);
    for (const p of procs) expect(exists(p)).toBe(false); // neither running nor a zombie
    expectDisplayReleased(display, pid);
    expect((await rejection(c.screenshot())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD');
  });
});
