/**
 * The cua remote backend against our own computer-server on loopback, with real Xvfb computers
 * behind it (scripts/install-system-deps.sh), a real WebSocket in between, and tiny raw `ws`
 * servers where a misbehaving peer is needed. No fixed ports or displays.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputerError } from '../../../src/integrations/cua/shared/computer.js';
import { computerServerCommand } from '../../../src/integrations/cua/host/remote/cli.js';
import { connectCuaComputer, type CuaRemoteComputer } from '../../../src/integrations/cua/host/remote/client.js';
import { startComputerServer, type ComputerServer } from '../../../src/integrations/cua/host/remote/server.js';
import { xdotoolKeysToCua, cuaKeyToXdotool } from '../../../src/integrations/cua/host/remote/protocol.js';
import { createXvfbComputer, type XvfbComputer } from '../../../src/integrations/cua/host/xvfb/index.js';
import { homeFile, pngSize, rejection, topLevelWindows, waitFor, xvfbOf } from '../../support/cua.js';


/** Xvfb processes this test process started (through their sandboxes). */
const xvfbChildren = (): number[] => xvfbOf(process.pid).map((p) => p.pid);

/** A screenshot once the screen has stopped changing. */
async function settled(c: { screenshot(): Promise<Uint8Array> }): Promise<Uint8Array> {
  let prev = Buffer.from(await c.screenshot());
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100)); // deliberate: "settled" means unchanged over 100 ms
    const next = Buffer.from(await c.screenshot());
    if (next.equals(prev)) return next;
    prev = next;
  }
  throw new Error('the screen never settled');
}

/** A raw WebSocket client that sends frames and collects replies. */
async function rawClient(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  const replies: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    replies.push(JSON.parse(String(d)) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await once(ws, 'open');
  return {
    ws,
    replies,
    closed,
    send: (frame: unknown) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    async until(n: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (replies.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${replies.length} of ${n} replies`);
        await new Promise<void>((r) => {
          waiters.push(r); // woken by the next reply…
          setTimeout(r, 100); // …or after 100 ms, to check the deadline
        });
      }
      return replies;
    },
  };
}

/** A tiny computer-server stand-in that answers the handshake, then whatever `answer` says. */
async function fakeServer(
  answer: (frame: { command: string; params?: Record<string, unknown> }, ws: WebSocket, connection: number) => void,
  options: { autoPong?: boolean } = {},
) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await once(wss, 'listening');
  const frames: { command: string; params?: Record<string, unknown>; connection: number }[] = [];
  let connections = 0;
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    const n = ++connections;
    sockets.push(ws);
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as { command: string; params?: Record<string, unknown> };
      frames.push({ ...f, connection: n });
      if (f.command === 'version') ws.send(JSON.stringify({ success: true, protocol: 1, package: '0.3.42' }));
      else if (f.command === 'get_screen_size') ws.send(JSON.stringify({ success: true, size: { width: 100, height: 80 } }));
      else answer(f, ws, n);
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    frames,
    sockets,
    get connections() {
      return connections;
    },
    close() {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

const made: XvfbComputer[] = [];
const xvfbFactory = (options: Parameters<typeof createXvfbComputer>[0] = {}) => async () => {
  const c = await createXvfbComputer(options);
  made.push(c);
  return c;
};

describe('cua remote computer through our computer-server', () => {
  let server: ComputerServer;
  let a: CuaRemoteComputer;
  let b: CuaRemoteComputer;
  let xa: XvfbComputer;
  let xb: XvfbComputer;

  beforeAll(async () => {
    server = await startComputerServer({ computers: xvfbFactory() });
    a = await connectCuaComputer({ url: server.url });
    xa = made.at(-1) as XvfbComputer;
    b = await connectCuaComputer({ url: server.url });
    xb = made.at(-1) as XvfbComputer;
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await server?.close();
    for (const c of made) await c.close();
  });

  it('drives a computer: size, pointer, ctrl+alt+t terminal that runs typed commands, PNG screenshots', async () => {
    expect(a.backend).toBe('cua');
    expect(a.id).toBe(server.url.replace(/^/, 'cua:'));
    expect(a.server).toMatchObject({ protocol: 1, perConnection: true });
    expect(await a.screenSize()).toEqual({ width: 1024, height: 768 });

    await a.move(100, 200);
    expect(await a.cursorPosition()).toEqual({ x: 100, y: 200 });
    expect(await xa.cursorPosition()).toEqual({ x: 100, y: 200 }); // the server-side computer moved
    await a.click(17, 23, 'right');
    expect(await a.cursorPosition()).toEqual({ x: 17, y: 23 });
    await a.drag([{ x: 5, y: 5 }, { x: 50, y: 60 }, { x: 100, y: 200 }]);
    expect(await a.cursorPosition()).toEqual({ x: 100, y: 200 });
    await a.scroll(300, 200, 0, 3);
    expect(await a.cursorPosition()).toEqual({ x: 300, y: 200 });

    expect(topLevelWindows(xa)).toHaveLength(0);
    await a.key('ctrl+alt+t');
    expect(topLevelWindows(xa).join('\n')).toMatch(/xterm/);
    await a.type(`echo 'remote; $HOME' > ~/a.txt`);
    await a.key('Return');
    await waitFor('a.txt', () => homeFile(xa, 'a.txt') === 'remote; $HOME\n');

    // The wheel goes the right way: at the bottom of xterm's scrollback, down changes nothing, up does.
    await a.type('seq 300\n');
    const bottom = await settled(a);
    await a.scroll(100, 100, 0, 5);
    expect(Buffer.from(await settled(a)).equals(Buffer.from(bottom))).toBe(true);
    await a.scroll(100, 100, 0, -5);
    expect(Buffer.from(await settled(a)).equals(Buffer.from(bottom))).toBe(false);
    await a.scroll(100, 100, 0, 5);
    expect(Buffer.from(await settled(a)).equals(Buffer.from(bottom))).toBe(true);

    const shot = await a.screenshot();
    expect(shot).toBeInstanceOf(Uint8Array);
    expect(pngSize(shot)).toEqual({ width: 1024, height: 768 });
    // The same bytes as the computer itself produces (once the terminal has finished drawing).
    const same = await waitFor('the same screenshot both ways', async () => Buffer.from(await a.screenshot()).equals(Buffer.from(await xa.screenshot())), 10_000).catch(() => false);
    expect(same).toBe(true);

    // Timings on this machine (reported, loosely bounded).
    let t0 = performance.now();
    for (let i = 0; i < 50; i++) await a.cursorPosition();
    const roundTrip = (performance.now() - t0) / 50;
    t0 = performance.now();
    for (let i = 0; i < 5; i++) await a.screenshot();
    const screenshotMs = (performance.now() - t0) / 5;
    console.log(`cua remote timings: command round trip ${roundTrip.toFixed(2)} ms, 1024x768 screenshot ${screenshotMs.toFixed(1)} ms (${shot.length} bytes)`);
    expect(roundTrip).toBeLessThan(50);
    expect(screenshotMs).toBeLessThan(1000);
  });

  it('validates coordinates and arguments before anything is sent', async () => {
    await a.move(300, 200);
    for (const p of [
      a.move(1024, 0), a.move(0, 768), a.move(-1, 5), a.click(1.5, 2), a.doubleClick(Number.NaN, 1),
      a.tripleClick(0, 10_000), a.scroll(2000, 1, 0, 1), a.drag([{ x: 1, y: 1 }, { x: 1, y: 768 }]),
    ]) {
      expect((await rejection(p)).code).toBe('BAD_COORDINATES');
    }
    expect(await a.cursorPosition()).toEqual({ x: 300, y: 200 }); // nothing moved
    for (const p of [
      a.click(1, 1, 'thumb' as never), a.key(''), a.key('ctrl+'), a.key('no_such_key_name'), a.drag([]),
      a.scroll(1, 1, 0, 1.5), a.holdKey('shift', -1), a.type('a\0b'),
    ]) {
      expect((await rejection(p)).code).toBe('BAD_ARGUMENT');
    }
    // And the computer still works.
    await a.holdKey('shift', 20);
    await a.doubleClick(320, 240);
    await a.tripleClick(320, 240);
    await a.health();
  });

  it('gives two connections two different computers', async () => {
    expect(xa.id).not.toBe(xb.id);
    expect(a.id).toBe(b.id); // same endpoint, different computers behind it
    expect(topLevelWindows(xb)).toHaveLength(0);
    const fresh = await b.screenshot();
    // b draws something else: two terminals, the second one cascaded.
    await b.key('ctrl+alt+t');
    await b.key('ctrl+alt+t');
    expect(topLevelWindows(xb)).toHaveLength(2);
    expect(topLevelWindows(xa)).toHaveLength(1);
    await b.type('echo from-b > ~/b.txt\n');
    await waitFor('b.txt', () => homeFile(xb, 'b.txt') === 'from-b\n');
    const [shotA, shotB] = await Promise.all([a.screenshot(), b.screenshot()]);
    expect(Buffer.from(shotA).equals(Buffer.from(shotB))).toBe(false);
    expect(Buffer.from(shotB).equals(Buffer.from(fresh))).toBe(false);
  });

  it('reset() resets the server-side computer (our extension)', async () => {
    expect(topLevelWindows(xb).length).toBeGreaterThan(0);
    await b.mouseDown('left');
    await b.reset();
    expect(topLevelWindows(xb)).toHaveLength(0);
    expect(await b.cursorPosition()).toEqual({ x: 512, y: 384 });
    await b.health();
  });

  it('answers the exact frames cua clients send, one reply each, in order; /status and /cmd', async () => {
    const small = await startComputerServer({ computers: xvfbFactory({ width: 320, height: 240 }), maxComputers: 1 });
    try {
      const c = await rawClient(small.url);
      const frames: unknown[] = [
        { command: 'version', params: {} },
        { command: 'get_screen_size', params: {} },
        { command: 'move_cursor', params: { x: 10, y: 20 } },
        { command: 'get_cursor_position', params: {} },
        { command: 'left_click', params: { x: null, y: null } }, // the Python client's click "here"
        { command: 'mouse_down', params: { x: null, y: null, button: 'left' } },
        { command: 'mouse_up', params: { x: 30, y: 40, button: 'left' } },
        { command: 'screenshot', params: {} },
        { command: 'scroll', params: { x: 0, y: -2 } },
        { command: 'press_key', params: { key: 'enter' } },
        { command: 'hotkey', params: { keys: ['ctrl', 'a'] } },
        { command: 'press_key', params: { key: 'no_such_key' } },
        { command: 'bogus', params: {} },
        'not json',
        { command: 'move_cursor', params: { x: 9999, y: 0 } },
        { command: 'move_cursor', params: { y: 0 } },
        { command: 'key_down', params: { key: 'shift' } },
        { command: 'click', params: { x: 5, y: 6, ignored: true } },
        { command: 'get_cursor_position' },
        { command: 'screenshot', params: { format: 'jpeg' } },
      ];
      for (const f of frames) c.send(f); // all at once: the server must keep them in order
      const r = await c.until(frames.length);
      expect(r).toHaveLength(frames.length);
      expect(r[0]).toMatchObject({ success: true, protocol: 1, computers: 'per-connection' });
      expect(typeof r[0]?.package).toBe('string');
      expect(r[1]).toEqual({ success: true, size: { width: 320, height: 240 } });
      expect(r[2]).toEqual({ success: true });
      expect(r[3]).toEqual({ success: true, position: { x: 10, y: 20 } });
      expect(r[4]).toEqual({ success: true });
      expect(r[5]).toEqual({ success: true });
      expect(r[6]).toEqual({ success: true });
      // What cua's clients read from a screenshot: image_data (base64 PNG), and format.
      expect(r[7]).toMatchObject({ success: true, format: 'png' });
      expect(Object.keys(r[7] as object).sort()).toEqual(['format', 'image_data', 'success']);
      expect(pngSize(Buffer.from(r[7]?.image_data as string, 'base64'))).toEqual({ width: 320, height: 240 });
      expect(r[8]).toEqual({ success: true });
      expect(r[9]).toEqual({ success: true });
      expect(r[10]).toEqual({ success: true });
      expect(r[11]).toMatchObject({ success: false, code: 'BAD_ARGUMENT' });
      expect(typeof r[11]?.error).toBe('string');
      expect(r[12]).toMatchObject({ success: false, code: 'NOT_SUPPORTED' });
      expect(r[12]?.error).toMatch(/^Unknown command: bogus/);
      expect(r[13]).toMatchObject({ success: false });
      expect(r[13]?.error).toMatch(/^Invalid JSON/);
      expect(r[14]).toMatchObject({ success: false, code: 'BAD_COORDINATES' });
      expect(r[15]).toMatchObject({ success: false, code: 'BAD_ARGUMENT' });
      expect(r[15]?.error).toMatch(/'x'/);
      expect(r[16]).toMatchObject({ success: false, code: 'NOT_SUPPORTED' });
      expect(r[17]).toEqual({ success: true });
      expect(r[18]).toEqual({ success: true, position: { x: 5, y: 6 } });
      expect(r[19]).toMatchObject({ success: false, code: 'NOT_SUPPORTED' });

      // HTTP: the health endpoint, and /cmd answers `version` the way the Python client reads it.
      const status = await fetch(`${small.httpUrl}/status`);
      expect(await status.json()).toEqual({ status: 'ok', os_type: 'linux', features: [] });
      const v = await (await fetch(`${small.httpUrl}/cmd`, { method: 'POST', body: JSON.stringify({ command: 'version', params: {} }) })).text();
      expect(v.startsWith('data: ')).toBe(true);
      expect(JSON.parse(v.slice(6))).toMatchObject({ success: true, protocol: 1 });
      // Other commands are refused on /cmd with a body that is not a `data:` line: the client falls back to /ws.
      const other = await fetch(`${small.httpUrl}/cmd`, { method: 'POST', body: JSON.stringify({ command: 'get_screen_size' }) });
      expect(other.status).toBe(400);
      expect((await other.text()).startsWith('data: ')).toBe(false);

      // maxComputers = 1: a second connection is refused at the upgrade while the first one lives.
      const refused = await rejection(connectCuaComputer({ url: small.url }));
      expect(refused.code).toBe('BACKEND_ERROR');
      expect(refused.message).toMatch(/503/);
      // A web page (Origin header) may not connect at all.
      const fromPage = new WebSocket(small.url, { origin: 'http://evil.example' });
      fromPage.on('error', () => {});
      const [req, res] = (await once(fromPage, 'unexpected-response')) as [{ destroy(): void }, { statusCode: number }];
      expect(res.statusCode).toBe(403);
      req.destroy();

      c.ws.close();
      await c.closed;
      await waitFor('the connection slot to free up', () => small.connections === 0);
      const again = await connectCuaComputer({ url: small.url });
      expect(await again.screenSize()).toEqual({ width: 320, height: 240 });
      await again.close();
    } finally {
      await small.close();
    }
  });

  it('requires the auth frame when an apiKey is set, and keeps serving authenticated clients', async () => {
    const apiKey = 'test-key-0123456789abcdef';
    const before = made.length;
    const guarded = await startComputerServer({ computers: xvfbFactory({ width: 320, height: 240 }), apiKey });
    try {
      expect((await rejection(connectCuaComputer({ url: guarded.url }))).code).toBe('AUTH_FAILED');
      const wrong = await rejection(connectCuaComputer({ url: guarded.url, apiKey: 'wrong-key-secret-value', containerName: 'box' }));
      expect(wrong.code).toBe('AUTH_FAILED');
      expect(wrong.message).not.toContain('wrong-key-secret-value');

      // The exact handshake frames.
      const raw = await rawClient(guarded.url);
      raw.send({ command: 'get_screen_size', params: {} });
      expect((await raw.until(1))[0]).toMatchObject({ success: false, error: 'First message must be authentication' });
      expect((await raw.closed).code).toBe(1008);
      const raw2 = await rawClient(guarded.url);
      raw2.send({ command: 'authenticate', params: { api_key: apiKey, container_name: 'anything' } });
      raw2.send({ command: 'get_screen_size', params: {} });
      const r2 = await raw2.until(2);
      expect(r2[0]).toEqual({ success: true, message: 'Authentication successful' });
      expect(r2[1]).toEqual({ success: true, size: { width: 320, height: 240 } });
      raw2.ws.close();
      await raw2.closed;

      const ok = await connectCuaComputer({ url: guarded.url, apiKey, containerName: 'box' });
      expect(await ok.screenSize()).toEqual({ width: 320, height: 240 });
      await ok.move(3, 4);
      expect(await ok.cursorPosition()).toEqual({ x: 3, y: 4 });
      // Unauthenticated connections never got a computer: one for raw2, one for `ok`.
      expect(made.length - before).toBe(2);
      const mine = made.at(-1) as XvfbComputer;
      const itsProcesses = mine.processes();
      expect(itsProcesses.length).toBeGreaterThan(0);
      await ok.close();
      expect(await mine.exited).toBe('closed'); // closing the client closed its computer
      for (const pid of itsProcesses) expect(existsSync(`/proc/${pid}`)).toBe(false);
      await waitFor('connections to drain', () => guarded.connections === 0);
      expect((await rejection(ok.move(1, 1))).code).toBe('COMPUTER_DEAD');
    } finally {
      await guarded.close();
    }
    await expect(startComputerServer({ host: '0.0.0.0', computers: xvfbFactory() })).rejects.toThrow(/without an apiKey/);
  });

  it('reports COMPUTER_DEAD when the server-side Xvfb dies, and resolves exited', async () => {
    const small = await startComputerServer({ computers: xvfbFactory({ width: 320, height: 240 }) });
    try {
      const c = await connectCuaComputer({ url: small.url });
      const x = made.at(-1) as XvfbComputer;
      await c.move(1, 1);
      process.kill(xvfbOf(process.pid).find((p) => x.processes().includes(p.pid))!.pid, 'SIGKILL');
      expect((await rejection(c.move(2, 2))).code).toBe('COMPUTER_DEAD');
      const exit = await c.exited;
      expect(exit.code).toBe(1011);
      expect(c.dead).toBe(true);
      expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD');
      expect((await rejection(c.screenshot())).code).toBe('COMPUTER_DEAD');
      await c.close();
      await waitFor('the dead computer to be released', () => small.connections === 0);
    } finally {
      await small.close();
    }
  });

  it('times out a command the server never answers, never sends queued ones late, and drops the late reply', async () => {
    let silent = true;
    const fake = await fakeServer((f, ws) => {
      if (f.command === 'get_cursor_position' && !silent) ws.send(JSON.stringify({ success: true, position: { x: 7, y: 8 } }));
    });
    try {
      const c = await connectCuaComputer({ url: fake.url, timeoutMs: 300, healthTimeoutMs: 200 });
      let t0 = Date.now();
      expect((await rejection(c.cursorPosition())).code).toBe('TIMEOUT');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(Date.now() - t0).toBeLessThan(2000);
      // The slot is still taken by the unanswered command: this one times out without being sent.
      t0 = Date.now();
      const notSent = await rejection(c.move(1, 1));
      expect(notSent.code).toBe('TIMEOUT');
      expect(notSent.message).toMatch(/not sent/);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((await rejection(c.health())).code).toBe('COMPUTER_DEAD'); // unresponsive
      expect(fake.frames.map((f) => f.command)).toEqual(['version', 'get_screen_size', 'get_cursor_position']);
      // The late reply arrives: it is dropped, and the next command gets its own reply.
      silent = false;
      fake.sockets[0]?.send(JSON.stringify({ success: true, position: { x: 99, y: 99 } }));
      expect(await c.cursorPosition()).toEqual({ x: 7, y: 8 });
      expect(c.dead).toBe(false);
      await c.close();
      expect((await c.exited).code).toBe(1000);
      expect((await rejection(c.cursorPosition())).code).toBe('COMPUTER_DEAD');
    } finally {
      await fake.close();
    }
  });

  it('reconnects to a server that keeps its computer, when asked to; a lost connection is final otherwise', async () => {
    const fake = await fakeServer((f, ws, connection) => {
      // Drop the first connection of each client below mid-command.
      if (f.command === 'move_cursor' && (connection === 1 || connection === 3)) ws.terminate();
      else ws.send(JSON.stringify({ success: true, ...(f.command === 'get_cursor_position' ? { position: { x: connection, y: 0 } } : {}) }));
    });
    try {
      const c = await connectCuaComputer({ url: fake.url, reconnect: { attempts: 3, delayMs: 20 } });
      const inFlight = await rejection(c.move(1, 1));
      expect(inFlight.code).toBe('BACKEND_ERROR'); // may or may not have run; reconnecting
      expect(await c.cursorPosition()).toEqual({ x: 2, y: 0 }); // answered on the second connection
      expect(fake.connections).toBe(2);
      await c.close();

      const noReconnect = await connectCuaComputer({ url: fake.url });
      expect((await rejection(noReconnect.move(1, 1))).code).toBe('COMPUTER_DEAD');
      expect((await noReconnect.exited).code).toBe(1006);
      expect((await rejection(noReconnect.cursorPosition())).code).toBe('COMPUTER_DEAD');
    } finally {
      await fake.close();
    }
  });

  it('drops a connection whose peer stops answering pings', async () => {
    const fake = await fakeServer((_f, ws) => ws.send(JSON.stringify({ success: true })), { autoPong: false });
    try {
      const c = await connectCuaComputer({ url: fake.url, pingIntervalMs: 100 });
      await c.move(1, 1); // answered: the peer is there, it just never pongs
      const t0 = Date.now();
      expect((await c.exited).code).toBe(1006);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect((await rejection(c.move(1, 1))).code).toBe('COMPUTER_DEAD');
    } finally {
      await fake.close();
    }
  });

  it('speaks the auth frame to a cua cloud-style server and treats its refusal as AUTH_FAILED', async () => {
    // A stand-in that checks the first frame the way cua's server does.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const seen: unknown[] = [];
    wss.on('connection', (ws) => {
      ws.once('message', (d) => {
        const f = JSON.parse(String(d)) as { command: string; params: { api_key?: string; container_name?: string } };
        seen.push(f);
        const ok = f.command === 'authenticate' && f.params.api_key === 'sk-good-key' && f.params.container_name === 'my-box';
        ws.send(JSON.stringify(ok ? { success: true, message: 'Authentication successful' } : { success: false, error: 'Authentication failed' }));
        if (!ok) ws.close();
        else ws.on('message', (m) => {
          const g = JSON.parse(String(m)) as { command: string };
          seen.push(g);
          ws.send(JSON.stringify(g.command === 'get_screen_size' ? { success: true, size: { width: 640, height: 480 } } : { success: true, protocol: 1, package: '0.3.42' }));
        });
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws`;
    try {
      const bad = await rejection(connectCuaComputer({ url, apiKey: 'sk-bad-key', containerName: 'my-box' }));
      expect(bad.code).toBe('AUTH_FAILED');
      expect(bad.message).not.toContain('sk-bad-key');
      const good = await connectCuaComputer({ url, apiKey: 'sk-good-key', containerName: 'my-box' });
      expect(await good.screenSize()).toEqual({ width: 640, height: 480 });
      expect(good.server).toMatchObject({ protocol: 1, package: '0.3.42', perConnection: false });
      expect(seen[1]).toEqual({ command: 'authenticate', params: { api_key: 'sk-good-key', container_name: 'my-box' } });
      // Without our reset extension, reset() releases input, centres the pointer, and says the
      // computer must be replaced.
      const sent = seen.length;
      expect((await rejection(good.reset())).code).toBe('NOT_SUPPORTED');
      expect(seen.slice(sent)).toEqual([
        ...['left', 'middle', 'right'].map((button) => ({ command: 'mouse_up', params: { button } })),
        ...['shift', 'ctrl', 'alt', 'cmd'].map((key) => ({ command: 'key_up', params: { key } })),
        { command: 'move_cursor', params: { x: 320, y: 240 } },
      ]);
      // Key and scroll translation on the wire.
      await good.key('ctrl+alt+t Return');
      await good.scroll(10, 10, 1, 3);
      await good.holdKey('shift+a', 10);
      await good.click(5, 5, 'middle');
      expect(seen.slice(sent + 8)).toEqual([
        { command: 'hotkey', params: { keys: ['ctrl', 'alt', 't'] } },
        { command: 'press_key', params: { key: 'enter' } },
        { command: 'move_cursor', params: { x: 10, y: 10 } },
        { command: 'scroll', params: { x: 1, y: -3 } },
        { command: 'key_down', params: { key: 'shift' } },
        { command: 'key_down', params: { key: 'a' } },
        { command: 'key_up', params: { key: 'a' } },
        { command: 'key_up', params: { key: 'shift' } },
        { command: 'mouse_down', params: { x: 5, y: 5, button: 'middle' } },
        { command: 'mouse_up', params: { x: 5, y: 5, button: 'middle' } },
      ]);
      await good.close();
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('translates key names both ways', () => {
    expect(xdotoolKeysToCua('ctrl+alt+t Return')).toEqual([['ctrl', 'alt', 't'], ['enter']]);
    expect(xdotoolKeysToCua('super+Page_Down KP_Enter Escape BackSpace minus shift+A F5')).toEqual([
      ['cmd', 'page_down'], ['enter'], ['esc'], ['backspace'], ['-'], ['shift', 'A'], ['f5'],
    ]);
    for (const [cua, xdo] of [
      ['enter', 'Return'], ['esc', 'Escape'], ['pagedown', 'Page_Down'], ['page_up', 'Page_Up'], ['del', 'Delete'],
      ['command', 'super'], ['cmd', 'super'], ['ctrl', 'ctrl'], ['-', 'minus'], ['+', 'plus'], [' ', 'space'], ['a', 'a'], ['F4', 'F4'],
    ]) {
      expect(cuaKeyToXdotool(cua)).toBe(xdo);
    }
    expect(() => cuaKeyToXdotool('bad key')).toThrow(ComputerError);
  });

  it('computer-server command: prints its url, serves, and closes every computer on a stop signal', async () => {
    const lines: string[] = [];
    let stop!: (signal: string) => void;
    const stopSignal = new Promise<string>((r) => {
      stop = r;
    });
    const before = xvfbChildren().length;
    const exit = computerServerCommand(['--port', '0', '--width', '320', '--height', '240', '--max-computers', '2'], {
      stdout: (l) => lines.push(l),
      stderr: (l) => lines.push(`ERR ${l}`),
      env: { CUA_API_KEY: 'cli-key-0123456789' },
      stopSignal,
    });
    const line = await waitFor('the url line', () => lines[0]);
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect((await rejection(connectCuaComputer({ url }))).code).toBe('AUTH_FAILED');
    const c = await connectCuaComputer({ url, apiKey: 'cli-key-0123456789' });
    expect(await c.screenSize()).toEqual({ width: 320, height: 240 });
    expect(xvfbChildren().length).toBe(before + 1);
    stop('SIGTERM');
    expect(await exit).toBe(0);
    expect((await c.exited).code).toBe(1001);
    expect(xvfbChildren().length).toBe(before);
    expect(lines.join('\n')).not.toContain('cli-key-0123456789');
    expect(await computerServerCommand(['--port', 'x'], { stdout: () => {}, stderr: () => {}, env: {} })).toBe(1);
    expect(await computerServerCommand(['--nope'], { stdout: () => {}, stderr: () => {}, env: {} })).toBe(2);
  });
});
