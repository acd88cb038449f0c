/**
 * The Streamable HTTP edge on the wire: every bad input gets its status and a JSON-RPC error
 * body, and the server keeps serving other sessions; SSE streams, resumption and keep-alives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { ACCEPT, PROTOCOL_VERSION, callTool, initializeRequest, openSession, parseSse, request, send, structured } from '../support/mcp-http.js';
import { ADMIN_TOKEN, untilAccepted } from '../support/wait.js';

let server: ServerProcess;
let bystander: string;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['everything', 'diagnostics'],
    config: { admin: { token: ADMIN_TOKEN }, http: { maxBodyBytes: 64 * 1024, sseKeepAliveMs: 200 }, warmPool: { min: 2, max: 4 } },
  });
  bystander = await openSession(server.url);
});
afterAll(async () => {
  await server?.stop();
});

/** The other session keeps working after each bad input. */
async function bystanderStillWorks(): Promise<void> {
  expect(structured(await callTool(server.url, bystander, 'echo', { text: 'ok' })).text).toBe('ok');
}

function expectRpcError(res: { status: number; json: any; headers: Headers }, status: number, code: number): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.json.jsonrpc).toBe('2.0');
  expect(res.json.error.code).toBe(code);
  expect(typeof res.json.error.message).toBe('string');
  expect(res.json.error.message.length).toBeGreaterThan(5);
}

describe('sessions', () => {
  it('mints a visible-ASCII session id at initialize and returns it in Mcp-Session-Id', async () => {
    const res = await send(server.url, initializeRequest());
    expect(res.status).toBe(200);
    const id = res.headers.get('mcp-session-id')!;
    expect(id).toMatch(/^[\x21-\x7e]{16,}$/);
    expect(res.json.result.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(res.json.result.serverInfo.name).toBe('mcp-actors');
  });

  it('400 for a non-initialize request without a session id', async () => {
    expectRpcError(await send(server.url, request('tools/list')), 400, -32000);
    await bystanderStillWorks();
  });

  it('404 (-32001) for an unknown session', async () => {
    expectRpcError(await send(server.url, request('tools/list'), { session: 'no-such-session' }), 404, -32001);
    await bystanderStillWorks();
  });

  it('DELETE ends the session, retires its actor, and it answers 404 afterwards', async () => {
    const s = await openSession(server.url);
    expect(structured(await callTool(server.url, s, 'alloc', { mb: 4 })).retainedMb).toBe(4);
    const before = structured(await callTool(server.url, s, 'whoami'));
    const del = await send(server.url, undefined, { session: s, method: 'DELETE' });
    expect(del.status).toBe(200);
    expectRpcError(await callTool(server.url, s, 'whoami'), 404, -32001);
    expectRpcError(await send(server.url, undefined, { session: s, method: 'DELETE' }), 404, -32001);
    // Whatever thread serves the next sessions, none carries the ended session's actor: fresh
    // state (whoami counts from 1) and a fresh heap (alloc totals start from zero).
    for (let i = 0; i < 3; i++) {
      const next = await openSession(server.url);
      const who = structured(await callTool(server.url, next, 'whoami'));
      expect(who.executed).toBe(1);
      expect(who.sessionId).toBe(next);
      expect(structured(await callTool(server.url, next, 'alloc', { mb: 1 })).retainedMb).toBe(1);
      if (who.threadId === before.threadId) break;
    }
    await bystanderStillWorks();
  });

  it('with warmPool.maxReuses = 1 a thread never serves a second session', async () => {
    const strict = await startServer({ toolsets: ['diagnostics'], config: { warmPool: { min: 1, max: 2, maxReuses: 1 } } });
    try {
      const threads = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const s = await openSession(strict.url);
        threads.add(structured(await callTool(strict.url, s, 'whoami')).threadId);
        expect((await send(strict.url, undefined, { session: s, method: 'DELETE' })).status).toBe(200);
      }
      expect(threads.size).toBe(3);
    } finally {
      await strict.stop();
    }
  });

  it('refuses initialize on an existing session', async () => {
    expectRpcError(await send(server.url, initializeRequest(), { session: bystander }), 400, -32600);
    await bystanderStillWorks();
  });
});

describe('bad input', () => {
  it('400 for an unsupported MCP-Protocol-Version', async () => {
    expectRpcError(await send(server.url, request('tools/list'), { session: bystander, protocolVersion: '1999-01-01' }), 400, -32000);
    await bystanderStillWorks();
  });

  it('accepts the older revisions in MCP-Protocol-Version', async () => {
    for (const v of ['2025-06-18', '2025-03-26']) {
      const res = await send(server.url, request('tools/list'), { session: bystander, protocolVersion: v });
      expect(res.status).toBe(200);
      expect(res.json.result.tools.length).toBeGreaterThan(0);
    }
  });

  it('406 when the client does not accept both JSON and SSE', async () => {
    expectRpcError(await send(server.url, request('tools/list'), { session: bystander, accept: 'application/json' }), 406, -32000);
    expectRpcError(await send(server.url, request('tools/list'), { session: bystander, accept: 'text/html' }), 406, -32000);
    // A wildcard (what curl and fetch send by default) covers both types.
    expect((await send(server.url, request('tools/list'), { session: bystander, accept: '*/*' })).status).toBe(200);
    await bystanderStillWorks();
  });

  it('415 for a body that is not application/json', async () => {
    expectRpcError(await send(server.url, JSON.stringify(request('tools/list')), { session: bystander, contentType: 'text/plain' }), 415, -32000);
    await bystanderStillWorks();
  });

  it('400 with -32700 for malformed JSON', async () => {
    expectRpcError(await send(server.url, '{"jsonrpc":"2.0", "id": 1, "method": ', { session: bystander }), 400, -32700);
    await bystanderStillWorks();
  });

  it('400 for JSON-RPC batches', async () => {
    const res = await send(server.url, [request('tools/list'), request('tools/list')], { session: bystander });
    expectRpcError(res, 400, -32600);
    expect(res.json.error.message).toMatch(/batch/i);
    await bystanderStillWorks();
  });

  it('400 with -32600 for messages that are not JSON-RPC', async () => {
    for (const body of [{ jsonrpc: '1.0', id: 1, method: 'x' }, { id: 1, method: 'tools/list' }, { jsonrpc: '2.0', id: null, method: 'x' }, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: [1] }, 42, 'hello']) {
      expectRpcError(await send(server.url, JSON.stringify(body), { session: bystander }), 400, -32600);
    }
    await bystanderStillWorks();
  });

  it('413 for a body over the configured limit', async () => {
    const big = request('tools/call', { name: 'echo', arguments: { text: 'x'.repeat(70 * 1024) } });
    expectRpcError(await send(server.url, big, { session: bystander }), 413, -32000);
    await bystanderStillWorks();
  });

  it('405 for other methods on the endpoint', async () => {
    const res = await send(server.url, undefined, { method: 'PUT', session: bystander });
    expectRpcError(res, 405, -32000);
    expect(res.headers.get('allow')).toContain('POST');
  });

  it('403 for a foreign Host or Origin (DNS rebinding), 200 for loopback ones', async () => {
    // fetch cannot forge Host; use node:http for these.
    const { request: httpRequest } = await import('node:http');
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = JSON.stringify(initializeRequest());
        const req = httpRequest(server.url, { method: 'POST', headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const port = new URL(server.url).port;
    const evil = await raw({ host: 'evil.example.com', origin: 'http://evil.example.com' });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.code).toBe(-32000);
    expect((await raw({ host: `127.0.0.1:${port}`, origin: 'http://evil.example.com' })).status).toBe(403);
    expect((await raw({ host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await raw({ host: `[::1]:${port}` })).status).toBe(200);
    await bystanderStillWorks();
  });

  it('answers CORS preflights for loopback origins and exposes Mcp-Session-Id to browsers', async () => {
    const origin = 'http://localhost:6274';
    const pre = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/mcp-session-id/);
    const init = await send(server.url, initializeRequest(), { headers: { origin } });
    expect(init.status).toBe(200);
    expect(init.headers.get('access-control-allow-origin')).toBe(origin);
    expect(init.headers.get('access-control-expose-headers')).toMatch(/mcp-session-id/);
    // A foreign origin gets no CORS grant: it is refused outright.
    const evil = await fetch(server.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('400 for a request id already in flight in the session', async () => {
    const slow = callTool(server.url, bystander, 'sleep', { ms: 400 }, 'dup-id');
    await untilAccepted(server, { [bystander]: [slow] });
    expectRpcError(await callTool(server.url, bystander, 'echo', { text: 'x' }, 'dup-id'), 400, -32600);
    expect(structured(await slow).sleptMs).toBeGreaterThanOrEqual(395);
  });
});

describe('responses and streams', () => {
  it('answers a plain request as application/json and a request with progress as an SSE stream', async () => {
    const json = await send(server.url, request('tools/call', { name: 'test_simple_text', arguments: {} }), { session: bystander });
    expect(json.headers.get('content-type')).toContain('application/json');
    const sse = await send(server.url, request('tools/call', { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p1' } }), { session: bystander });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const messages = sse.events.filter((e) => e.data.trim()).map((e) => JSON.parse(e.data));
    expect(messages.filter((m) => m.method === 'notifications/progress').length).toBeGreaterThanOrEqual(3);
    expect(messages.at(-1).result).toBeTruthy();
    expect(sse.events.every((e) => e.id)).toBe(true); // every event is resumable
  });

  it('allows one standalone GET stream per session (409 for a second) and needs Accept: text/event-stream', async () => {
    const s = await openSession(server.url);
    const headers = { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': PROTOCOL_VERSION };
    const first = await fetch(server.url, { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    const second = await fetch(server.url, { headers });
    expect(second.status).toBe(409);
    expect((await second.json()).error.code).toBe(-32000);
    const noAccept = await fetch(server.url, { headers: { ...headers, accept: 'application/json' } });
    expect(noAccept.status).toBe(406);
    await first.body!.cancel();
  });

  it('sends keep-alive comments on an idle SSE stream', async () => {
    const s = await openSession(server.url);
    const res = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s } });
    const reader = res.body!.getReader();
    let text = '';
    const until = Date.now() + 900;
    while (Date.now() < until) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), until - Date.now()))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect((text.match(/^: keep-alive$/gm) ?? []).length).toBeGreaterThanOrEqual(2);
  });

  it('resumes a request stream closed mid-call with Last-Event-ID and delivers the result', async () => {
    const s = await openSession(server.url);
    const post = await send(server.url, request('tools/call', { name: 'test_reconnection', arguments: {} }, 'reconnect-1'), { session: s });
    expect(post.headers.get('content-type')).toContain('text/event-stream');
    // Priming event first (an id, a retry hint, empty data); then the server closed the stream without a result.
    expect(post.events[0]!.id).toBeTruthy();
    expect(post.events[0]!.retry).toBeGreaterThan(0);
    expect(post.events[0]!.data).toBe('');
    expect(post.json).toBeUndefined();
    const resumed = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'last-event-id': post.events.at(-1)!.id! } });
    expect(resumed.status).toBe(200);
    const events = parseSse(await resumed.text()).filter((e) => e.data.trim());
    const result = JSON.parse(events.at(-1)!.data);
    expect(result.id).toBe('reconnect-1');
    expect(result.result).toBeTruthy();
  });

  it('400 for a Last-Event-ID the server never issued', async () => {
    const res = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': bystander, 'last-event-id': 'nonsense' } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(-32000);
  });

  it('delivers server messages sent while no GET stream was open once one opens', async () => {
    const s = await openSession(server.url);
    expect(structured(await callTool(server.url, s, 'notify_later', { ms: 20, text: 'sent-while-nobody-listened' })).scheduledInMs).toBe(20);
    // Wait until the message has been sent: a 20 ms sleep started after notify_later's 20 ms timer
    // fires after it on the session's thread, and the thread's messages reach the server in order,
    // so once the sleep is answered the notification is in the session's event store.
    structured(await callTool(server.url, s, 'sleep', { ms: 20 }));
    const res = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('sent-while-nobody-listened')) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    const message = parseSse(text).filter((e) => e.data.trim()).map((e) => JSON.parse(e.data)).find((m) => m.method === 'notifications/message');
    expect(message?.params.data).toBe('sent-while-nobody-listened');
  });

  it('delivers a server message live on an open GET stream', async () => {
    const s = await openSession(server.url);
    const res = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s } });
    const reader = res.body!.getReader();
    await callTool(server.url, s, 'notify_later', { ms: 0, text: 'live' });
    let text = '';
    while (!text.includes('"live"')) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect(text).toContain('"data":"live"');
  });
});
