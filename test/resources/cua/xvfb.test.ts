/**
 * The local Xvfb computer against real bubblewrap sandboxes, Xvfb and xterm
 * (scripts/install-system-deps.sh). Input goes through our own XTEST client; the tests check what
 * happened with independent X clients run inside the computer (nsenter) and files in its home.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createXvfbComputer, type XvfbComputer } from '../../../src/integrations/cua/host/xvfb/index.js';
import { X11Connection } from '../../../src/integrations/cua/host/xvfb/x11-connection.js';
import { homeFile, inComputer, pngSize, rejection, topLevelWindows, waitFor } from '../../support/cua.js';
import { ROOT } from '../../support/server.js';

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

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
};
/** Present in /proc at all — a zombie counts as present. */
const exists = (pid: number) => existsSync(`/proc/${pid}`);
const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
const ns = (pid: number, kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);

/** Runs a shell command line in the computer's terminal and waits for the file it writes (in its home). */
async function run(c: XvfbComputer, commandLine: string, file: string, timeoutMs = 15_000): Promise<string> {
  await c.type(`${commandLine}; echo END >> ~/${file}\n`);
  const text = await waitFor(`~/${file} on ${c.id}`, () => homeFile(c, file)?.includes('END\n') && homeFile(c, file), timeoutMs);
  return text.replace(/END\n$/, '');
}

describe('XvfbComputer', () => {
  let a: XvfbComputer;
  let b: XvfbComputer;
  let freshShot: Uint8Array;

  beforeAll(async () => {
    process.env.XVFB_TEST_SECRET = 'must-not-leak';
    [a, b] = await Promise.all([createXvfbComputer(), createXvfbComputer()]);
    freshShot = await a.screenshot();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('gives two computers their own sandboxes, where ctrl+alt+t opens a focused terminal that runs typed commands', async () => {
    expect(a.id).toMatch(/^xvfb:[0-9a-f]{8}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.backend).toBe('xvfb');
    expect(ns(a.desktopPid, 'pid')).not.toBe(ns(b.desktopPid, 'pid'));
    expect(ns(a.desktopPid, 'mnt')).not.toBe(ns(b.desktopPid, 'mnt'));

    const runIn = async (c: XvfbComputer, text: string, file: string) => {
      expect(topLevelWindows(c)).toHaveLength(0);
      await c.key('ctrl+alt+t');
      expect(topLevelWindows(c).join('\n')).toMatch(/xterm/);
      // The quotes and the redirection would break under shell interpolation of our arguments.
      await c.type(`echo '${text}' > ~/${file}\n`);
      return waitFor(`${file} on ${c.id}`, () => homeFile(c, file) === `${text}\n`);
    };
    await Promise.all([runIn(a, 'hello from A; $HOME "q"', 'a.txt'), runIn(b, 'greetings from B', 'b.txt')]);
    // Each computer has its own home: neither sees the other's file.
    expect(homeFile(a, 'b.txt')).toBeUndefined();
    expect(homeFile(b, 'a.txt')).toBeUndefined();

    const [shotA, shotB] = await Promise.all([a.screenshot(), b.screenshot()]);
    expect(pngSize(shotA)).toEqual({ width: 1024, height: 768 });
    expect(pngSize(shotB)).toEqual({ width: 1024, height: 768 });
    expect(Buffer.from(shotA).equals(Buffer.from(shotB))).toBe(false);
    // The pixels are right: a black desktop (-br) with a white-background xterm at the top left.
    const fresh = decodePng(freshShot);
    const withTerminal = decodePng(shotA);
    for (const [x, y] of [[0, 0], [400, 300], [1023, 767], [700, 500]] as const) expect(fresh(x, y)).toEqual([0, 0, 0]);
    expect(withTerminal(400, 300)).toEqual([255, 255, 255]);
    expect(withTerminal(700, 500)).toEqual([0, 0, 0]);
  });

  it('types any text exactly (quotes, dollars, backslashes, Latin-1 and other Unicode) and presses key names X and models use', async () => {
    const text = `it's "$HOME" \\ 100% é ß € ✓ → ж 日本 end`;
    // printf %s of a single-quoted argument: the shell passes every character through untouched.
    await b.type(`printf '%s\\n' '${text.replace(/'/g, `'\\''`)}' > ~/typed.txt\n`);
    expect(await waitFor('typed.txt', () => homeFile(b, 'typed.txt'))).toBe(`${text}\n`);
    // Key names: xdotool's ("ctrl+u" clears the line, "BackSpace"), forgiving ones ("enter"), a character ("+").
    await b.type('echo A');
    await b.key('BackSpace plus shift+equal enter');
    await b.type('echo x > ~/keys.txt');
    await b.key('ctrl+a'); // to the start of the line…
    await b.type('#');
    await b.key('ctrl+e'); // …and back: the line is now a comment, it writes nothing
    await b.key('Return');
    await b.type('echo done > ~/keys-done.txt\n');
    await waitFor('keys-done.txt', () => homeFile(b, 'keys-done.txt'));
    expect(homeFile(b, 'keys.txt')).toBeUndefined();
  });

  it('keeps the server out of reach: unprivileged, no capabilities, own namespaces, none of our environment or files', async () => {
    const out = await run(
      a,
      [
        'id -u > ~/probe.txt',
        'env | grep -c XVFB_TEST_SECRET >> ~/probe.txt',
        `ls /proc/${process.pid} >> ~/probe.txt 2>&1`,
        `cat ${join(process.cwd(), 'package.json')} >> ~/probe.txt 2>&1`,
        'ls /root /work >> ~/probe.txt 2>&1',
        'ls /tmp/.X11-unix >> ~/probe.txt',
      ].join('; '),
      'probe.txt',
    );
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('1000');
    expect(lines[1]).toBe('0');
    expect(out).toContain(`ls: cannot access '/proc/${process.pid}': No such file or directory`);
    expect(out).toContain('package.json: No such file or directory');
    expect(out).toContain("ls: cannot access '/root': No such file or directory");
    expect(lines.at(-1)).toBe(`X${a.display.slice(1)}`);
    // From the host side: every process of the computer runs as an unprivileged user without capabilities.
    for (const pid of a.processes()) {
      expect(status(pid, 'Uid')?.split(/\s+/)[0], `uid of ${comm(pid)}`).not.toBe('0');
      expect(status(pid, 'CapEff'), `capabilities of ${comm(pid)}`).toBe('0000000000000000');
      expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain('must-not-leak');
    }
  });

  it("cannot open another computer's display, not even with its display number", async () => {
    const out = await run(a, `xwininfo -root -display ${b.display} > ~/other.txt 2>&1; echo "exit $?" >> ~/other.txt`, 'other.txt');
    expect(out).toMatch(/unable to open display/);
    expect(out).toContain('exit 1');
    // Without the cookie even a root process on the host is refused by a computer's X server.
    await expect(X11Connection.connect({ path: b.socketPath, label: "b's X server" }, 2000)).rejects.toThrow(/refused the connection/);
  });

  it('cascades new windows, focuses and raises a window on click', async () => {
    const xdotool = (...args: string[]) => inComputer(b, 'xdotool', args);
    const [first] = topLevelWindows(b);
    await b.key('ctrl+alt+t');
    const windows = topLevelWindows(b); // topmost first
    expect(windows).toHaveLength(2);
    expect(windows[0]).toMatch(/\+32\+32\s*$/);
    expect(windows[1]).toBe(first);
    const id = (line: string | undefined) => String(Number.parseInt(line?.trim().split(' ')[0] ?? '', 16));
    expect(xdotool('getwindowfocus')).toBe(id(windows[0]));

    // (5, 5) is only covered by the first terminal: clicking there focuses and raises it.
    await b.click(5, 5);
    expect(xdotool('getwindowfocus')).toBe(id(windows[1]));
    expect(topLevelWindows(b)[0]).toBe(first);
    // xterm tells its shell its window id: the typing went to the clicked terminal.
    await b.type('echo $WINDOWID > ~/windowid.txt\n');
    expect(await waitFor('WINDOWID', () => homeFile(b, 'windowid.txt'))).toBe(`${id(windows[1])}\n`);
  });

  it('reset() ends every process of the lease — even one that left its session and cleared its environment — and wipes home and /tmp', async () => {
    // A background job, and an escapee: a new session, an empty environment, a double fork.
    await run(a, 'sleep 600 & env -i setsid sh -c "sleep 700 & echo x > /tmp/left-behind" ; echo started > ~/bg.txt', 'bg.txt');
    const before = a.processes();
    expect(before.map(comm)).toEqual(expect.arrayContaining(['Xvfb', 'xterm', 'sleep']));
    const sleepers = before.filter((pid) => comm(pid) === 'sleep');
    expect(sleepers).toHaveLength(2);
    await a.move(10, 10);
    await a.mouseDown('left'); // a held button must not survive reset either

    const t0 = performance.now();
    await a.reset();
    expect(performance.now() - t0).toBeLessThan(5000);
    for (const pid of before) expect(exists(pid), `${pid} after reset`).toBe(false);
    expect(topLevelWindows(a)).toHaveLength(0);
    expect(await a.cursorPosition()).toEqual({ x: 512, y: 384 });
    expect(Buffer.from(await a.screenshot()).equals(Buffer.from(freshShot))).toBe(true);
    expect(readdirSync(`/proc/${a.desktopPid}/root/home/user`)).toEqual([]);
    expect(readdirSync(`/proc/${a.desktopPid}/root/tmp`)).toEqual(['.X11-unix']);

    // The desktop still works after a reset.
    await a.key('ctrl+alt+t');
    await a.type('echo again > ~/again.txt\n');
    await waitFor('terminal after reset', () => homeFile(a, 'again.txt') === 'again\n');
  });

  it('validates coordinates and arguments, and reports the pointer where it was moved', async () => {
    const c = await createXvfbComputer({ width: 640, height: 480 });
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
        c.click(1, 1, 'thumb' as never), c.key(''), c.key('   '), c.key('ctrl++'), c.drag([]), c.scroll(1, 1, 0, 1.5),
        c.holdKey('shift', -1), c.key('no_such_key_name'),
      ]) {
        expect((await rejection(p)).code).toBe('BAD_ARGUMENT');
      }
      // An unknown name fails the whole sequence before anything is pressed, and names it.
      const err = await rejection(c.key('ctrl+a NoSuchKey shift+NorThis'));
      expect(err.message).toBe('unknown key name(s): NoSuchKey, NorThis');

      await c.doubleClick(320, 240);
      await c.tripleClick(320, 240);
      await c.holdKey('shift', 20);
      await c.key('ctrl+a Escape');
      await c.health();
    } finally {
      await c.close();
    }
  });

  it('reports COMPUTER_DEAD when its X server is killed, and close() still cleans everything up', async () => {
    const c = await createXvfbComputer({ width: 320, height: 240 });
    await c.key('ctrl+alt+t');
    const procs = c.processes();
    expect(procs.map(comm)).toEqual(expect.arrayContaining(['Xvfb', 'xterm']));
    const xvfb = procs.find((pid) => comm(pid) === 'Xvfb')!;

    process.kill(xvfb, 'SIGKILL');
    // Straight away, before anyone awaited the exit: the call must not pass for a hiccup.
    expect((await rejection(c.move(1, 1))).code).toBe('COMPUTER_DEAD');
    expect(await c.exited).toMatch(/X server exited|lost the X connection/);
    expect(c.dead).toBe(true);
    expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.screenshot())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.cursorPosition())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.type('x'))).code).toBe('COMPUTER_DEAD');
    await c.close();
    for (const p of procs) expect(exists(p), `${comm(p)} ${p}`).toBe(false); // neither running nor a zombie
  });

  it('an X server that stops answering fails the health probe (COMPUTER_DEAD), and answers again once resumed', async () => {
    const c = await createXvfbComputer({ width: 320, height: 240, healthTimeoutMs: 300 });
    try {
      const xvfb = c.processes().find((pid) => comm(pid) === 'Xvfb')!;
      process.kill(xvfb, 'SIGSTOP');
      const err = await rejection(c.health());
      expect(err.code).toBe('COMPUTER_DEAD');
      expect(err.message).toMatch(/unresponsive/);
      process.kill(xvfb, 'SIGCONT');
      await waitFor('the X server to answer again', () => c.health().then(() => true, () => false));
      expect(pngSize(await c.screenshot())).toEqual({ width: 320, height: 240 });
    } finally {
      await c.close();
    }
  });

  it('close() ends every process it started, leaves no zombie and no host directory, and is idempotent', async () => {
    const c = await createXvfbComputer();
    await c.key('ctrl+alt+t');
    await c.key('ctrl+alt+t');
    await c.type('sleep 600 &\n');
    await waitFor('sleep in terminal', () => c.processes().map(comm).includes('sleep'));
    const procs = c.processes();
    expect(procs.filter((p) => comm(p) === 'xterm')).toHaveLength(2);
    const dirsBefore = readdirSync(tmpdir()).filter((d) => d.startsWith('mcp-actors-computer-'));

    await Promise.all([c.close(), c.close()]);
    await c.close();
    expect(await c.exited).toBe('closed');
    for (const p of procs) expect(exists(p)).toBe(false);
    const dirsAfter = readdirSync(tmpdir()).filter((d) => d.startsWith('mcp-actors-computer-'));
    expect(dirsAfter.length).toBe(dirsBefore.length - 1);
    expect((await rejection(c.screenshot())).code).toBe('COMPUTER_DEAD');
    expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD');
  });

  it('dies with the process that started it: a SIGKILLed owner leaves no sandbox process behind', async () => {
    const script = `
      const { createXvfbComputer } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'integrations', 'cua', 'host', 'xvfb', 'index.js'))});
      const c = await createXvfbComputer({ width: 320, height: 240 });
      await c.key('ctrl+alt+t');
      console.log(JSON.stringify(c.processes()));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += String(d);
        if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before reporting`)));
    });
    expect(pids.map(comm)).toEqual(expect.arrayContaining(['Xvfb', 'xterm']));
    child.kill('SIGKILL');
    await waitFor('every sandbox process to be gone', () => pids.every((p) => !exists(p)));
  });
});

describe('X11Connection against a hostile X server', () => {
  it('refuses an oversized reply instead of buffering it, and reports the connection closed', async () => {
    const path = join(tmpdir(), `fake-x-${process.pid}.sock`);
    const server = createServer((sock) => {
      sock.once('data', () => {
        // A minimal successful setup: 1 screen of 16x16, then a reply announcing 4 GB of data.
        // (header 8, fixed part 32, one format 8, one screen 40 without depths)
        const setup = Buffer.alloc(88);
        setup[0] = 1;
        setup.writeUInt16LE(11, 2);
        setup.writeUInt16LE((88 - 8) / 4, 6);
        setup[28] = 1; // screens
        setup[29] = 1; // formats
        setup.writeUInt16LE(16, 48 + 20); // width
        setup.writeUInt16LE(16, 48 + 22); // height
        sock.write(setup);
        const reply = Buffer.alloc(32);
        reply[0] = 1;
        reply.writeUInt16LE(1, 2);
        reply.writeUInt32LE(0x3fffffff, 4);
        sock.write(reply);
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const conn = await X11Connection.connect({ path, label: 'the fake' }, 2000);
      await expect(conn.request(Buffer.alloc(4), 2000)).rejects.toThrow(/announced a \d+-byte packet \(limit \d+\)/);
      expect(conn.closed).toBe(true);
    } finally {
      server.close();
    }
  });
});
