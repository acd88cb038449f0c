/**
 * The hardened edge, on the wire: slow and oversized requests (raw sockets), malformed bodies,
 * the SSE stream cap, and tool results that cannot cross the thread boundary.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { ACCEPT, PROTOCOL_VERSION, callTool, openSession, parseSse, request, send, structured } from '../support/mcp-http.js';
import { waitFor } from '../support/wait.js';

let server: ServerProcess;
let port: number;
let bystander: string;

const HEADERS_TIMEOUT = 600;
const REQUEST_TIMEOUT = 1_500;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['everything', 'diagnostics'],
    config: {
      http: {
        headersTimeoutMs: HEADERS_TIMEOUT,
        requestTimeoutMs: REQUEST_TIMEOUT,
        maxHeaderBytes: 8 * 1024,
        maxBodyBytes: 64 * 1024,
        maxJsonDepth: 32,
        maxSseStreamsPerSession: 2,
      },
      sessions: { hibernateAfterMs: 0 },
      warmPool: { min: 2, max: 4 },
    },
  });
  port = Number(new URL(server.url).port);
  bystander = await openSession(server.url);
});
afterAll(async () => {
  await server?.stop();
});

async function bystanderStillWorks(): Promise<void> {
  expect(structured(await callTool(server.url, bystander, 'echo', { text: 'still here' })).text).toBe('still here');
  expect((await fetch(`${server.origin}/health`)).status).toBe(200);
}

interface RawResult {
  /** Everything the server wrote before closing (or before `waitMs`). */
  text: string;
  status: number | undefined;
  /** The server closed the connection (rather than the wait running out). */
  closed: boolean;
  ms: number;
}

/**
 * Opens a socket, writes `parts` with `gapMs` between them, then waits up to `waitMs` for the
 * server to answer and close.
 */
function raw(parts: Array<string | Buffer>, opts: { gapMs?: number; waitMs?: number; end?: boolean } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : undefined, closed, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5_000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs)); // deliberate: a slow client
        if (sock.destroyed) return;
        sock.write(p);
      }
      if (opts.end) sock.end();
    });
  });
}

function head(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const postHead = (extra: string[] = [], contentLength?: number) =>
  [
    'POST /mcp HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Accept: ${ACCEPT}`,
    'Content-Type: application/json',
    ...(contentLength === undefined ? [] : [`Content-Length: ${contentLength}`]),
    ...extra,
  ];

describe('slow requests (slowloris)', () => {
  it('408 and close when the headers trickle in slower than http.headersTimeoutMs', async () => {
    const parts = ['POST /mcp HTTP/1.1\r\n', `Host: 127.0.0.1:${port}\r\n`, ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: a\r\n`)];
    const r = await raw(parts, { gapMs: 100, waitMs: 4_000 });
    expect(r.closed).toBe(true);
    expect(r.status).toBe(408);
    expect(r.ms).toBeLessThan(HEADERS_TIMEOUT + 1_000);
    await bystanderStillWorks();
  });

  it('closes a connection that sends nothing at all', async () => {
    const r = await raw([], { waitMs: 4_000 });
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(HEADERS_TIMEOUT + 1_000);
  });

  it('408 and close when the body trickles in slower than http.requestTimeoutMs', async () => {
    const body = JSON.stringify(request('tools/list'));
    const parts = [head(postHead([`Mcp-Session-Id: ${bystander}`], body.length + 1_000)), ...Array.from({ length: 60 }, () => ' ')];
    const r = await raw(parts, { gapMs: 50, waitMs: 5_000 });
    expect(r.closed).toBe(true);
    expect(r.status).toBe(408);
    expect(r.ms).toBeLessThan(REQUEST_TIMEOUT + 1_000);
    await bystanderStillWorks();
  });

  it('does not cut a response that takes longer than the request timeout (only receiving is timed)', async () => {
    const t0 = performance.now();
    const res = await callTool(server.url, bystander, 'sleep', { ms: REQUEST_TIMEOUT + 500 });
    expect(structured(res).sleptMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT + 490);
    expect(performance.now() - t0).toBeGreaterThan(REQUEST_TIMEOUT);
  });

  it('keeps an open SSE stream past both timeouts', async () => {
    const s = await openSession(server.url);
    const res = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION } });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT + 600)); // deliberate: both timeouts pass with the stream open
    await callTool(server.url, s, 'notify_later', { ms: 0, text: 'late but delivered' });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('late but delivered')) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect(text).toContain('late but delivered');
  });
});

describe('size limits', () => {
  it('431 for a request head over http.maxHeaderBytes', async () => {
    const r = await raw([head([...postHead([], 2), `X-Big: ${'a'.repeat(10 * 1024)}`]) + '{}'], { waitMs: 3_000 });
    expect(r.status).toBe(431);
    expect(r.closed).toBe(true);
    await bystanderStillWorks();
  });

  it('413 for a chunked body over the limit (no Content-Length to check up front), then the connection closes', async () => {
    const chunk = 'a'.repeat(16 * 1024);
    const parts = [head([...postHead([`Mcp-Session-Id: ${bystander}`]), 'Transfer-Encoding: chunked']), ...Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`)];
    const r = await raw(parts, { gapMs: 5, waitMs: 4_000 });
    expect(r.status).toBe(413);
    expect(r.text).toContain('"code":-32000');
    await bystanderStillWorks();
  });

  it('413 at once for a declared Content-Length over the limit', async () => {
    const r = await raw([head(postHead([`Mcp-Session-Id: ${bystander}`], 10_000_000))], { waitMs: 3_000 });
    expect(r.status).toBe(413);
  });

  it('survives a body cut short (Content-Length larger than what arrives, then the client hangs up)', async () => {
    const body = JSON.stringify(request('tools/call', { name: 'echo', arguments: { text: 'cut' } }));
    for (let i = 0; i < 20; i++) {
      const r = await raw([head(postHead([`Mcp-Session-Id: ${bystander}`], body.length + 50)), body.slice(0, 10 + i)], { end: true, waitMs: 500 });
      expect(r.status === undefined || (r.status >= 400 && r.status < 500)).toBe(true);
    }
    await bystanderStillWorks();
  });

  it('400 for malformed HTTP (bad header syntax, conflicting lengths, garbage)', async () => {
    const cases = [
      head(['POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Bad Header Name: x']),
      head(['POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Length: 5', 'Content-Length: 6']),
      head(['POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Length: abc']),
      head(['POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Transfer-Encoding: chunked', 'Content-Length: 3']) + '0\r\n\r\n',
      head(['POST /mcp HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Transfer-Encoding: chunked']) + 'zz\r\nabc\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n',
    ];
    for (const c of cases) {
      const r = await raw([c], { waitMs: 3_000 });
      expect(r.status, JSON.stringify(c)).toBe(400);
    }
    await bystanderStillWorks();
  });
});

describe('bodies', () => {
  it('400 (-32700) for a body that is not valid UTF-8', async () => {
    const prefix = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"');
    for (const bad of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]) {
      const body = Buffer.concat([prefix, Buffer.from(bad), Buffer.from('"}}}')]);
      const res = await send(server.url, body, { session: bystander });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe(-32700);
      expect(res.json.error.data.code).toBe('INVALID_UTF8');
    }
    await bystanderStillWorks();
  });

  it('400 TOO_DEEP past http.maxJsonDepth, without parsing it', async () => {
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`;
    const res = await send(server.url, deep, { session: bystander });
    expect(res.status).toBe(400);
    expect(res.json.error.data.code).toBe('TOO_DEEP');
    const unbalanced = '['.repeat(60_000);
    expect((await send(server.url, unbalanced, { session: bystander })).json.error.data.code).toBe('TOO_DEEP');
    await bystanderStillWorks();
  });

  it('400 for ids that are too long or not safe integers; the error names no id it could not read', async () => {
    for (const id of ['x'.repeat(257), 2 ** 60, 1.5, true, { a: 1 }, []]) {
      const res = await send(server.url, { jsonrpc: '2.0', id, method: 'tools/list' }, { session: bystander });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe(-32600);
      expect(res.json.id).toBeNull();
    }
    await bystanderStillWorks();
  });
});

describe('SSE streams per session', () => {
  it('429 with Retry-After for a GET stream beyond http.maxSseStreamsPerSession; a freed slot can be used again', async () => {
    const s = await openSession(server.url, { sampling: {} });
    const getHeaders = (extra: Record<string, string> = {}) => ({ accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION, ...extra });
    // A finished request stream to replay later.
    const progress = await send(server.url, request('tools/call', { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p' } }), { session: s });
    const finishedEventId = progress.events[0]!.id!; // replaying after it yields the rest, result included

    // Slot 1: the standalone GET stream.
    const standalone = await fetch(server.url, { headers: getHeaders() });
    expect(standalone.status).toBe(200);
    // Slot 2: a request stream held open by a sampling request the client has not answered.
    const controller = new AbortController();
    const sampling = fetch(server.url, {
      method: 'POST',
      headers: { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION },
      body: JSON.stringify(request('tools/call', { name: 'test_sampling', arguments: { prompt: 'hi' } }, 'sampling-call')),
      signal: controller.signal,
    });
    const samplingRes = await sampling;
    expect(samplingRes.headers.get('content-type')).toContain('text/event-stream');
    const reader = samplingRes.body!.getReader();
    let sseText = '';
    while (!sseText.includes('sampling/createMessage')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      sseText += new TextDecoder().decode(chunk.value);
    }
    const samplingRequest = parseSse(sseText).filter((e) => e.data.trim()).map((e) => JSON.parse(e.data)).find((m) => m.method === 'sampling/createMessage');

    // A third stream (replaying the finished request) is over the cap.
    const over = await fetch(server.url, { headers: getHeaders({ 'last-event-id': finishedEventId }) });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    const body = await over.json();
    expect(body.error.code).toBe(-32018);
    expect(body.error.data.code).toBe('TOO_MANY_STREAMS');
    // Resuming the standalone stream replaces it: no new slot needed.
    const resumed = await fetch(server.url, { headers: getHeaders({ 'last-event-id': 'g_0' }) });
    expect(resumed.status).toBe(200);

    // Answer the sampling request: the call finishes, its stream closes, the slot frees.
    const answer = await send(
      server.url,
      { jsonrpc: '2.0', id: samplingRequest.id, result: { role: 'assistant', content: { type: 'text', text: 'hello' }, model: 'test', stopReason: 'endTurn' } },
      { session: s },
    );
    expect(answer.status).toBe(202);
    let rest = sseText;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toContain('LLM response: hello');
    // The server frees a slot as it closes a stream (the sampling one has just ended; the standalone
    // one `resumed` replaced, once its response is over): wait until a GET is no longer over the cap.
    const replay = await waitFor('a free stream slot', async () => {
      const r = await fetch(server.url, { headers: getHeaders({ 'last-event-id': finishedEventId }) });
      if (r.status !== 429) return r;
      await r.body?.cancel();
      return undefined;
    }, 5_000);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('"result"');
    await standalone.body?.cancel();
    await resumed.body?.cancel();
    controller.abort();
  });
});

describe('tool results that cannot cross the thread boundary', () => {
  it('a cycle, a BigInt and an oversized result each get a clear JSON-RPC error; the session and its thread carry on', async () => {
    const s = await openSession(server.url);
    const before = structured(await callTool(server.url, s, 'whoami'));
    for (const kind of ['cycle', 'bigint', 'oversized']) {
      const res = await callTool(server.url, s, 'bad_result', { kind }, `bad-${kind}`);
      expect(res.status).toBe(200);
      expect(res.json.id).toBe(`bad-${kind}`);
      expect(res.json.error.code).toBe(-32603);
      expect(res.json.error.data.code).toBe('RESULT_NOT_TRANSFERABLE');
      expect(res.json.error.message).toMatch(/thread boundary: .{10,}/);
    }
    const after = structured(await callTool(server.url, s, 'whoami'));
    expect(after.threadId).toBe(before.threadId); // no crash, no restart
    expect(after.executed).toBe(before.executed + 1);
    await bystanderStillWorks();
  });

  // JSON.stringify would silently drop functions and symbols; PortTransport's strict replacer
  // refuses them, so the client gets an error instead of a result with a value missing.
  it('a function in a result gets a clear JSON-RPC error (not silently dropped)', async () => {
    const s = await openSession(server.url);
    const res = await callTool(server.url, s, 'bad_result', { kind: 'function' });
    expect(res.json.error?.data?.code).toBe('RESULT_NOT_TRANSFERABLE');
  });
  it('a symbol in a result gets a clear JSON-RPC error (not silently dropped)', async () => {
    const s = await openSession(server.url);
    const res = await callTool(server.url, s, 'bad_result', { kind: 'symbol' });
    expect(res.json.error?.data?.code).toBe('RESULT_NOT_TRANSFERABLE');
  });
});
