/**
 * What the outside testers of 169acb3 found at the edge, each through the real server on raw HTTP:
 * HEAD on the endpoint, a slow or absent reader of an SSE stream, a failed initialize, params that
 * fail the schema, a second Host header, the operational endpoints behind the same Host/Origin
 * allowlist, a cancelled runaway, and a toolset's log messages without the `everything` toolset.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { ACCEPT, PROTOCOL_VERSION, callTool, initializeRequest, openSession, request, send, structured } from '../support/mcp-http.js';
import { ADMIN_TOKEN, metric, untilRunning, waitFor } from '../support/wait.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['diagnostics'],
    config: {
      admin: { token: ADMIN_TOKEN }, // untilRunning reads the mailboxes on /sessions
      http: { sseMaxBufferedBytes: 256 * 1024 },
      warmPool: { min: 2, max: 4 },
      sessions: { deadlineGraceMs: 300, requestTimeoutMs: 20_000 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** One raw HTTP/1.1 exchange on its own socket (headers exactly as given); resolves with the status line and head. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      out += d;
      if (out.includes('\r\n\r\n')) {
        sock.destroy();
        resolve(out);
      }
    });
    sock.on('error', reject);
  });
}

/** The server's own memory figures from /metrics (main thread: external + array buffers). */
async function externalBytes(): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  return Number(/^nodejs_external_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('HEAD and bounded streams', () => {
  it('HEAD on the endpoint is 405 and opens nothing: a GET stream can still be opened afterwards', async () => {
    const s = await openSession(server.url);
    const head = await fetch(server.url, { method: 'HEAD', headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION } });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST, DELETE');
    const ctl = new AbortController();
    const get = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION }, signal: ctl.signal });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toContain('text/event-stream');
    ctl.abort();
  });

  it('a GET stream whose client stops reading is dropped at http.sseMaxBufferedBytes; memory stays bounded and the client resumes with Last-Event-ID', async () => {
    const s = await openSession(server.url);
    // A client that opens the standalone stream and never reads it (its socket stops consuming).
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpRequest(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION } }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    res.socket.pause();
    const before = await externalBytes();
    // 60 server-initiated messages of 100 KB each: 6 MB for a stream that can hold 256 KB.
    const text = 'x'.repeat(100_000);
    for (let i = 0; i < 60; i++) structured(await callTool(server.url, s, 'notify_later', { ms: 0, text }));
    const dropped = await waitFor('the stream to be dropped', async () => (await metric(server, 'mcp_actors_sse_streams_dropped_total')) || false, 10_000).catch(() => 0);
    expect(dropped).toBeGreaterThanOrEqual(1);
    const after = await externalBytes();
    // Bounded: the messages went to the event store (4 MB cap) and the dropped stream's queue was freed.
    expect(after - before).toBeLessThan(12 * 1024 * 1024);
    expect(server.logs().some((l) => l.msg === 'SSE stream dropped: its client is not reading (it may resume with Last-Event-ID)')).toBe(true);
    res.destroy();
    // The session keeps working, and the client resumes from the stream's first event id: what the
    // bounded event store still holds is replayed (no 409 for the stream that was dropped).
    expect(structured(await callTool(server.url, s, 'echo', { text: 'still here' })).text).toBe('still here');
    const ctl = new AbortController();
    const again = await fetch(server.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION, 'last-event-id': 'g_0' },
      signal: ctl.signal,
    });
    expect(again.status).toBe(200);
    const reader = again.body!.getReader();
    let got = '';
    while (!got.includes(`"data":"${text}"`)) {
      const { value, done } = await reader.read();
      if (done) break;
      got += Buffer.from(value).toString('utf8');
    }
    ctl.abort();
    expect(got).toContain('notifications/message');
  });
});

describe('answers the specs require', () => {
  it('a failed initialize gets its JSON-RPC error and no Mcp-Session-Id', async () => {
    for (const params of [undefined, { protocolVersion: 7 }, { garbage: true }]) {
      const res = await send(server.url, params === undefined ? { jsonrpc: '2.0', id: 1, method: 'initialize' } : request('initialize', params));
      expect(res.json.error.code).toBe(-32602);
      expect(res.headers.get('mcp-session-id')).toBeNull();
    }
    const ok = await send(server.url, initializeRequest());
    expect(ok.headers.get('mcp-session-id')).toMatch(/^[\x21-\x7e]{16,}$/);
  });

  it('params that fail the schema are -32602 Invalid params naming the field, not -32603 with a zod dump', async () => {
    const s = await openSession(server.url);
    const cases: Array<[string, Record<string, unknown> | undefined, RegExp]> = [
      ['tools/call', {}, /name/],
      ['tools/call', { name: 5 }, /name: .*expected string/],
      ['tools/call', { name: { x: 1 } }, /name/],
      ['resources/read', { uri: 5 }, /uri/],
      ['logging/setLevel', { level: 'loud' }, /level/],
      ['logging/setLevel', {}, /level/],
      ['prompts/get', { name: [] }, /name/],
    ];
    for (const [method, params, field] of cases) {
      const res = await send(server.url, request(method, params), { session: s });
      expect(res.status).toBe(200);
      expect(res.json.error.code, `${method} ${JSON.stringify(params)}`).toBe(-32602);
      expect(res.json.error.message).toMatch(new RegExp(`^Invalid params for ${method.replace('/', '\\/')}: `));
      expect(res.json.error.message).toMatch(field);
      expect(res.json.error.message.length).toBeLessThan(400);
      expect(res.json.error.message).not.toMatch(/"code":|\[\s*\{/); // no raw zod issue list
    }
    expect(structured(await callTool(server.url, s, 'echo', { text: 'fine' })).text).toBe('fine');
  });

  it('two Host headers are refused with 400 (RFC 9112); one is served', async () => {
    const port = new URL(server.url).port;
    const body = JSON.stringify(initializeRequest());
    const head = (hosts: string[]) =>
      `POST /mcp HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}Content-Type: application/json\r\nAccept: ${ACCEPT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    expect(await raw(Number(port), head([`127.0.0.1:${port}`, 'evil.example']))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(Number(port), head([`127.0.0.1:${port}`]))).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('/health, /metrics and /sessions are behind the same Host and Origin allowlist as /mcp', async () => {
    // (fetch cannot set Host; node:http can)
    const get = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${server.origin}${path}`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of ['/health', '/metrics', '/sessions', '/mcp']) {
      expect(await get(path, { host: 'rebind.example' }), `${path} with a foreign Host`).toBe(403);
      expect(await get(path, { origin: 'http://rebind.example' }), `${path} with a foreign Origin`).toBe(403);
    }
    expect(await get('/health', {})).toBe(200);
  });
});

describe('actors', () => {
  it('a cancelled runaway gets the grace period, then its thread is replaced: the next call does not wait for the deadline', async () => {
    const s = await openSession(server.url);
    const id = 'runaway-1';
    const hung = send(server.url, request('tools/call', { name: 'hang', arguments: {} }, id), { session: s });
    await untilRunning(server, s);
    const ack = await send(server.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'client timeout' } }, { session: s });
    expect(ack.status).toBe(202);
    const t0 = Date.now();
    const cancelled = await hung;
    expect(cancelled.json.error.data.code).toBe('REQUEST_CANCELLED');
    expect(structured(await callTool(server.url, s, 'echo', { text: 'after' })).text).toBe('after');
    // grace 300 ms + a thread restart, not the 20 s deadline
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(server.logs().some((l) => String(l.msg).includes('grace period after it was cancelled'))).toBe(true);
  });

  it('notify_later reaches the client with only the diagnostics toolset loaded (it declares the logging capability)', async () => {
    const init = await send(server.url, initializeRequest());
    expect(init.json.result.capabilities.logging).toEqual({});
    const s = init.headers.get('mcp-session-id')!;
    await send(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session: s });
    const ctl = new AbortController();
    const stream = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION }, signal: ctl.signal });
    const reader = stream.body!.getReader();
    structured(await callTool(server.url, s, 'notify_later', { ms: 50, text: 'hello later' }));
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes('hello later') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    ctl.abort();
    expect(text).toContain('"method":"notifications/message"');
    expect(text).toContain('hello later');
  });
});
