/**
 * The load generator (`mcp-actors bench`) against real MCP servers on loopback: a stateful SDK
 * Streamable HTTP server answering in SSE and one answering in JSON (fixtures that count their
 * own tool executions), the SDK's own example server, and a stdio server. Counts are checked
 * against what the servers say they executed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCommand, percentile, pickSequence, runLoad, type LoadResult, type MixEntry } from '../../bench/loadgen/index.js';
import { spreadCallers } from '../../bench/loadgen/index.js';
import { Http1ResponseParser, HttpParseError } from '../../bench/loadgen/http1-parser.js';
import { ReplyReader, type HttpOutcome } from '../../bench/loadgen/reply.js';
import { shellWords } from '../../bench/loadgen/shell-words.js';
import { SseParser, type SseEvent } from '../../bench/loadgen/sse.js';
import { summarize } from '../../bench/loadgen/stats.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const SDK_EXAMPLE = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js', import.meta.url),
);

interface Spawned {
  child: ChildProcess;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Spawns node with args and waits until its stdout matches `ready` (capturing the port). */
function spawnServer(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let started = false;
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out} ${err}`)));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        resolve({
          child,
          port: Number(m[1]),
          output: () => out,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
  });
}

interface FixtureStats {
  executed: Record<string, number>;
  sessionsOpened: number;
  sessionsClosed: number;
  toolCallPosts: number;
  replyTypes: Record<string, number>;
}

async function stats(port: number): Promise<FixtureStats> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  return (await res.json()) as FixtureStats;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

function captureIO(tty = false) {
  const io = {
    out: '',
    err: '',
    stdout: { write: (s: string) => ((io.out += s), true) },
    stderr: { write: (s: string) => ((io.err += s), true), isTTY: tty, columns: 200 },
  };
  return io;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A hand-written HTTP/1.1 MCP responder on raw sockets, for framings the SDK servers never
 * produce. The path picks how every reply is framed:
 *   /close   Content-Length and "Connection: close", then the server closes the connection
 *   /http10  HTTP/1.0, no Content-Length: the body ends when the connection closes
 *   /dribble chunked, written a few bytes at a time
 *   /linger  SSE (chunked) with a priming event and a notification first, and the stream is
 *            never ended after the response
 */
function startOddServer(): Promise<{ port: number; toolCalls: () => number; close: () => Promise<void> }> {
  let toolCalls = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      buf += c;
      for (;;) {
        const he = buf.indexOf('\r\n\r\n');
        if (he === -1) return;
        const head = buf.slice(0, he);
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < he + 4 + len) return;
        const body = buf.slice(he + 4, he + 4 + len);
        buf = buf.slice(he + 4 + len);
        const [method, path] = head.split(' ');
        reply(sock, path!, method!, body);
      }
    });
  });
  const reply = (sock: net.Socket, path: string, method: string, body: string): void => {
    const msg = body ? (JSON.parse(body) as { id?: number; method?: string }) : {};
    let status = 200;
    let payload = '';
    if (method === 'DELETE' || msg.id === undefined) {
      status = method === 'DELETE' ? 200 : 202;
    } else if (msg.method === 'initialize') {
      payload = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'odd', version: '1' } } });
    } else if (msg.method === 'tools/list') {
      payload = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { tools: [{ name: 'x', inputSchema: { type: 'object' } }] } });
    } else {
      toolCalls++;
      payload = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'd\u00e9j\u00e0 \u2713' }] } });
    }
    const reason = status === 200 ? 'OK' : 'Accepted';
    const sid = 'mcp-session-id: odd-session\r\n';
    const chunk = (t: string): string => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
    if (path === '/close') {
      sock.end(`HTTP/1.1 ${status} ${reason}\r\n${sid}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`);
    } else if (path === '/http10') {
      sock.end(`HTTP/1.0 ${status} ${reason}\r\n${sid}content-type: application/json\r\n\r\n${payload}`);
    } else if (path === '/dribble') {
      const text = `HTTP/1.1 ${status} ${reason}\r\n${sid}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n` +
        (payload ? chunk(payload.slice(0, 10)) + chunk(payload.slice(10)) : '') + '0\r\n\r\n';
      const bytes = Buffer.from(text);
      let i = 0;
      const step = (): void => {
        if (sock.destroyed) return;
        sock.write(bytes.subarray(i, i + 7));
        i += 7;
        if (i < bytes.length) setImmediate(step);
      };
      step();
    } else if (payload === '') {
      sock.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\n\r\n`);
    } else {
      sock.write(`HTTP/1.1 200 OK\r\n${sid}content-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n` +
        chunk('id: 1\ndata: \n\n') +
        chunk('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}\n\n') +
        chunk(`event: message\ndata: ${payload}\n\n`)); // ...and the stream is left open
    }
  };
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        toolCalls: () => toolCalls,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    );
  });
}

function expectOrderedLatency(r: LoadResult): void {
  const l = r.latencyMs;
  expect(l.p50).toBeGreaterThan(0);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.max);
  expect(l.mean).toBeLessThanOrEqual(l.max);
}

describe('statistics and parsing units', () => {
  it('computes nearest-rank percentiles exactly', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    const s = summarize(Float64Array.from(values).sort());
    expect(s).toEqual({ p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    const ten = Float64Array.from([7, 1, 9, 3, 5, 2, 8, 4, 10, 6]).sort();
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 99)).toBe(10);
    expect(percentile(ten, 91)).toBe(10);
    expect(percentile(Float64Array.from([1, 2]), 50)).toBe(1);
    expect(percentile([42], 99)).toBe(42);
    expect(percentile([], 50)).toBe(0);
    expect(summarize([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });

  it('parses SSE across chunk boundaries, skipping priming events and comments', () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e));
    const stream =
      'id: 1\r\ndata: \r\n\r\n' + // priming: empty data, not dispatched
      ': keep-alive\n\n' +
      'event: message\rid: 2\rdata: {"a":\rdata:1}\r\r' +
      'data:{"jsonrpc":"2.0","id":7,"result":{}}\n\n';
    // Feed it one character at a time: every boundary (including inside CRLF) gets exercised.
    for (const ch of stream) p.push(ch);
    expect(events).toEqual([
      { event: 'message', data: '{"a":\n1}', id: '2' },
      { event: 'message', data: '{"jsonrpc":"2.0","id":7,"result":{}}', id: '2' },
    ]);
    const whole: SseEvent[] = [];
    new SseParser((e) => whole.push(e)).push(stream);
    expect(whole).toEqual(events);
  });

  it('parses HTTP/1.1 responses in every framing, split at any byte', () => {
    type Seen = { heads: number[]; body: string; ends: boolean[] };
    const run = (raw: string, split: 'bytes' | 'whole', close = false): Seen => {
      const seen: Seen = { heads: [], body: '', ends: [] };
      const bodies: Buffer[] = [];
      const p = new Http1ResponseParser({
        head: (h) => seen.heads.push(h.status),
        body: (b) => bodies.push(Buffer.from(b)),
        end: (reusable) => seen.ends.push(reusable),
      });
      p.reset();
      const bytes = Buffer.from(raw, 'utf8');
      if (split === 'whole') p.push(bytes);
      else for (let i = 0; i < bytes.length; i++) p.push(bytes.subarray(i, i + 1));
      if (close) p.close();
      seen.body = Buffer.concat(bodies).toString('utf8');
      return seen;
    };
    // Content-Length counts UTF-8 bytes: {"a":"h\u00e9\u2713"} is 14.
    const cases: [string, boolean, Seen][] = [
      ['HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"a":"h\u00e9\u2713"}', false,
        { heads: [200], body: '{"a":"h\u00e9\u2713"}', ends: [true] }],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n2\r\nef\r\n0\r\nX-Trailer: 1\r\n\r\n', false,
        { heads: [200], body: 'abcdef', ends: [true] }],
      ['HTTP/1.1 200 OK\nConnection: close\nContent-Length: 2\n\nok', false, { heads: [200], body: 'ok', ends: [false] }],
      ['HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n', true,
        { heads: [200], body: 'data: x\n\n', ends: [false] }],
      ['HTTP/1.1 204 No Content\r\n\r\n', false, { heads: [204], body: '', ends: [true] }],
      ['HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n', false, { heads: [503], body: '', ends: [true] }],
    ];
    for (const [raw, close, expected] of cases) {
      expect(run(raw, 'whole', close)).toEqual(expected);
      expect(run(raw, 'bytes', close)).toEqual(expected);
    }
    expect(() => run('HTTP/2 200\r\n\r\n', 'whole')).toThrow(HttpParseError);
    expect(() => run('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'whole')).toThrow(/chunk size/);
  });

  it('reads JSON and SSE replies: matches the id, skips priming and notifications, answers server requests', () => {
    const outcome = (contentType: string, chunks: string[], expectId = 5) => {
      let got: HttpOutcome | undefined;
      const serverRequests: unknown[] = [];
      const r = new ReplyReader(expectId, (m) => serverRequests.push(m.method), (o) => (got = o));
      r.head(200, contentType, 'sid-1');
      const bytes = Buffer.from(chunks.join(''), 'utf8');
      // Cut inside the multi-byte character to check the UTF-8 decoding across chunks.
      const cut = bytes.indexOf(Buffer.from('\u2713')) + 1;
      r.body(bytes.subarray(0, cut));
      const early = got;
      r.body(bytes.subarray(cut));
      r.end();
      return { got, early, serverRequests };
    };
    const sse = outcome('text/event-stream', [
      'id: p\ndata: \n\n',
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"\u2713"}}\n\n',
      'data: {"jsonrpc":"2.0","id":"s1","method":"ping"}\n\n',
      'data: {"jsonrpc":"2.0","id":4,"result":{}}\n\n',
      'data: {"jsonrpc":"2.0","id":5,"result":{"content":[]}}\n\n',
    ]);
    expect(sse.got).toEqual({ ok: true, message: { jsonrpc: '2.0', id: 5, result: { content: [] } }, sessionId: 'sid-1' });
    expect(sse.serverRequests).toEqual(['ping']);
    const json = outcome('application/json', ['[{"jsonrpc":"2.0","id":4,"result":{"x":"\u2713"}},{"jsonrpc":"2.0","id":5,"error":{"code":-32001}}]']);
    expect(json.got).toMatchObject({ ok: true, message: { id: 5, error: { code: -32001 } } });
    expect(json.early).toBeUndefined(); // JSON settles at the end of the body only
    expect(outcome('text/event-stream', ['data: {"jsonrpc":"2.0","id":4,"result":{"t":"\u2713"}}\n\n']).got).toMatchObject({
      ok: false,
      kind: 'sse_no_response',
    });
    expect(outcome('application/json', ['{"oops": "\u2713"']).got).toMatchObject({ ok: false, kind: 'bad_response' });
  });

  it('splits --stdio command lines like a shell', () => {
    expect(shellWords(`node  "my server.mjs" --name 'a b' x\\ y "q\\"z"`)).toEqual([
      'node',
      'my server.mjs',
      '--name',
      'a b',
      'x y',
      'q"z',
    ]);
    expect(shellWords(`a '' b`)).toEqual(['a', '', 'b']);
    expect(() => shellWords(`node "unterminated`)).toThrow(/unterminated/);
  });

  it('draws the same tool sequence for the same seed, and follows the weights', () => {
    const mix: MixEntry[] = [
      { tool: 'a', weight: 3 },
      { tool: 'b', weight: 1 },
      { tool: 'c', args: { x: 1 }, weight: 0.5 },
    ];
    const one = pickSequence(mix, 42, 500);
    expect(pickSequence(mix, 42, 500)).toEqual(one);
    expect(pickSequence(mix, 43, 500)).not.toEqual(one);
    const many = pickSequence(mix, 7, 20_000);
    const share = (t: string): number => many.filter((x) => x === t).length / many.length;
    expect(share('a')).toBeGreaterThan(0.64);
    expect(share('a')).toBeLessThan(0.69);
    expect(share('b')).toBeGreaterThan(0.2);
    expect(share('b')).toBeLessThan(0.245);
    expect(share('c')).toBeGreaterThan(0.09);
    expect(share('c')).toBeLessThan(0.13);
  });
});

describe('flags', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-flags-'));
    writeFileSync(join(dir, 'bad.json'), '{ "mix": [ { "tool": "echo", "weight": -1 } ] }');
    writeFileSync(join(dir, 'notjson.json'), '{ mix: ');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bad: [string, string[], RegExp][] = [
    ['unknown flag', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--bogus'], /bogus/],
    ['no target', ['--tool', 'x'], /--url .* or --stdio/],
    ['two targets', ['--url', 'http://127.0.0.1:1/mcp', '--stdio', 'node x', '--tool', 'x'], /exactly one target/],
    ['no tool', ['--url', 'http://127.0.0.1:1/mcp'], /--tool/],
    ['calls and duration', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--calls', '5', '--duration', '1'], /not both/],
    ['zero concurrency', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--concurrency', '0'], /--concurrency/],
    ['non-numeric sessions', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--sessions', 'lots'], /--sessions/],
    ['args not JSON', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--args', '{text:1}'], /--args is not valid JSON/],
    ['args not an object', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--args', '[1]'], /JSON object/],
    ['bad url', ['--url', 'ftp://127.0.0.1/mcp', '--tool', 'x'], /http/],
    ['bad header', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--header', 'novalue'], /--header/],
    ['bad warmup', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--warmup', 'soon'], /--warmup/],
    ['stdio with sessions', ['--stdio', 'node x', '--tool', 'x', '--sessions', '2'], /--sessions must be 1/],
    ['missing value', ['--url'], /--url/],
    ['unknown http client', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', '--http-client', 'curl'], /--http-client/],
    ['positional', ['--url', 'http://127.0.0.1:1/mcp', '--tool', 'x', 'extra'], /extra|positional/i],
  ];
  it.each(bad)('exits 2 with a clear message on %s', async (_name, argv, message) => {
    const io = captureIO();
    expect(await benchCommand(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err).toMatch(/--help/);
    expect(io.out).toBe('');
  });

  it('exits 2 on a bad scenario file', async () => {
    for (const [file, message] of [
      ['bad.json', /weight must be a positive number/],
      ['notjson.json', /not valid JSON/],
      ['missing.json', /cannot read/],
    ] as const) {
      const io = captureIO();
      const argv = ['--url', 'http://127.0.0.1:1/mcp', '--scenario', join(dir, file)];
      expect(await benchCommand(argv, io)).toBe(2);
      expect(io.err).toMatch(message);
    }
  });

  it('--help documents the flags and the scenario format', async () => {
    const io = captureIO();
    expect(await benchCommand(['--help'], io)).toBe(0);
    for (const flag of ['--url', '--stdio', '--sessions', '--concurrency', '--duration', '--calls', '--tool', '--args',
      '--scenario', '--json', '--warmup', '--seed', '--timeout', '--header']) {
      expect(io.out).toContain(flag);
    }
    expect(io.out).toContain('"mix"');
    expect(io.out).toContain('"weight"');
  });

  it('exits 1 when no session can be opened', async () => {
    const port = await freePort(); // nothing listens there
    const io = captureIO();
    expect(await benchCommand(['--url', `http://127.0.0.1:${port}/mcp`, '--tool', 'x', '--calls', '1'], io)).toBe(1);
    expect(io.err).toMatch(/could not open any session.*ECONNREFUSED/);
  });
});

describe('the raw HTTP client on unusual framings', () => {
  let odd: Awaited<ReturnType<typeof startOddServer>>;
  beforeAll(async () => {
    odd = await startOddServer();
  });
  afterAll(() => odd?.close());

  it.each(['/close', '/http10', '/dribble'])('%s: every call counted once', async (path) => {
    const before = odd.toolCalls();
    const r = await runLoad({ url: `http://127.0.0.1:${odd.port}${path}`, tool: 'x', calls: 60, sessions: 2, concurrency: 3, timeoutMs: 5_000 });
    expect(r.calls).toEqual({ total: 60, ok: 60, errors: 0 });
    expect(odd.toolCalls() - before).toBe(60);
  });

  it('/linger: a call settles on its response although the server leaves the SSE stream open', async () => {
    const r = await runLoad({ url: `http://127.0.0.1:${odd.port}/linger`, tool: 'x', calls: 40, concurrency: 2, timeoutMs: 1_500 });
    expect(r.calls).toEqual({ total: 40, ok: 40, errors: 0 });
    expect(r.latencyMs.max).toBeLessThan(1_000); // not held until the stream is torn down
  });
});

describe('against a stateful SDK server answering in SSE', () => {
  let server: Spawned;
  beforeAll(async () => {
    server = await spawnServer([fixture('http-server.mjs')], /LISTENING (\d+)/);
  });
  afterAll(() => server?.stop());
  const url = (): string => `http://127.0.0.1:${server.port}/mcp`;

  it('--calls: exactly N calls, each executed once by the server, sessions deleted at the end', async () => {
    const before = await stats(server.port);
    const io = captureIO();
    const argv = ['--url', url(), '--tool', 'notify-echo', '--args', '{"text":"hi"}', '--calls', '600', '--sessions', '3',
      '--concurrency', '7', '--json', '--header', 'x-bench: 1'];
    expect(await benchCommand(argv, io)).toBe(0);
    const r = JSON.parse(io.out) as LoadResult; // exactly one JSON document on stdout
    const after = await stats(server.port);
    expect(r.calls).toEqual({ total: 600, ok: 600, errors: 0 });
    expect(r.errorsByKind).toEqual({});
    expect(delta(after.executed, before.executed)).toEqual({ 'notify-echo': 600 });
    expect(after.replyTypes['text/event-stream']! - (before.replyTypes['text/event-stream'] ?? 0)).toBe(600);
    expect(after.sessionsOpened - before.sessionsOpened).toBe(3);
    expect(after.sessionsClosed - before.sessionsClosed).toBe(3);
    expect(r.sessions).toBe(3);
    expect(r.concurrency).toBe(7);
    expect(r.sessionCreateMs.p50).toBeGreaterThan(0);
    expect(r.sessionCreateMs.max).toBeGreaterThanOrEqual(r.sessionCreateMs.p99);
    expectOrderedLatency(r);
    expect(Math.abs(r.throughput - 600 / r.durationSec) / r.throughput).toBeLessThan(0.005);
    expect(io.err).toBe(''); // no TTY: no progress line
  });

  it('--duration: calls start until the time is up, in-flight ones count; the server answers pings', async () => {
    const before = await stats(server.port);
    const io = captureIO(true);
    const argv = ['--url', url(), '--tool', 'ping-echo', '--args', '{"text":"p"}', '--duration', '1.2', '--sessions', '4',
      '--concurrency', '2', '--json'];
    expect(await benchCommand(argv, io)).toBe(0);
    const r = JSON.parse(io.out) as LoadResult;
    const after = await stats(server.port);
    expect(r.calls.total).toBeGreaterThan(50);
    expect(r.calls.errors).toBe(0);
    expect(delta(after.executed, before.executed)).toEqual({ 'ping-echo': r.calls.ok });
    expect(r.durationSec).toBeGreaterThanOrEqual(1.2);
    expect(r.durationSec).toBeLessThan(3);
    expect(r.sessions).toBe(4); // C < S: every session opened, two of them idle
    expect(after.sessionsClosed - before.sessionsClosed).toBe(4);
    expect(io.err).toMatch(/measuring: .*calls/); // progress line on a "TTY"
  });

  it('the node:http client makes the same calls', async () => {
    const before = await stats(server.port);
    const r = await runLoad({
      url: url(),
      httpClient: 'node',
      mix: [{ tool: 'notify-echo', args: { text: 'n' } }, { tool: 'ping-echo', args: { text: 'n' } }],
      calls: 300,
      sessions: 2,
      concurrency: 6,
    });
    const after = await stats(server.port);
    expect(r.calls).toEqual({ total: 300, ok: 300, errors: 0 });
    const d = delta(after.executed, before.executed);
    expect(d).toEqual({ 'notify-echo': r.perTool!['notify-echo']!.ok, 'ping-echo': r.perTool!['ping-echo']!.ok });
    expect(after.sessionsClosed - before.sessionsClosed).toBe(2);
  });

  it('warm-up calls are made first and kept out of the statistics', async () => {
    const before = await stats(server.port);
    const r = await runLoad({ url: url(), tool: 'echo', args: { text: 'w' }, calls: 200, warmupCalls: 40, concurrency: 5 });
    const after = await stats(server.port);
    expect(r.warmup).toMatchObject({ calls: 40, ok: 40 });
    expect(r.calls).toEqual({ total: 200, ok: 200, errors: 0 });
    expect(delta(after.executed, before.executed)).toEqual({ echo: 240 });
  });

  it('counts timeouts as errors of kind "timeout"', async () => {
    const r = await runLoad({ url: url(), tool: 'slow', args: { ms: 400 }, calls: 6, concurrency: 3, timeoutMs: 60 });
    expect(r.calls).toEqual({ total: 6, ok: 0, errors: 6 });
    expect(r.errorsByKind).toEqual({ timeout: 6 });
    expect(r.durationSec).toBeLessThan(0.4 * 2);
  });
});

describe('against a stateful SDK server answering in JSON, with injected failures', () => {
  let server: Spawned;
  beforeAll(async () => {
    server = await spawnServer([fixture('http-server.mjs'), '--json'], /LISTENING (\d+)/, {
      FAIL_EVERY: '9',
      RPC_ERROR_EVERY: '13',
    });
  });
  afterAll(() => server?.stop());

  const mix: MixEntry[] = [
    { tool: 'echo', args: { text: 'a' }, weight: 3 },
    { tool: 'fail', weight: 1 },
  ];

  it('classifies http, JSON-RPC and tool errors, per tool, reproducibly by seed', async () => {
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const r = await runLoad({ url, mix, seed: 7, calls: 900, sessions: 2, concurrency: 12 }); // C > S
    const s1 = await stats(server.port);
    expect(r.calls.total).toBe(900);
    expect(s1.toolCallPosts).toBe(900);
    expect(s1.replyTypes).toEqual({ 'application/json': s1.executed.echo! + s1.executed.fail! });
    // Every 9th tools/call POST got a 503; of the others every 13th a JSON-RPC error.
    const http503 = Math.floor(900 / 9);
    const rpc = Math.floor(900 / 13) - Math.floor(900 / (9 * 13));
    expect(r.errorsByKind).toEqual({ http_503: http503, 'rpc_-32001': rpc, tool_error: s1.executed.fail });
    expect(r.calls.ok).toBe(s1.executed.echo);
    expect(r.calls.errors).toBe(http503 + rpc + s1.executed.fail!);
    // The mix drawn is exactly the seeded sequence.
    const seq = pickSequence(mix, 7, 900);
    expect(r.perTool!.echo!.calls).toBe(seq.filter((t) => t === 'echo').length);
    expect(r.perTool!.fail!.calls).toBe(seq.filter((t) => t === 'fail').length);
    expect(r.perTool!.fail!.ok).toBe(0);
    expect(r.perTool!.echo!.ok).toBe(r.calls.ok);
    expectOrderedLatency(r);

    const again = await runLoad({ url, mix, seed: 7, calls: 900, sessions: 3, concurrency: 5 });
    expect(again.perTool!.echo!.calls).toBe(r.perTool!.echo!.calls);
    expect(again.perTool!.fail!.calls).toBe(r.perTool!.fail!.calls);
    const other = await runLoad({ url, mix, seed: 8, calls: 900, concurrency: 5 });
    expect(other.perTool!.echo!.calls).toBe(pickSequence(mix, 8, 900).filter((t) => t === 'echo').length);
  });
});

describe("against the SDK's example server (simpleStreamableHttp)", () => {
  let server: Spawned;
  beforeAll(async () => {
    expect(existsSync(SDK_EXAMPLE)).toBe(true);
    const port = await freePort();
    // It binds every interface by default; the preload pins it to 127.0.0.1.
    server = await spawnServer(
      ['--import', new URL('./fixtures/loopback-only.mjs', import.meta.url).href, SDK_EXAMPLE],
      /listening on port (\d+)/,
      { MCP_PORT: String(port) },
    );
    expect(server.port).toBe(port);
  });
  afterAll(() => server?.stop());

  // The example logs one "Received MCP request for session" line per POST carrying a session id:
  // the notifications/initialized of each session, the one tools/list the load generator checks
  // the tools with, plus every tools/call that reached it.
  const received = (): number => server.output().split('Received MCP request for session').length - 1;

  it('runs with --calls and --duration; the server saw exactly the calls reported', async () => {
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const base = received();
    const r1 = await runLoad({ url, tool: 'greet', args: { name: 'bench' }, calls: 300, sessions: 2, concurrency: 4 });
    expect(r1.calls).toEqual({ total: 300, ok: 300, errors: 0 });
    expect(received() - base).toBe(2 + 1 + 300);
    expect(server.output()).toContain('Received session termination request');

    const base2 = received();
    const r2 = await runLoad({ url, tool: 'greet', args: { name: 'bench' }, durationSec: 1, sessions: 3, concurrency: 6 });
    expect(r2.calls.errors).toBe(0);
    expect(r2.calls.ok).toBeGreaterThan(20);
    expect(received() - base2).toBe(3 + 1 + r2.calls.ok);
    expectOrderedLatency(r2);
  });
});

describe('--stdio', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-stdio-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('multiplexes concurrent calls on one process, answers pings, and counts exactly', async () => {
    const countFile = join(dir, 'counts-1.json');
    const mix: MixEntry[] = [
      { tool: 'echo', args: { text: 'x' }, weight: 1 },
      { tool: 'ping-echo', args: { text: 'p' }, weight: 1 },
      { tool: 'fail', weight: 1 },
      { tool: 'echo', args: { text: 'same tool, other args' }, weight: 1 },
    ];
    const r = await runLoad({
      stdio: [process.execPath, fixture('stdio-server.mjs'), '--count-file', countFile],
      mix,
      calls: 1500,
      concurrency: 16,
      seed: 3,
    });
    const executed = JSON.parse(readFileSync(countFile, 'utf8')) as Record<string, number>;
    expect(r.transport).toBe('stdio');
    expect(r.sessions).toBe(1);
    expect(r.calls.total).toBe(1500);
    expect(r.errorsByKind).toEqual({ tool_error: executed.fail });
    expect(r.calls.ok).toBe(executed.echo! + executed['ping-echo']!);
    const seq = pickSequence(mix, 3, 1500);
    for (const tool of ['echo', 'ping-echo', 'fail']) {
      expect(executed[tool]).toBe(seq.filter((t) => t === tool).length);
      expect(r.perTool![tool]!.calls).toBe(executed[tool]);
    }
    expect(Object.keys(r.perTool!).sort()).toEqual(['echo', 'fail', 'ping-echo']);
    expect(r.sessionCreateMs.max).toBeGreaterThan(0);
    expectOrderedLatency(r);
  });

  it('works from the command line with --duration and a quoted command', async () => {
    const countFile = join(dir, 'counts 2.json');
    const io = captureIO();
    const cmd = `"${process.execPath}" "${fixture('stdio-server.mjs')}" --count-file "${countFile}"`;
    const argv = ['--stdio', cmd, '--tool', 'echo', '--args', '{"text":"d"}', '--duration', '1', '--concurrency', '8', '--json'];
    expect(await benchCommand(argv, io)).toBe(0);
    const r = JSON.parse(io.out) as LoadResult;
    const executed = JSON.parse(readFileSync(countFile, 'utf8')) as Record<string, number>;
    expect(r.calls.errors).toBe(0);
    expect(r.calls.ok).toBeGreaterThan(50);
    expect(executed).toEqual({ echo: r.calls.ok });
  });

  it('stops and says so when the server process dies mid-run', async () => {
    const script = join(dir, 'dies.mjs');
    // Answers initialize, then exits on the 20th tools/call without answering it.
    writeFileSync(
      script,
      `let n = 0; let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c; let i;
  while ((i = buf.indexOf('\\n')) !== -1) {
    const m = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
    if (m.method === 'initialize') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'd', version: '1' } } }) + '\\n');
    if (m.method === 'tools/list') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { tools: [{ name: 'x', inputSchema: { type: 'object' } }] } }) + '\\n');
    if (m.method === 'tools/call' && ++n === 20) process.exit(1);
    if (m.method === 'tools/call') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { content: [] } }) + '\\n');
  }
});`,
    );
    const r = await runLoad({ stdio: [process.execPath, script], tool: 'x', durationSec: 20, concurrency: 1 });
    expect(r.aborted).toBe('conn_child_exited');
    expect(r.calls).toEqual({ total: 20, ok: 19, errors: 1 });
    expect(r.errorsByKind).toEqual({ conn_child_exited: 1 });
    expect(r.durationSec).toBeLessThan(10);
  });
});

describe('spreadCallers', () => {
  it('exercises every session when there are more sessions than callers (100 × 50)', () => {
    const sessions = Array.from({ length: 100 }, (_, i) => i);
    const shares = spreadCallers(sessions, 50);
    expect(shares).toHaveLength(50);
    expect(shares.flat().sort((a, b) => a - b)).toEqual(sessions); // each session once, none left out
    expect(shares.every((s) => s.length === 2)).toBe(true);
  });
  it('shares sessions round-robin when there are more callers than sessions (20 × 40)', () => {
    const shares = spreadCallers(['a', 'b', 'c', 'd'], 10);
    expect(shares.map((s) => s.length)).toEqual(Array(10).fill(1));
    expect(shares.flat()).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd', 'a', 'b']);
  });
});
