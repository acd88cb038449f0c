/**
 * The `cua` toolset through the real server (a child process), with real Xvfb computers as
 * resource actors, the fake Messages API on loopback behind the agent loop, and — for the `cua`
 * backend — our own `mcp-actors computer-server` (the CLI, a child process) on loopback.
 *
 * Lost computers: the first call after the loss fails with [COMPUTER_LOST]; the call after that
 * gets a fresh computer (src/integrations/cua/actor/session-computer.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, request, send, structured, type RawResponse } from '../support/mcp-http.js';
import { startModelRouter, type FakeModel, type ModelRouter, type ScriptStep } from '../support/fake-model/index.js';
import { claimUrl, newUrlSlotTable, tryClaimUrl } from '../../src/integrations/cua/shared/url-slots.js';
import { PNG_SIGNATURE, computerOf, computersOf, homeFile, waitFor, xvfbOf } from '../support/cua.js';
import { metric } from '../support/wait.js';

const API_KEY = 'sk-test-cua-0123456789-must-not-leak';
const MODEL_ENV = { ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '', CUA_MODEL_NAME: '', CUA_MAX_IMAGES: '', CUA_MAX_STEPS: '', CUA_API_KEY: '' };

// ---- helpers ---------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a session's lease request waits for a computer (the pool is full). */
const untilWaitingForComputer = (server: ServerProcess) =>
  waitFor('a session to wait for a computer', async () => (await metric(server, 'mcp_actors_pool_waiting', 'kind="computer"')) >= 1);

/** A file in the home of any of the computers a server runs (typed commands write there). */
const fileIn = (server: { proc: { pid?: number } }, name: string) => {
  for (const c of computersOf(server.proc.pid!)) {
    const text = homeFile(c, name);
    if (text !== undefined) return text;
  }
  return undefined;
};

/** The text of a tool result (all text blocks). */
function text(r: RawResponse): string {
  return (r.json?.result?.content ?? []).filter((c: { type: string }) => c.type === 'text').map((c: { text: string }) => c.text).join('\n');
}

/** The `[CODE]` of an error result (throws if the call succeeded). */
function errorCode(r: RawResponse): string {
  expect(r.status).toBe(200);
  if (!r.json?.result?.isError) throw new Error(`expected an error result, got ${JSON.stringify(r.json).slice(0, 300)}`);
  const content = r.json.result.structuredContent as { code: string; message: string; retryable: boolean };
  expect(content.message).toBe(text(r));
  expect(typeof content.retryable).toBe('boolean');
  return content.code;
}

function ok(r: RawResponse): RawResponse {
  expect(r.status).toBe(200);
  if (r.json?.error || r.json?.result?.isError) throw new Error(`call failed: ${JSON.stringify(r.json).slice(0, 500)}`);
  return r;
}


/** The PNG of a result's image block (checks it is image/png). */
function png(r: RawResponse): Buffer {
  const img = (r.json?.result?.content ?? []).find((c: { type: string }) => c.type === 'image');
  expect(img?.mimeType).toBe('image/png');
  const b = Buffer.from(img.data as string, 'base64');
  expect(b.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  return b;
}

/** Decodes our screenshots (8-bit RGB, filters None/Sub) into a pixel reader. */
function pixels(bytes: Buffer): { width: number; height: number; at(x: number, y: number): [number, number, number] } {
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let off = 8; off < bytes.length; ) {
    const len = bytes.readUInt32BE(off);
    if (bytes.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(bytes.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = 1 + width * 3;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride];
    for (let i = 0; i < width * 3; i++) {
      const left = filter === 1 && i >= 3 ? (px[y * width * 3 + i - 3] as number) : 0;
      px[y * width * 3 + i] = ((raw[y * stride + 1 + i] as number) + left) & 0xff;
    }
  }
  return { width, height, at: (x, y) => [px[(y * width + x) * 3]!, px[(y * width + x) * 3 + 1]!, px[(y * width + x) * 3 + 2]!] };
}

/** Dark pixels in a rectangle (text on a white xterm). */
function darkPixels(p: ReturnType<typeof pixels>, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (p.at(x, y).every((c) => c < 100)) n++;
  return n;
}


/** Anthropic Messages API fakes, one per script, behind one URL: a request goes to the fake named in its task ("[script:name]"). */
/** tools/call with a progressToken; returns the response and the progress notifications that came with it. */
async function callWithProgress(url: string, session: string, name: string, args: Record<string, unknown>) {
  const r = await send(url, request('tools/call', { name, arguments: args, _meta: { progressToken: `p-${name}` } }), { session });
  const messages = r.events.filter((e) => e.data.trim()).map((e) => JSON.parse(e.data) as { method?: string; params?: Record<string, unknown> });
  return { r, progress: messages.filter((m) => m.method === 'notifications/progress').map((m) => m.params!) };
}

function cuaServer(cua: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<ServerProcess> {
  return startServer({
    args: ['--toolsets', 'cua'],
    env: { ...MODEL_ENV },
    timeoutMs: 30_000,
    config: { warmPool: { min: 1, max: 8 }, sessions: { hibernateAfterMs: 0 }, ...extra, cua },
  });
}

/**
 * The direct actions on a fresh session's computer — the same for both backends. Returns the
 * session and its computer's id.
 */
async function actionTests(url: string, tag: string, readFile: (name: string) => string | undefined): Promise<{ session: string; computer: string }> {
  const s = await openSession(url);
  const size = structured(await callTool(url, s, 'computer_screen_size'));
  expect(size).toMatchObject({ width: 1024, height: 768 });
  const blank = pixels(png(ok(await callTool(url, s, 'screenshot_cua'))));
  expect([blank.width, blank.height]).toEqual([1024, 768]);

  // Coordinates are checked against the screen size; nothing is done.
  for (const [tool, args] of [
    ['computer_click', { x: 1024, y: 10 }],
    ['computer_move', { x: 10, y: 768 }],
    ['computer_scroll', { x: 5000, y: 1, dy: 1 }],
    ['computer_drag', { path: [{ x: 1, y: 1 }, { x: 2000, y: 5 }] }],
  ] as const) {
    const r = await callTool(url, s, tool, args);
    expect(errorCode(r)).toBe('BAD_COORDINATES');
    expect(text(r)).toMatch(/off the screen.*1024x768/);
  }
  expect((await callTool(url, s, 'computer_click', { x: -1, y: 1 })).json.result.isError).toBe(true); // the schema refuses it

  ok(await callTool(url, s, 'computer_move', { x: 100, y: 120 }));
  expect(structured(await callTool(url, s, 'computer_cursor_position'))).toEqual({ x: 100, y: 120 });
  ok(await callTool(url, s, 'computer_click', { x: 7, y: 9, button: 'right' }));
  expect(structured(await callTool(url, s, 'computer_cursor_position'))).toEqual({ x: 7, y: 9 });
  ok(await callTool(url, s, 'computer_double_click', { x: 11, y: 13 }));
  ok(await callTool(url, s, 'computer_drag', { path: [{ x: 20, y: 20 }, { x: 40, y: 50 }, { x: 60, y: 80 }] }));
  expect(structured(await callTool(url, s, 'computer_cursor_position'))).toEqual({ x: 60, y: 80 });
  ok(await callTool(url, s, 'computer_scroll', { x: 300, y: 310, dy: 2 }));
  expect(structured(await callTool(url, s, 'computer_cursor_position'))).toEqual({ x: 300, y: 310 });

  // Keyboard: a terminal (ctrl+alt+t) that runs what is typed.
  const file = `${tag}-typed.txt`;
  ok(await callTool(url, s, 'computer_key', { keys: 'ctrl+alt+t' }));
  ok(await callTool(url, s, 'computer_type', { text: `echo '${tag} typed; $HOME' > ~/${file}` }));
  ok(await callTool(url, s, 'computer_key', { keys: 'Return' }));
  await waitFor(file, () => readFile(file) === `${tag} typed; $HOME\n`);
  const withTerminal = pixels(png(ok(await callTool(url, s, 'screenshot_cua'))));
  expect(blank.at(400, 300)).toEqual([0, 0, 0]); // black desktop
  expect(withTerminal.at(400, 300)).toEqual([255, 255, 255]); // white xterm at the top left
  expect(errorCode(await callTool(url, s, 'computer_key', { keys: 'NoSuchKeyName' }))).toBe('BAD_ARGUMENT');
  return { session: s, computer: size.computer };
}

// ---- the xvfb backend, pool of 2 -----------------------------------------------------------

let router: ModelRouter;
const seenXvfb = new Set<number>();

beforeAll(async () => {
  router = await startModelRouter({ apiKey: API_KEY });
});

afterAll(async () => {
  await router?.close();
});

describe('cua toolset, xvfb backend (pool of 2)', () => {
  let server: ServerProcess;
  let a: { session: string; computer: string };
  let b: string;
  let c: string;
  const WAIT_MS = 4_000;
  let aPid: number;
  /** The pid of the X server of a computer (by its id) right now; a reset starts a new one. */
  const pidOf = (computer: string) => computerOf(server.proc.pid!, computer).xvfbPid;

  beforeAll(async () => {
    server = await cuaServer({ maxComputers: 2, waitTimeoutMs: WAIT_MS, healthIntervalMs: 1_000, model: { baseUrl: router.url, apiKey: API_KEY, taskDeadlineMs: 60_000 } });
  });
  afterAll(async () => {
    for (const p of xvfbOf(server.proc.pid!)) seenXvfb.add(p.pid);
    await server?.stop();
    // Every X server the runtime started is gone (not even a zombie is left).
    for (const pid of seenXvfb) expect(existsSync(`/proc/${pid}`), `Xvfb ${pid}`).toBe(false);
  });

  it('passes the action tests: screenshots are PNG images, coordinates are validated, input reaches the screen', async () => {
    a = await actionTests(server.url, 'xvfb', (name) => fileIn(server, name));
    expect(a.computer).toMatch(/^xvfb:[0-9a-f]{8}$/);
    // The computer lives in a host thread of the server process, not in this test.
    aPid = pidOf(a.computer);
    expect(xvfbOf(server.proc.pid!).map((p) => p.pid)).toContain(aPid);
  });

  it('gives each session its own computer, kept across calls: two sessions draw different things', async () => {
    b = await openSession(server.url);
    const sizeB = structured(await callTool(server.url, b, 'computer_screen_size'));
    expect(sizeB.computer).not.toBe(a.computer);
    // Session a already has a terminal; b opens one. Each types its own line (not run).
    ok(await callTool(server.url, b, 'computer_key', { keys: 'ctrl+alt+t' }));
    ok(await callTool(server.url, a.session, 'computer_key', { keys: 'ctrl+l' }));
    await Promise.all([
      callTool(server.url, a.session, 'computer_type', { text: `# ${'A'.repeat(70)}` }).then(ok),
      callTool(server.url, b, 'computer_type', { text: '# b' }).then(ok),
    ]);
    // The terminals draw on their own time: screenshots until both show a terminal and a's line.
    const [shotA, shotB] = await waitFor('both terminals to draw their lines', async () => {
      const shots = await Promise.all([callTool(server.url, a.session, 'screenshot_cua'), callTool(server.url, b, 'screenshot_cua')]);
      const [qa, qb] = shots.map((r) => pixels(png(ok(r))));
      const white = (p: ReturnType<typeof pixels>) => p.at(400, 300).every((v) => v === 255);
      return white(qa!) && white(qb!) && darkPixels(qa!, 0, 0, 480, 40) > darkPixels(qb!, 0, 0, 480, 40) + 500 && shots;
    });
    const pa = pixels(png(ok(shotA)));
    const pb = pixels(png(ok(shotB)));
    expect(png(shotA).equals(png(shotB))).toBe(false);
    // Both show a terminal with the same prompt; a's first lines carry its 70 A's as well.
    expect(pa.at(400, 300)).toEqual([255, 255, 255]);
    expect(pb.at(400, 300)).toEqual([255, 255, 255]);
    expect(darkPixels(pa, 0, 0, 480, 40)).toBeGreaterThan(darkPixels(pb, 0, 0, 480, 40) + 500);
    // The session kept its computer across all these calls.
    expect(structured(await callTool(server.url, a.session, 'computer_screen_size')).computer).toBe(a.computer);
  });

  it('makes a third session wait for a computer, then fail clearly at the deadline (no other session is held up)', async () => {
    c = await openSession(server.url);
    const t0 = Date.now();
    const waiting = callTool(server.url, c, 'screenshot_cua');
    // Meanwhile the other sessions work normally.
    await untilWaitingForComputer(server);
    const t1 = Date.now();
    ok(await callTool(server.url, a.session, 'computer_cursor_position'));
    expect(Date.now() - t1).toBeLessThan(2_000);
    const r = await waiting;
    const took = Date.now() - t0;
    expect(errorCode(r)).toBe('LEASE_TIMEOUT');
    expect(text(r)).toMatch(/no computer became available within 4000 ms \(2\/2 leases, 2\/2 instances in use\); try again later/);
    expect(took).toBeGreaterThanOrEqual(WAIT_MS - 100);
    expect(took).toBeLessThan(WAIT_MS + 5_000);
  });

  it('when a session ends, its computer is reset and leased to the session waiting for one', async () => {
    const waiting = callTool(server.url, c, 'computer_screen_size');
    await untilWaitingForComputer(server);
    expect((await send(server.url, undefined, { session: a.session, method: 'DELETE' })).status).toBe(200);
    const got = structured(await waiting);
    expect(got.computer).toBe(a.computer); // the same computer…
    expect(pidOf(got.computer)).not.toBe(aPid); // …with a new X server (a reset starts both sandboxes afresh)
    expect(existsSync(`/proc/${aPid}`)).toBe(false);
    const shot = pixels(png(ok(await callTool(server.url, c, 'screenshot_cua'))));
    expect(shot.at(400, 300)).toEqual([0, 0, 0]); // …reset: no terminal left on it
    expect(darkPixels(shot, 0, 0, 400, 40)).toBe(40 * 400);
    expect(structured(await callTool(server.url, c, 'computer_cursor_position'))).toEqual({ x: 512, y: 384 });
  });

  it('runs run_cua_task with the model: the task is done on the computer, one progress notification per step, transcript and final screenshot back', async () => {
    const file = '~/agent-done.txt';
    const fake = await router.add('agent', [
      { use: { action: 'key', text: 'ctrl+alt+t' }, text: 'Opening a terminal.' },
      { use: { action: 'type', text: `echo done > ${file}` } },
      { use: { action: 'key', text: 'Return' } },
      { final: 'The file is written.' },
    ]);
    const { r, progress } = await callWithProgress(server.url, c, 'run_cua_task', { task: `[script:agent] Write "done" into ${file}.` });
    ok(r);
    expect(await waitFor('the file', () => fileIn(server, 'agent-done.txt') === 'done\n' && 'ok', 10_000)).toBe('ok');
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(progress.map((p) => p.message)).toEqual(['step 1: key ctrl+alt+t', `step 2: type ${JSON.stringify(`echo done > ${file}`)}`, 'step 3: key Return']);
    expect(progress[0]!.total).toBe(30);
    const result = r.json.result;
    expect(result.structuredContent).toMatchObject({ status: 'done', steps: 3, final_text: 'The file is written.' });
    expect(text(r)).toContain('status: done after 3 steps');
    expect(text(r)).toContain('[1] key ctrl+alt+t');
    expect(pixels(png(r)).at(400, 300)).toEqual([255, 255, 255]); // the final screenshot shows the terminal
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests.every((q) => q.status === 200)).toBe(true);
    expect(fake.requests[0]!.headers['x-api-key']).toBe(API_KEY);
    // The key never shows: not in results, not in the logs.
    expect(r.text).not.toContain(API_KEY);
    expect(server.stderr.join('\n')).not.toContain(API_KEY);
  });

  it('stops a task when the request is cancelled (between steps)', async () => {
    const fake = await router.add('slow', Array.from({ length: 20 }, () => ({ use: { action: 'wait', duration: 1 } }) as ScriptStep));
    const t0 = Date.now();
    const id = 'cancel-me';
    const pending = send(server.url, request('tools/call', { name: 'run_cua_task', arguments: { task: '[script:slow] wait a lot' } }, id), { session: c });
    await waitFor('two model turns', () => fake.requests.length >= 2);
    const ack = await send(server.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } }, { session: c });
    expect(ack.status).toBe(202);
    await Promise.race([pending.catch(() => undefined), sleep(5_000)]); // the answer, at most 5 s (a bound, not an ordering)
    const turns = fake.requests.length;
    await sleep(2_500); // deliberate: 2.5 of the script's 1 s waits, for model turns that must not come
    expect(fake.requests.length).toBeLessThanOrEqual(turns + 1); // no more turns after the cancel
    expect(Date.now() - t0).toBeLessThan(15_000);
    // The session carries on with its computer.
    ok(await callTool(server.url, c, 'computer_cursor_position'));
  });

  it('a killed Xvfb: the holder\'s next call fails with COMPUTER_LOST, the call after gets a fresh computer, the pool is back to full strength, no zombie', async () => {
    const before = structured(await callTool(server.url, b, 'computer_screen_size')).computer as string;
    const pid = pidOf(before);
    for (const p of xvfbOf(server.proc.pid!)) seenXvfb.add(p.pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('the dead computer to be retired', () => server.logs().some((l) => l.msg === 'resource instance died' && String(l.reason).includes(before)));
    const lost = await callTool(server.url, b, 'screenshot_cua');
    expect(errorCode(lost)).toBe('COMPUTER_LOST');
    expect(text(lost)).toContain(`this session's computer (${before}) was lost`);
    expect(text(lost)).toContain('The next call gets a fresh computer');
    const fresh = structured(await callTool(server.url, b, 'computer_screen_size'));
    expect(fresh.computer).not.toBe(before);
    expect(pidOf(fresh.computer)).not.toBe(pid);
    expect(pixels(png(ok(await callTool(server.url, b, 'screenshot_cua')))).at(400, 300)).toEqual([0, 0, 0]); // blank: b's terminal was on the old one
    // Full strength: two computers, both in use (b's fresh one and c's).
    ok(await callTool(server.url, c, 'computer_cursor_position'));
    const live = xvfbOf(server.proc.pid!);
    expect(live.filter((p) => p.state !== 'Z')).toHaveLength(2);
    // The killed X server was reaped: no zombie, nothing of it left.
    await waitFor('the killed Xvfb to be reaped', () => !existsSync(`/proc/${pid}`));
    expect(live.some((p) => p.state === 'Z')).toBe(false);
  });

  it('replaces a computer that stops answering (a stopped Xvfb fails its health check)', async () => {
    const before = structured(await callTool(server.url, b, 'computer_screen_size')).computer as string;
    const pid = pidOf(before);
    for (const p of xvfbOf(server.proc.pid!)) seenXvfb.add(p.pid);
    process.kill(pid, 'SIGSTOP');
    await waitFor('the health check to fail', () => server.logs().some((l) => l.msg === 'resource instance died' && String(l.reason).startsWith('health check failed') && String(l.reason).includes('unresponsive')));
    expect(errorCode(await callTool(server.url, b, 'screenshot_cua'))).toBe('COMPUTER_LOST');
    expect(pidOf(structured(await callTool(server.url, b, 'computer_screen_size')).computer)).not.toBe(pid);
    await waitFor('the stopped Xvfb to be killed and reaped', () => !existsSync(`/proc/${pid}`));
  });
});

// ---- concurrency: run_multi_cua_tasks on a pool of 3 --------------------------------------

describe('run_multi_cua_tasks (pool of 3)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await cuaServer({ maxComputers: 3, minComputers: 3, waitTimeoutMs: 20_000, model: { baseUrl: router.url, apiKey: API_KEY, taskDeadlineMs: 60_000 } });
    await waitFor('3 warm computers', () => server.logs().filter((l) => l.msg === 'resource instance created').length >= 3, 20_000);
  });
  afterAll(async () => {
    const xs = xvfbOf(server.proc.pid!).map((p) => p.pid);
    expect(xs.length).toBeGreaterThanOrEqual(3);
    await server?.stop();
    for (const pid of xs) expect(existsSync(`/proc/${pid}`), `Xvfb ${pid}`).toBe(false);
  });

  it('concurrent: each task on its own computer, in about the time of the slowest, results in task order, a failing task fails alone', async () => {
    const files = [0, 1, 2].map((i) => `multi-${i}.txt`);
    // Three tasks of ~4 s each; the model of the second fails at its end (a 400 is not retried).
    const script = (i: number, end: ScriptStep): ScriptStep[] => [
      { use: { action: 'key', text: 'ctrl+alt+t' } },
      { use: { action: 'type', text: `echo $DISPLAY > ~/${files[i]}\n` } },
      { use: { action: 'wait', duration: 2 } },
      { ...end, delayMs: 500 },
    ];
    const fakes = await Promise.all([
      router.add('m0', script(0, { final: 'task 0 finished' })),
      router.add('m1', script(1, { fail: 'invalid_request' })),
      router.add('m2', script(2, { final: 'task 2 finished' })),
    ]);
    const s = await openSession(server.url);
    const t0 = Date.now();
    const call = callWithProgress(server.url, s, 'run_multi_cua_tasks', {
      tasks: ['[script:m0] first', '[script:m1] second', '[script:m2] third'],
      concurrent: true,
    });
    // Each task writes its computer's DISPLAY into its home — read while the tasks run: a
    // computer is reset (home wiped) as soon as its task gives it back.
    const displays = await Promise.all(files.map((f) => waitFor(f, () => fileIn(server, f)?.includes('\n') && fileIn(server, f))));
    const { r, progress } = await call;
    const wall = Date.now() - t0;
    const results = ok(r).json.result.structuredContent.results as Array<Record<string, unknown>>;
    expect(results.map((x) => [x.task, x.status])).toEqual([
      ['[script:m0] first', 'done'],
      ['[script:m1] second', 'error'],
      ['[script:m2] third', 'done'],
    ]);
    expect(results[1]!.error).toMatch(/400|invalid_request/i);
    expect(results[0]!.final_text).toBe('task 0 finished');
    expect(results[2]!.final_text).toBe('task 2 finished');
    // Each task ran on a computer of its own: three displays wrote the three files.
    expect(new Set(results.map((x) => x.computer)).size).toBe(3);
    expect(new Set(displays).size).toBe(3);
    // About the time of the slowest task, not the sum.
    const spans = fakes.map((f) => f.requests.at(-1)!.answeredAt! - f.requests[0]!.receivedAt);
    const slowest = Math.max(...spans);
    const sum = spans.reduce((x, y) => x + y, 0);
    expect(slowest).toBeGreaterThan(2_500);
    // (one after another it would take at least the sum; margins for a loaded 2-core machine)
    expect(wall).toBeLessThan(slowest + 4_000);
    expect(wall).toBeLessThan(sum * 0.7);
    // Progress: one per step of any task, numbered across the call.
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const t of [1, 2, 3]) expect(progress.filter((p) => String(p.message).startsWith(`task ${t}: `))).toHaveLength(3);
    // A final screenshot per task (the failed task's computer is fine, so it has one too).
    expect(r.json.result.content.filter((x: { type: string }) => x.type === 'image')).toHaveLength(3);
    expect(r.text).not.toContain(API_KEY);
  });

  it('not concurrent: the tasks run one after another on the session\'s own computer', async () => {
    const s = await openSession(server.url);
    const mine = structured(await callTool(server.url, s, 'computer_screen_size')).computer;
    await router.add('q0', [{ use: { action: 'mouse_move', coordinate: [10, 10] } }, { final: 'zero' }]);
    await router.add('q1', [{ use: { action: 'mouse_move', coordinate: [20, 20] } }, { final: 'one' }]);
    const r = ok(await callTool(server.url, s, 'run_multi_cua_tasks', { tasks: ['[script:q0] a', '[script:q1] b'] }));
    const results = r.json.result.structuredContent.results as Array<Record<string, unknown>>;
    expect(results.map((x) => [x.status, x.final_text, x.computer])).toEqual([
      ['done', 'zero', mine],
      ['done', 'one', mine],
    ]);
    expect(structured(await callTool(server.url, s, 'computer_cursor_position'))).toEqual({ x: 20, y: 20 });
  });
});

// ---- the cua backend against our own computer-server (the CLI) on loopback ---------------

describe('cua toolset, cua backend (mcp-actors computer-server on loopback)', () => {
  let cs: ChildProcess;
  let csUrl: string;
  let csExit: Promise<number | null>;
  let server: ServerProcess;

  beforeAll(async () => {
    cs = spawn(process.execPath, [CLI, 'computer-server', '--port', '0', '--max-computers', '3'], {
      env: { ...process.env, CUA_API_KEY: 'computer-server-key-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    csExit = new Promise((r) => cs.once('exit', (code) => r(code)));
    csUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`computer-server did not start: ${out}`)), 20_000);
      cs.stdout!.on('data', (d: Buffer) => {
        out += String(d);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      });
    });
    expect(csUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    server = await startServer({
      args: ['--toolsets', 'cua'],
      env: { ...MODEL_ENV, CUA_API_KEY: 'computer-server-key-0123456789' },
      timeoutMs: 30_000,
      config: { warmPool: { min: 1, max: 4 }, sessions: { hibernateAfterMs: 0 }, cua: { backend: 'cua', maxComputers: 5, waitTimeoutMs: 2_000, remote: { urls: [csUrl, csUrl] } } },
    });
  });
  afterAll(async () => {
    await server?.stop();
    const xs = xvfbOf(cs.pid!).map((p) => p.pid);
    cs.kill('SIGTERM');
    expect(await csExit).toBe(0);
    for (const pid of xs) expect(existsSync(`/proc/${pid}`), `Xvfb ${pid}`).toBe(false);
  });

  it('passes the same action tests against remote computers', async () => {
    const first = await actionTests(server.url, 'cua', (name) => fileIn({ proc: cs }, name));
    expect(first.computer).toBe(`cua:${csUrl}`);
    // The computers are the computer-server's (its Xvfb children), not the runtime's.
    expect(xvfbOf(cs.pid!).length).toBe(1);
    expect(xvfbOf(server.proc.pid!)).toHaveLength(0);
    // Each URL entry backs one computer: two entries, two sessions; a third waits, then times out.
    const second = await openSession(server.url);
    ok(await callTool(server.url, second, 'screenshot_cua'));
    expect(xvfbOf(cs.pid!).length).toBe(2);
    const third = await openSession(server.url);
    expect(errorCode(await callTool(server.url, third, 'screenshot_cua'))).toBe('LEASE_TIMEOUT');
    // Our computer-server resets: the released computer comes back clean to the next session.
    expect((await send(server.url, undefined, { session: first.session, method: 'DELETE' })).status).toBe(200);
    const shot = pixels(png(ok(await callTool(server.url, third, 'screenshot_cua'))));
    expect(shot.at(400, 300)).toEqual([0, 0, 0]);
    expect(server.stderr.join('\n')).not.toContain('computer-server-key-0123456789');
  });
});

// ---- config -------------------------------------------------------------------------------

describe('cua toolset: hibernation, idle computers, configuration', () => {
  it('refuses the cua backend without URLs, with a message naming the key', async () => {
    await expect(startServer({ args: ['--toolsets', 'cua'], env: MODEL_ENV, config: { cua: { backend: 'cua' } } })).rejects.toThrow(/cua\.remote\.urls: the cua backend needs at least one computer-server URL/);
  });

  it('returns the computer of a session that hibernates; woken, the session gets a computer again and is told it is a fresh one; idle computers are retired', async () => {
    const server = await cuaServer({ maxComputers: 1, waitTimeoutMs: 15_000, idleTtlMs: 1_500 }, { sessions: { hibernateAfterMs: 500 } });
    try {
      const a = await openSession(server.url);
      ok(await callTool(server.url, a, 'computer_key', { keys: 'ctrl+alt+t' }));
      // b waits for the only computer until a, idle, hibernates and gives it back (reset).
      const b = await openSession(server.url);
      const t0 = Date.now();
      const shot = pixels(png(ok(await callTool(server.url, b, 'screenshot_cua'))));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(shot.at(400, 300)).toEqual([0, 0, 0]); // a's terminal is gone
      expect((await send(server.url, undefined, { session: b, method: 'DELETE' })).status).toBe(200);
      const woken = ok(await callTool(server.url, a, 'computer_cursor_position'));
      expect(text(woken)).toMatch(/previous computer \(xvfb:[0-9a-f]{8}\) was returned while the session was idle; this is a fresh one/);
      expect(woken.json.result.structuredContent).toEqual({ x: 512, y: 384 }); // reset: pointer centred
      // Nobody uses it any more: it is shut down after the idle TTL.
      expect((await send(server.url, undefined, { session: a, method: 'DELETE' })).status).toBe(200);
      await waitFor('the idle computer to be retired', () => server.logs().some((l) => l.msg === 'resource instance retired' && l.reason === 'idle for 1500 ms'));
      await waitFor('its Xvfb to be gone', () => xvfbOf(server.proc.pid!).length === 0);
    } finally {
      await server.stop();
    }
  });

  it('serves without a model key: direct tools work, run_cua_task says what is missing', async () => {
    const server = await cuaServer({ maxComputers: 1 });
    try {
      const s = await openSession(server.url);
      const r = await callTool(server.url, s, 'run_cua_task', { task: 'anything' });
      expect(errorCode(r)).toBe('MODEL_NOT_CONFIGURED');
      expect(text(r)).toMatch(/ANTHROPIC_API_KEY/);
      const tools = (await send(server.url, request('tools/list', {}), { session: s })).json.result.tools.map((t: { name: string }) => t.name);
      expect(tools.sort()).toEqual(
        [
          'computer_click', 'computer_cursor_position', 'computer_double_click', 'computer_drag', 'computer_key', 'computer_move',
          'computer_screen_size', 'computer_scroll', 'computer_type', 'run_cua_task', 'run_multi_cua_tasks', 'screenshot_cua',
          // cua brings the session toolset: it creates the session_id handles 2026-07-28 clients pass.
          'create_session', 'get_session_stats', 'cleanup_session',
        ].sort(),
      );
    } finally {
      await server.stop();
    }
  });
});

describe('remote URL slots (one computer per configured URL, across host threads)', () => {
  it('hands each URL to one holder, frees it on release, and lets an abandoned slot (no heartbeat) be taken over', async () => {
    const t = newUrlSlotTable(['ws://a/ws', 'ws://b/ws']);
    const one = tryClaimUrl(t, 60_000, 101)!;
    const two = tryClaimUrl(t, 60_000, 102)!;
    expect([one.url, two.url]).toEqual(['ws://a/ws', 'ws://b/ws']);
    expect(tryClaimUrl(t, 60_000, 103)).toBeUndefined();
    one.release();
    const three = tryClaimUrl(t, 60_000, 103)!;
    expect(three.url).toBe('ws://a/ws');
    // A holder that stops beating (its thread crashed) loses its slot after staleMs; its late release frees nothing.
    const t0 = Date.now();
    const taken = await claimUrl(t, { staleMs: 300, waitMs: 3_000 });
    expect(taken).toBeDefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    two.release();
    three.release();
    const last = tryClaimUrl(t, 60_000, 104);
    expect(last?.url).toBe(taken!.url === 'ws://a/ws' ? 'ws://b/ws' : 'ws://a/ws');
    last?.release();
    taken!.release();
  });
});
