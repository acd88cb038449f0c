/**
 * MCP 2026-07-28 on the wire, through the real server, beside 2025 sessions on the same endpoint:
 * era by body, the spec's error table (statuses and codes), removed methods, discover and cache
 * hints, SEP-2243 headers (Mcp-Name, Mcp-Param-*, the base64 sentinel), per-request logLevel and
 * progress, MRTR with a tampered requestState, and subscriptions/listen fed from any thread.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import {
  ACCEPT,
  MODERN_VERSION,
  callTool,
  envelope,
  modern,
  modernHeaders,
  modernRequest,
  modernTool,
  openSession,
  parseSse,
  send,
  type RawResponse,
} from '../support/mcp-http.js';
import { waitFor } from '../support/wait.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    toolsets: ['everything', 'diagnostics'],
    config: { cacheHints: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } } },
  });
});

afterAll(async () => {
  await server?.stop();
});

function ok(r: RawResponse): any {
  expect(r.status, r.text).toBe(200);
  expect(r.json.error, r.text).toBeUndefined();
  return r.json.result;
}

/** POSTs a body as is, with the given headers (for the malformed cases). */
function raw(body: unknown, headers: Record<string, string>): Promise<RawResponse> {
  return send(server.url, body, { headers });
}

describe('one endpoint, both eras', () => {
  it('serves a 2025 session and 2026-07-28 requests side by side; a session id on a 2026 request is ignored', async () => {
    const s = await openSession(server.url);
    expect(ok(await callTool(server.url, s, 'whoami')).structuredContent.actor).toBe('session');
    const r = await modernTool(server.url, 'whoami', {}, { headers: { 'mcp-session-id': s } });
    const result = ok(r);
    expect(result.structuredContent.actor).toBe('stateless');
    expect(result.resultType).toBe('complete');
    expect(result._meta['io.modelcontextprotocol/serverInfo'].name).toBe('mcp-actors');
  });

  it('answers server/discover with the versions, capabilities and cache hints', async () => {
    const d = ok(await modern(server.url, 'server/discover'));
    expect(d.supportedVersions).toEqual([MODERN_VERSION]);
    expect(d.capabilities.tools).toBeDefined();
    expect(d.capabilities.resources.subscribe).toBe(true);
    expect(d.ttlMs).toBe(0);
    expect(d.cacheScope).toBe('private');
    const list = ok(await modern(server.url, 'tools/list'));
    expect(list.ttlMs).toBe(60_000); // cacheHints from the configuration
    expect(list.cacheScope).toBe('public');
    expect(list.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['test_simple_text', 'whoami', 'open_handle']));
  });

  it('lists the same tools for every caller, on every thread, in both eras', async () => {
    const lists = await Promise.all(Array.from({ length: 6 }, () => modern(server.url, 'tools/list')));
    const names = lists.map((r) => JSON.stringify(ok(r).tools));
    expect(new Set(names).size).toBe(1);
    const s = await openSession(server.url);
    const legacy = await send(server.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { session: s });
    expect(JSON.stringify(legacy.json.result.tools.map((t: { name: string }) => t.name))).toBe(JSON.stringify(ok(lists[0]!).tools.map((t: { name: string }) => t.name)));
  });

  it('refuses GET and DELETE without a session (405) and accepts a 2026 notification (202)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await send(server.url, undefined, { method, accept: 'text/event-stream' });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
    }
    const n = await raw({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nothing', _meta: envelope() } }, { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'notifications/cancelled' });
    expect(n.status).toBe(202);
  });
});

describe('the error table of 2026-07-28', () => {
  it('-32602 (400) for a missing envelope field, or a 2026 header on a request without the envelope', async () => {
    for (const missing of ['io.modelcontextprotocol/protocolVersion', 'io.modelcontextprotocol/clientCapabilities']) {
      const meta = { ...envelope() };
      delete meta[missing];
      const body = { jsonrpc: '2.0', id: `m-${missing}`, method: 'server/discover', params: { _meta: meta } };
      const r = await raw(body, { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'server/discover' });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe(-32602);
      expect(r.json.id).toBe(`m-${missing}`);
    }
    const bare = await raw({ jsonrpc: '2.0', id: 'bare', method: 'tools/list' }, { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/list' });
    expect(bare.status).toBe(400);
    expect(bare.json.error.code).toBe(-32602);
    expect(bare.json.id).toBe('bare');
  });

  it('-32022 (400) with data.supported and data.requested for an unsupported revision', async () => {
    const body = { jsonrpc: '2.0', id: 'v', method: 'server/discover', params: { _meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } } };
    const r = await raw(body, { 'mcp-protocol-version': 'v999.0.0', 'mcp-method': 'server/discover' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(-32022);
    expect(r.json.error.data).toEqual({ supported: [MODERN_VERSION], requested: 'v999.0.0' });
  });

  it('-32020 (400) when headers and body disagree, or a required header is missing', async () => {
    const version = await raw(
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } } },
      { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/list' },
    );
    expect([version.status, version.json.error.code]).toEqual([400, -32020]);
    const body = modernRequest('tools/call', { name: 'echo', arguments: { text: 'x' } });
    const noMethod = await raw(body, { 'mcp-protocol-version': MODERN_VERSION, 'mcp-name': 'echo' });
    expect([noMethod.status, noMethod.json.error.code]).toEqual([400, -32020]);
    const wrongName = await raw(body, { ...modernHeaders(body as never), 'mcp-name': 'whoami' });
    expect([wrongName.status, wrongName.json.error.code]).toEqual([400, -32020]);
    expect(wrongName.json.error.data.mismatch).toEqual({ header: 'whoami', body: 'echo' });
  });

  it('decodes a =?base64?…?= Mcp-Name; a value missing the suffix is literal', async () => {
    const r = await modernTool(server.url, 'echo', { text: 'x' }, { headers: { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` } });
    expect(ok(r).structuredContent.text).toBe('x');
    const broken = await modernTool(server.url, 'echo', { text: 'x' }, { headers: { 'mcp-name': '=?base64?!!!?=' } });
    expect([broken.status, broken.json.error.code]).toEqual([400, -32020]);
  });

  it('checks Mcp-Param-* headers against x-mcp-header arguments', async () => {
    const good = await modernTool(server.url, 'test_x_mcp_header', { region: 'eu-west' }, { headers: { 'mcp-param-region': 'eu-west' } });
    expect(JSON.stringify(ok(good).content)).toContain('region=eu-west');
    const missing = await modernTool(server.url, 'test_x_mcp_header', { region: 'eu-west' });
    expect([missing.status, missing.json.error.code]).toEqual([400, -32020]);
    const wrong = await modernTool(server.url, 'test_x_mcp_header', { region: 'eu-west' }, { headers: { 'mcp-param-region': 'us-east' } });
    expect([wrong.status, wrong.json.error.code]).toEqual([400, -32020]);
    const encoded = await modernTool(server.url, 'test_x_mcp_header', { region: 'Zürich' }, { headers: { 'mcp-param-region': `=?base64?${Buffer.from('Zürich').toString('base64')}?=` } });
    expect(JSON.stringify(ok(encoded).content)).toContain('region=Zürich');
  });

  it('404 (-32601) for methods 2026-07-28 removed, and for unknown ones', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'unknown/method']) {
      const params = method === 'initialize' ? { protocolVersion: MODERN_VERSION, capabilities: {}, clientInfo: { name: 't', version: '1' } } : method === 'logging/setLevel' ? { level: 'info' } : method.startsWith('resources/') ? { uri: 'test://static-text' } : {};
      const r = await modern(server.url, method, params, { id: `x-${method}` });
      expect([method, r.status, r.json.error.code, r.json.id]).toEqual([method, 404, -32601, `x-${method}`]);
    }
  });

  it('-32021 (400) with data.requiredCapabilities for input the client did not declare', async () => {
    const r = await modernTool(server.url, 'test_missing_capability', {}, { capabilities: {} });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(-32021);
    expect(r.json.error.data.requiredCapabilities.sampling).toEqual({});
  });

  it('a 2026 header on an initialize is a mismatch (-32020); an initialize with a valid 2026 envelope is an unknown method', async () => {
    const init = { jsonrpc: '2.0', id: 'i', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const r = await raw(init, { 'mcp-protocol-version': MODERN_VERSION });
    expect([r.status, r.json.error.code]).toEqual([400, -32020]);
    expect(r.headers.get('mcp-session-id')).toBeNull();
  });
});

describe('per request: logging, progress, multi-round input', () => {
  it('sends log messages only when the request asks with _meta logLevel, on its own stream', async () => {
    const quiet = await modernTool(server.url, 'test_logging_tool');
    expect(quiet.events.filter((e) => e.data.includes('notifications/message'))).toHaveLength(0);
    const loud = await modernTool(server.url, 'test_logging_tool', {}, { meta: { 'io.modelcontextprotocol/logLevel': 'info' } });
    expect(loud.headers.get('content-type')).toContain('text/event-stream');
    expect(loud.events.filter((e) => e.data.includes('notifications/message')).length).toBeGreaterThan(0);
    expect(loud.json.result.resultType).toBe('complete');
  });

  it('streams progress on the request own SSE response, then the result', async () => {
    const r = await modernTool(server.url, 'test_tool_with_progress', {}, { meta: { progressToken: 'p-1' } });
    const progress = r.events.map((e) => JSON.parse(e.data)).filter((m) => m.method === 'notifications/progress');
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.every((p) => p.params.progressToken === 'p-1')).toBe(true);
    expect(r.json.result).toBeDefined();
  });

  it('completes a multi-round request with the signed requestState, and refuses a tampered one', async () => {
    const caps = { elicitation: {} };
    const first = ok(await modernTool(server.url, 'test_input_required_result_tampered_state', {}, { capabilities: caps }));
    expect(first.resultType).toBe('input_required');
    expect(typeof first.requestState).toBe('string');
    const key = Object.keys(first.inputRequests)[0]!;
    const answer = { [key]: { action: 'accept', content: { ok: true, confirm: true } } };
    const retry = (state: string) => modern(server.url, 'tools/call', { name: 'test_input_required_result_tampered_state', arguments: {}, inputResponses: answer, requestState: state }, { capabilities: caps });
    const tampered = await retry(`${first.requestState}-TAMPERED`);
    expect(tampered.status).toBe(200);
    expect(tampered.json.error.code).toBe(-32602);
    expect(tampered.json.error.message).toMatch(/requestState/);
    const done = ok(await retry(first.requestState));
    expect(done.resultType).toBe('complete');
  });

  it('refuses a requestState minted for another tool (bound to method and target)', async () => {
    const caps = { elicitation: {} };
    const first = ok(await modernTool(server.url, 'test_input_required_result_request_state', {}, { capabilities: caps }));
    const key = Object.keys(first.inputRequests)[0]!;
    const elsewhere = await modern(
      server.url,
      'tools/call',
      { name: 'test_input_required_result_tampered_state', arguments: {}, inputResponses: { [key]: { action: 'accept', content: { ok: true } } }, requestState: first.requestState },
      { capabilities: caps },
    );
    expect(elsewhere.json.error.code).toBe(-32602);
  });
});

describe('subscriptions/listen', () => {
  /** Opens a listen stream; returns a reader of its JSON-RPC messages and a closer. */
  async function listen(notifications: Record<string, unknown>, id: string | number) {
    const controller = new AbortController();
    const body = modernRequest('subscriptions/listen', { notifications }, { id });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...modernHeaders(body as never) },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const messages: any[] = [];
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          const cut = buffer.lastIndexOf('\n\n');
          if (cut < 0) continue;
          for (const e of parseSse(buffer.slice(0, cut + 2))) if (e.data.trim()) messages.push(JSON.parse(e.data));
          buffer = buffer.slice(cut + 2);
        }
      } catch {
        // aborted
      }
    })();
    return { messages, close: () => controller.abort() };
  }

  it('acknowledges first, tags every message with the subscription id, and sends only the kinds asked for — from any thread', async () => {
    const tools = await listen({ toolsListChanged: true }, 'sub-tools');
    const prompts = await listen({ promptsListChanged: true }, 42);
    try {
      await waitFor('both acknowledgements', () => tools.messages.length >= 1 && prompts.messages.length >= 1);
      expect(tools.messages[0].method).toBe('notifications/subscriptions/acknowledged');
      expect(tools.messages[0].params.notifications).toEqual({ toolsListChanged: true });
      expect(prompts.messages[0].params._meta['io.modelcontextprotocol/subscriptionId']).toBe(42);

      // Published from a state handle's actor thread, then from the stateless pool.
      const handle = ok(await modernTool(server.url, 'open_handle')).structuredContent.handle;
      ok(await modernTool(server.url, 'publish_event', { kind: 'tools_list_changed', handle }));
      ok(await modernTool(server.url, 'test_trigger_prompt_change'));
      await waitFor('the tools listener to get its change', () => tools.messages.some((m) => m.method === 'notifications/tools/list_changed'));
      await waitFor('the prompts listener to get its change', () => prompts.messages.some((m) => m.method === 'notifications/prompts/list_changed'));
      for (const m of tools.messages) expect(m.params._meta['io.modelcontextprotocol/subscriptionId']).toBe('sub-tools');
      expect(tools.messages.some((m) => m.method === 'notifications/prompts/list_changed')).toBe(false);
      expect(prompts.messages.some((m) => m.method === 'notifications/tools/list_changed')).toBe(false);
    } finally {
      tools.close();
      prompts.close();
    }
  });

  it('delivers a resource update only to the listeners of that uri; a 2025 session gets the list change on its GET stream', async () => {
    const watched = await listen({ resourceSubscriptions: ['test://watched-resource'] }, 'sub-res');
    const s = await openSession(server.url);
    const controller = new AbortController();
    const get = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': s, 'mcp-protocol-version': '2025-11-25' }, signal: controller.signal });
    expect(get.status).toBe(200);
    let legacyText = '';
    const legacyReader = get.body!.getReader();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await legacyReader.read();
          if (done) return;
          legacyText += new TextDecoder().decode(value);
        }
      } catch {
        // aborted
      }
    })();
    try {
      await waitFor('the acknowledgement', () => watched.messages.length >= 1);
      ok(await modernTool(server.url, 'publish_event', { kind: 'resource_updated', uri: 'test://other' }));
      ok(await modernTool(server.url, 'publish_event', { kind: 'resource_updated', uri: 'test://watched-resource' }));
      ok(await modernTool(server.url, 'publish_event', { kind: 'tools_list_changed' }));
      await waitFor('the update', () => watched.messages.some((m) => m.method === 'notifications/resources/updated'));
      const updates = watched.messages.filter((m) => m.method === 'notifications/resources/updated');
      expect(updates.map((m) => m.params.uri)).toEqual(['test://watched-resource']);
      await waitFor('the 2025 session to get the list change', () => legacyText.includes('notifications/tools/list_changed'));
    } finally {
      watched.close();
      controller.abort();
    }
  });

  it('refuses a listen request without a filter (-32602)', async () => {
    const r = await modern(server.url, 'subscriptions/listen', {});
    expect(r.json.error.code).toBe(-32602);
  });
});
