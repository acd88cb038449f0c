/**
 * The benchmark baseline (bench/baseline: the MCP SDK v2's own serving on one thread, 2025-era
 * sessions and MCP 2026-07-28 requests on one endpoint) serving the built-in toolsets, exercised
 * over real HTTP on loopback with the real SDK v2 client, raw requests, and both pinned
 * conformance suites: @modelcontextprotocol/conformance@0.1.13 (2025-era sessions) and
 * 0.2.0-alpha.12 (`--requirements 2026-07-28`).
 */
import { request as httpRequest } from 'node:http';
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { inputRequired, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBaselineServer, type BaselineServer } from '../../bench/baseline/server.js';
import diagnostics from '../../src/actor/toolsets/diagnostics/index.js';
import everything from '../../src/actor/toolsets/everything/index.js';
import { JSON_SCHEMA_2020_12_INPUT } from '../../src/actor/toolsets/everything/fixtures.js';
import session from '../../src/actor/toolsets/session/index.js';
import { defineToolset, type RequestInfo } from '../../src/actor/toolsets/types.js';
import { expectCleanDefaultSuite, runConformance } from '../support/conformance.js';
import { PROTOCOL_VERSION, callTool, modern, modernHeaders, modernRequest, modernTool, openSession, request, send, structured as structuredOf, type RawResponse } from '../support/mcp-http.js';
import { timeStdioStart } from '../../bench/scenarios/stdio.js';
import { BASELINE_STDIO } from '../../bench/servers.js';

/** A 2025-era session through the SDK v2 client (its default: the initialize handshake). */
async function connect(url: string, capabilities: Record<string, object> = {}) {
  const client = new Client({ name: 'baseline-test', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

function text(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  if (first?.type !== 'text') throw new Error(`expected text content, got ${JSON.stringify(result)}`);
  return first.text;
}

function structured<T>(result: unknown): T {
  return (result as CallToolResult).structuredContent as T;
}

/** A raw tool result's structuredContent; fails the test on any error. */
function ok(r: RawResponse): any {
  expect(r.status, r.text).toBe(200);
  expect(r.json?.error, r.text).toBeUndefined();
  expect(r.json?.result?.isError, r.text).not.toBe(true);
  return r.json.result.structuredContent;
}

interface SseEvent {
  id?: string;
  retry?: number;
  data: string;
}

/** Reads an SSE body event by event (keep-alive comments skipped). */
class SseReader {
  private readonly reader: ReadableStreamDefaultReader<string>;
  private buffer = '';
  private readonly queued: SseEvent[] = [];
  private reading: ReturnType<ReadableStreamDefaultReader<string>['read']> | undefined;
  ended = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event; undefined once the stream has ended or `timeoutMs` passed without one. */
  async next(timeoutMs = 5000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const queued = this.queued.shift();
      if (queued) return queued;
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      this.reading ??= this.reader.read();
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([this.reading, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))]);
      clearTimeout(timer);
      if (chunk === 'timeout') return undefined;
      this.reading = undefined;
      if (chunk.done) {
        this.ended = true;
        continue;
      }
      this.buffer += chunk.value;
      let cut: number;
      while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        if (block.split('\n').every((l) => l.startsWith(':'))) continue; // keep-alive comment
        const event: SseEvent = { data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') event.id = val;
          else if (field === 'retry') event.retry = Number(val);
          else if (field === 'data') data.push(val);
        }
        event.data = data.join('\n');
        this.queued.push(event);
      }
    }
  }

  /** The next JSON-RPC message (events without data skipped). */
  async message(timeoutMs = 5000): Promise<any> {
    for (;;) {
      const e = await this.next(timeoutMs);
      if (!e) return undefined;
      if (e.data) return JSON.parse(e.data);
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

/** Reads SSE events until `stop(event)` says so, the stream ends, or `timeoutMs` passes. */
async function readSse(body: ReadableStream<Uint8Array>, stop: (e: SseEvent) => boolean, timeoutMs = 5000) {
  const reader = new SseReader(body);
  const events: SseEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await reader.next(deadline - Date.now());
    if (!e) break;
    events.push(e);
    if (stop(e)) break;
  }
  const ended = reader.ended;
  if (!ended) await reader.cancel();
  return { events, ended };
}

/** A raw HTTP request (node:http, so Host can be set freely). */
function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: string }>((done, fail) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: data }));
      // SSE responses stay open: the status is all these tests need.
      if (res.headers['content-type']?.includes('text/event-stream')) {
        done({ status: res.statusCode ?? 0, body: '' });
        res.destroy();
      }
    });
    req.on('error', fail);
    req.end(body);
  });
}

const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** Opens a 2025 session's GET stream (registered once the response headers arrive). */
async function openGetStream(url: string, sessionId: string): Promise<SseReader> {
  const res = await fetch(url, { method: 'GET', headers: { Accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION } });
  expect(res.status).toBe(200);
  return new SseReader(res.body!);
}

/** Opens a 2026-07-28 subscriptions/listen stream and reads its acknowledgement. */
async function openListen(url: string, notifications: Record<string, unknown>, id: string) {
  const body = modernRequest('subscriptions/listen', { notifications }, { id });
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...modernHeaders(body as { method: string }) },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const reader = new SseReader(res.body!);
  const ack = await reader.message();
  return { reader, ack };
}

describe('baseline server with the everything toolset', () => {
  let server: BaselineServer;
  beforeAll(async () => {
    server = await startBaselineServer({ toolsets: [everything], logLevel: 'warn' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens on loopback', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('passes the pinned 2025-era conformance suite (0.1.13, default suite) with 0 failures', async () => {
    expectCleanDefaultSuite(await runConformance(server.url, []));
  });

  it('passes 0.1.13\'s pending scenarios too (json-schema-2020-12 fully; server-sse-polling without failures)', async () => {
    const { code, output, scenarios } = await runConformance(server.url, ['--suite', 'pending']);
    expect(code, output).toBe(0);
    expect([...scenarios.keys()].sort()).toEqual(['json-schema-2020-12', 'server-sse-polling']);
    const schema = scenarios.get('json-schema-2020-12')!.map((c) => c.status);
    expect(schema.length).toBeGreaterThan(0);
    expect(schema.every((st) => st === 'SUCCESS'), JSON.stringify(scenarios.get('json-schema-2020-12'))).toBe(true);
    // 0.1.13 sends its raw SSE-polling POST with `mcp-protocol-version: 2025-03-26`; the SDK only
    // primes streams (and offers closeSSEStream) for >= 2025-11-25, so the priming/retry checks
    // are WARNINGs here. The 2025-11-25 flow is asserted directly below.
    expect(scenarios.get('server-sse-polling')!.map((c) => c.status)).not.toContain('FAILURE');
  });

  it('passes the 2026-07-28 conformance requirements (0.2.0-alpha.12): all 37 required scenarios, none failed', async () => {
    const { code, output, scenarios } = await runConformance(server.url, ['--requirements', '2026-07-28'], { suite: '0.2' });
    expect(code, output).toBe(0);
    // The summary lists what runs for visibility only (the tasks extension, pending scenarios).
    const notScored = new Set([...output.matchAll(/^\s+[✓✗] (\S+) \((?:extension|pending)\)$/gm)].map((m) => m[1]));
    expect(notScored.size, output).toBeGreaterThan(0);
    const required = [...scenarios.keys()].filter((s) => !notScored.has(s));
    expect(required, output).toHaveLength(37);
    for (const scenario of required) {
      const checks = scenarios.get(scenario)!;
      expect(checks.map((c) => c.status), `${scenario}: ${JSON.stringify(checks)}`).not.toContain('FAILURE');
      expect(checks.some((c) => c.status === 'SUCCESS'), scenario).toBe(true);
    }
    // The listen checks are SHOULDs (a WARNING when nothing arrives): they must have succeeded.
    const stateless = new Map(scenarios.get('server-stateless')!.map((c) => [c.id, c.status]));
    for (const id of ['sep-2575-server-sends-tools-list-changed-on-subscription', 'sep-2575-server-sends-prompts-list-changed-on-subscription', 'sep-2575-server-honors-notification-filter']) {
      expect(stateless.get(id), id).toBe('SUCCESS');
    }
  });

  it('serves MCP 2026-07-28 statelessly beside the sessions: server/discover, tools/call, and the SDK v2 client negotiates it', async () => {
    const discover = await modern(server.url, 'server/discover');
    expect(discover.status, discover.text).toBe(200);
    expect(discover.json.result).toMatchObject({
      resultType: 'complete',
      supportedVersions: expect.arrayContaining(['2026-07-28']),
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {}, completions: {} },
    });
    expect(discover.json.result._meta['io.modelcontextprotocol/serverInfo']).toEqual({ name: 'mcp-actors-baseline', version: '0.1.0' });

    // Classified by its body: an Mcp-Session-Id beside the envelope changes nothing.
    const call = await modernTool(server.url, 'test_simple_text', {}, { headers: { 'mcp-session-id': 'no-such-session' } });
    expect(call.status, call.text).toBe(200);
    expect(call.json.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'This is a simple text response for testing.' }] });
    // Methods 2026-07-28 removed are not found there (a 2025 session still has them).
    const ping = await modern(server.url, 'ping');
    expect(ping.status).toBe(404);
    expect(ping.json.error.code).toBe(-32601);

    const client = new Client({ name: 'baseline-test-v2', version: '1.0.0' }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: 'auto' } });
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ann' } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(text(await client.callTool({ name: 'test_simple_text', arguments: {} }))).toBe('This is a simple text response for testing.');
      // A multi-round-trip tool: the client answers the input_required round with its handler.
      expect(text(await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }))).toContain('Hello, Ann!');
    } finally {
      await client.close();
    }
  });

  it('delivers a server event published by a 2026 request to a subscriptions/listen stream and to a live 2025 session', async () => {
    const sessionId = await openSession(server.url);
    const get = await openGetStream(server.url, sessionId);
    const listen = await openListen(server.url, { toolsListChanged: true }, 'listen-1');
    try {
      expect(listen.ack).toMatchObject({ method: 'notifications/subscriptions/acknowledged', params: { notifications: { toolsListChanged: true } } });
      ok(await modernTool(server.url, 'test_trigger_tool_change'));
      const onListen = await listen.reader.message();
      expect(onListen).toMatchObject({ method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen-1' } } });
      let onSession: any;
      do onSession = await get.message();
      while (onSession && onSession.method !== 'notifications/tools/list_changed');
      expect(onSession).toMatchObject({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    } finally {
      await listen.reader.cancel();
      await get.cancel();
    }
  });

  it('advertises json_schema_2020_12_tool\'s 2020-12 input schema verbatim and enforces it', async () => {
    const { client } = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      const tool = tools.find((t) => t.name === 'json_schema_2020_12_tool');
      expect(tool?.inputSchema).toEqual(JSON_SCHEMA_2020_12_INPUT);
      const args = { name: 'Ada', address: { city: 'London' }, contactMethod: 'email', email: 'ada@example.com' };
      const good = await client.callTool({ name: 'json_schema_2020_12_tool', arguments: args });
      expect(good.isError).toBeFalsy();
      expect(text(good)).toBe(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`);
      for (const bad of [
        { name: 'Ada' }, // neither phone nor email (allOf/anyOf)
        { contactMethod: 'phone', email: 'ada@example.com' }, // if/then: phone required
        { email: 'ada@example.com', nope: 1 }, // additionalProperties: false
        { email: 'ada@example.com', address: { city: 7 } }, // $ref to $defs.address
      ]) {
        expect((await client.callTool({ name: 'json_schema_2020_12_tool', arguments: bad })).isError, JSON.stringify(bad)).toBe(true);
      }
    } finally {
      await client.close();
    }
  });

  it('declares logging, completions and resources.subscribe; completion offers no suggestions', async () => {
    const { client } = await connect(server.url);
    try {
      const caps = client.getServerCapabilities();
      expect(caps?.logging).toEqual({});
      expect(caps?.completions).toEqual({});
      expect(caps?.resources?.subscribe).toBe(true);
      const completion = await client.complete({
        ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
        argument: { name: 'arg1', value: 'te' },
      });
      expect(completion.completion).toEqual({ values: [], total: 0, hasMore: false });
      await expect(client.subscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
      await expect(client.unsubscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
    } finally {
      await client.close();
    }
  });

  it('honours logging/setLevel for the tool\'s log notifications (the SDK\'s own handler: no message of its own)', async () => {
    const { client } = await connect(server.url);
    const logs: Array<{ level: string; data: unknown }> = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params));
    try {
      await client.setLoggingLevel('warning');
      await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
      expect(logs).toEqual([]);

      await client.setLoggingLevel('debug');
      await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
      expect(logs.map((l) => l.data)).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
      expect(logs.every((l) => l.level === 'info')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('test_reconnection at 2025-11-25: primed stream with retry, closed mid-call, result replayed after Last-Event-ID', async () => {
    const { client, transport } = await connect(server.url);
    try {
      const headers = {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': PROTOCOL_VERSION,
      };
      const post = await fetch(server.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 'poll-1', method: 'tools/call', params: { name: 'test_reconnection', arguments: {} } }),
      });
      expect(post.status).toBe(200);
      expect(post.headers.get('content-type')).toContain('text/event-stream');
      const first = await readSse(post.body!, () => false);
      // The stream ends by itself (closeSSEStream) after nothing but the priming event.
      expect(first.ended).toBe(true);
      expect(first.events).toHaveLength(1);
      expect(first.events[0]).toMatchObject({ data: '', retry: 1000 });
      expect(first.events[0]!.id).toBeTruthy();

      const get = await fetch(server.url, {
        method: 'GET',
        headers: {
          Accept: 'text/event-stream',
          'mcp-session-id': transport.sessionId!,
          'mcp-protocol-version': PROTOCOL_VERSION,
          'last-event-id': first.events[0]!.id!,
        },
      });
      expect(get.status).toBe(200);
      const resumed = await readSse(get.body!, (e) => e.data.includes('"poll-1"'));
      const response = resumed.events.filter((e) => e.data).map((e) => JSON.parse(e.data) as { id?: unknown; result?: CallToolResult }).find((m) => m.id === 'poll-1');
      expect(text(response?.result)).toContain('Reconnection test completed successfully');

      // And the SDK client rides the same mechanism transparently (reconnecting after `retry`).
      const viaClient = await client.callTool({ name: 'test_reconnection', arguments: {} });
      expect(text(viaClient)).toContain('Reconnection test completed successfully');
    } finally {
      await client.close();
    }
  });

  it('rejects DNS-rebinding attempts (foreign Host or Origin) with 403 in both eras and accepts loopback names', async () => {
    const base = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const port = new URL(server.url).port;
    const discoverBody = modernRequest('server/discover');
    const discover = JSON.stringify(discoverBody);
    const discoverHeaders = { ...base, ...modernHeaders(discoverBody as { method: string }) };
    for (const body of [initializeBody, discover]) {
      const headers = body === discover ? discoverHeaders : base;
      expect((await rawRequest(server.url, 'POST', { ...headers, Host: `evil.example.com:${port}` }, body)).status).toBe(403);
      expect((await rawRequest(server.url, 'POST', { ...headers, Host: `127.0.0.1:${port}`, Origin: 'http://evil.example.com' }, body)).status).toBe(403);
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
        const res = await rawRequest(server.url, 'POST', { ...headers, Host: host, Origin: `http://${host}` }, body);
        expect(res.status, host).toBe(200);
      }
    }
  });

  it('answers session errors like the SDK examples: 400 without a session, 404 for an unknown one, 405 for GET/DELETE without one', async () => {
    const base = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect((await rawRequest(server.url, 'POST', base, list)).status).toBe(400);
    expect((await rawRequest(server.url, 'POST', { ...base, 'mcp-session-id': 'no-such-session' }, list)).status).toBe(404);
    expect((await rawRequest(server.url, 'POST', base, '{not json')).status).toBe(400);
    expect((await rawRequest(server.url, 'GET', { Accept: 'text/event-stream' })).status).toBe(405);
    expect((await rawRequest(server.url, 'DELETE', {})).status).toBe(405);
    expect((await rawRequest(server.url, 'GET', { Accept: 'text/event-stream', 'mcp-session-id': 'no-such-session' })).status).toBe(404);
  });
});

describe('baseline server with the diagnostics, session and everything toolsets and a context probe', () => {
  let server: BaselineServer;
  const stopped: string[] = [];
  /** A real toolset that reports what its context offers, with a handle tool of its own on the session toolset's session_id. */
  const probe = defineToolset({
    name: 'probe',
    instructions: 'probe instructions',
    handles: { argument: 'session_id', create: ['create_session'], optional: ['probe', 'probe_round'], noun: 'session' },
    register(mcp: McpServer, ctx) {
      mcp.registerTool('probe', { description: 'context probe', inputSchema: z.object({ session_id: z.string().optional() }) }, async (_args, hctx) => {
        const actor = ctx.actor;
        return {
          content: [{ type: 'text', text: 'probe' }],
          structuredContent: {
            actor: { kind: actor.kind, key: actor.key, handle: actor.handle ?? null },
            config: ctx.config,
            leases: ctx.service('leases') ?? null,
            session: ctx.service('session') !== undefined,
            request: ctx.request(hctx) ?? null,
            stateKeys: actor.kind === 'stateless' ? null : ctx.state.keys(),
          },
        };
      });
      // A 'use' handle tool: notes kept in the session's (or the handle's) state.
      mcp.registerTool(
        'probe_note',
        { description: 'adds a note to the session state', inputSchema: z.object({ note: z.string(), session_id: z.string().optional() }) },
        async ({ note }) => {
          const notes = [...(ctx.state.get<string[]>('notes') ?? []), note];
          ctx.state.set('notes', notes);
          return { content: [{ type: 'text', text: notes.join(',') }], structuredContent: { notes } };
        },
      );
      // requestState round trip: minted on the first round, its payload returned on the retry.
      mcp.registerTool('probe_round', { description: 'one input_required round carrying signed state', inputSchema: z.object({ session_id: z.string().optional() }) }, async (_args, hctx) => {
        const state = hctx.mcpReq.requestState<{ round: number }>();
        if (state === undefined) return inputRequired({ requestState: await ctx.requestState.mint({ round: 1 }, hctx) });
        return { content: [{ type: 'text', text: `round ${state.round}` }], structuredContent: { round: state.round } };
      });
      ctx.onStop(() => void stopped.push(ctx.actor.key));
    },
  });

  beforeAll(async () => {
    server = await startBaselineServer({
      toolsets: [diagnostics, session, probe, everything],
      config: { probe: { answer: 42 } },
      logLevel: 'silent',
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists every diagnostics tool with bounded input schemas; a creating tool names its handle\'s lifetime', async () => {
    const { client } = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      for (const name of ['echo', 'cpu_burn', 'sleep', 'fail', 'crash', 'hang', 'alloc', 'whoami', 'open_handle', 'close_handle', 'create_session']) {
        expect(byName.has(name), name).toBe(true);
      }
      expect(byName.get('cpu_burn')!.inputSchema.properties).toMatchObject({ ms: { maximum: 60000 } });
      expect(byName.get('sleep')!.inputSchema.properties).toMatchObject({ ms: { maximum: 600000 } });
      expect(byName.get('whoami')!.outputSchema).toBeDefined();
      expect(byName.get('create_session')!.description).toMatch(
        /Returns `session_id`, a session handle: pass it to the other tools that take `session_id`\. It is bound to your credentials and expires after 30 minutes without calls\.$/,
      );
      expect(byName.get('echo')!.description).toBe('Returns the given text.');
      const tooLong = await client.callTool({ name: 'cpu_burn', arguments: { ms: 60_001 } });
      expect(tooLong.isError).toBe(true);
      expect(client.getInstructions()).toBe('probe instructions');
    } finally {
      await client.close();
    }
  });

  it('echo returns the text as structuredContent, and its JSON as text content', async () => {
    const { client } = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } });
      expect(JSON.parse(text(result))).toEqual({ text: 'héllo ✓' });
      expect(structured(result)).toEqual({ text: 'héllo ✓' });
    } finally {
      await client.close();
    }
  });

  it('cpu_burn burns at least the requested time; sleep waits it', async () => {
    const { client } = await connect(server.url);
    try {
      const burn = structured<{ burnedMs: number }>(await client.callTool({ name: 'cpu_burn', arguments: { ms: 30 } }));
      expect(burn.burnedMs).toBeGreaterThanOrEqual(30);
      const slept = structured<{ sleptMs: number }>(await client.callTool({ name: 'sleep', arguments: { ms: 40 } }));
      expect(slept.sleptMs).toBeGreaterThanOrEqual(39);
    } finally {
      await client.close();
    }
  });

  it('sleep ends early on the server when the client cancels via AbortSignal', async () => {
    const { client } = await connect(server.url);
    const whoami = async () => structured<{ inFlight: number }>(await client.callTool({ name: 'whoami', arguments: {} }));
    try {
      const abort = new AbortController();
      const started = Date.now();
      const call = client.callTool({ name: 'sleep', arguments: { ms: 60_000 } }, { signal: abort.signal });
      const settled = call.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      // The sleep is running server-side: whoami sees it in flight next to itself.
      await expect.poll(async () => (await whoami()).inFlight, { timeout: 5000 }).toBe(2);
      abort.abort('test cancels');
      const outcome = await settled;
      expect(outcome).not.toBe('resolved');
      // ...and the server-side handler ended on the cancellation, long before its 60 s.
      await expect.poll(async () => (await whoami()).inFlight, { timeout: 5000 }).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await client.close();
    }
  });

  it('fail yields an isError result carrying the message', async () => {
    const { client } = await connect(server.url);
    try {
      const result = await client.callTool({ name: 'fail', arguments: { message: 'boom: deliberate' } });
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('boom: deliberate');
    } finally {
      await client.close();
    }
  });

  it('alloc retains memory: totals grow across calls', async () => {
    const { client } = await connect(server.url);
    try {
      type Alloc = { allocatedMb: number; retainedMb: number; heapUsedMb: number };
      const a = structured<Alloc>(await client.callTool({ name: 'alloc', arguments: { mb: 4 } }));
      const b = structured<Alloc>(await client.callTool({ name: 'alloc', arguments: { mb: 8 } }));
      expect(a).toMatchObject({ allocatedMb: 4, retainedMb: 4 });
      expect(b).toMatchObject({ allocatedMb: 8, retainedMb: 12 });
      expect(b.heapUsedMb).toBeGreaterThanOrEqual(12);
      // A different session retains its own.
      const other = await connect(server.url);
      try {
        const c = structured<Alloc>(await other.client.callTool({ name: 'alloc', arguments: { mb: 1 } }));
        expect(c.retainedMb).toBe(1);
      } finally {
        await other.client.close();
      }
    } finally {
      await client.close();
    }
  });

  it('whoami: a session actor; seq and executed increase together, per session', async () => {
    type Who = { actor: string; sessionId: string; threadId: number; seq?: number; executed: number; startedAt: number; finishedAt: number };
    const { client, transport } = await connect(server.url);
    const other = await connect(server.url);
    try {
      const sequential: Who[] = [];
      for (let i = 0; i < 3; i++) sequential.push(structured<Who>(await client.callTool({ name: 'whoami', arguments: {} })));
      expect(sequential.map((w) => w.executed)).toEqual([1, 2, 3]);
      for (const w of sequential) {
        expect(w.actor).toBe('session');
        expect(w.sessionId).toBe(transport.sessionId);
        expect(w.threadId).toBe(0); // the baseline runs everything on the main thread
        expect(w.finishedAt).toBeGreaterThanOrEqual(w.startedAt);
      }
      const seqs = sequential.map((w) => w.seq!);
      expect(seqs.every((s) => Number.isInteger(s))).toBe(true);
      expect(seqs[1]! > seqs[0]! && seqs[2]! > seqs[1]!).toBe(true);

      const concurrent = await Promise.all(
        Array.from({ length: 6 }, () => client.callTool({ name: 'whoami', arguments: {} }).then((r) => structured<Who>(r))),
      );
      const bySeq = [...concurrent].sort((x, y) => x.seq! - y.seq!);
      expect(bySeq.map((w) => w.executed)).toEqual([4, 5, 6, 7, 8, 9]);

      const first = structured<Who>(await other.client.callTool({ name: 'whoami', arguments: {} }));
      expect(first.executed).toBe(1);
      expect(first.sessionId).toBe(other.transport.sessionId);
      expect(first.sessionId).not.toBe(transport.sessionId);
    } finally {
      await client.close();
      await other.client.close();
    }
  });

  it('gives toolsets an in-process context: actor, config, request(), service(), per-toolset state, onStop on DELETE', async () => {
    const { client, transport } = await connect(server.url);
    const sessionId = transport.sessionId!;
    type Probe = { actor: { kind: string; key: string; handle: string | null }; config: object; leases: unknown; session: boolean; request: RequestInfo; stateKeys: string[] };
    await client.callTool({ name: 'whoami', arguments: {} });
    await client.callTool({ name: 'probe_note', arguments: { note: 'n1' } });
    const p1 = structured<Probe>(await client.callTool({ name: 'probe', arguments: {} }));
    const p2 = structured<Probe>(await client.callTool({ name: 'probe', arguments: {} }));
    expect(p1).toMatchObject({ actor: { kind: 'session', key: sessionId }, config: { answer: 42 }, leases: null, session: true });
    // The session's handle: minted once, ≥ 128 random bits.
    expect(p1.actor.handle).toMatch(/^h_[A-Za-z0-9_-]{22,}$/);
    expect(p2.actor.handle).toBe(p1.actor.handle);
    // State is the toolset's own: whoami's counter is in the diagnostics namespace, not here.
    expect(p1.stateKeys).toEqual(['notes']);
    expect(p1.request).toMatchObject({ era: 'legacy' });
    expect(p1.request.principal).toBeUndefined();
    expect(p2.request.seq).toBe(p1.request.seq + 1);
    expect(p1.request.receivedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(p1.request.deadlineAt - p1.request.receivedAt).toBe(15_000);

    expect(stopped).not.toContain(sessionId);
    await transport.terminateSession();
    await expect.poll(() => stopped.includes(sessionId)).toBe(true);
    const after = await rawRequest(
      server.url,
      'POST',
      { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION },
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    );
    expect(after.status).toBe(404);
    await client.close();
  });

  it('2026-07-28: runs calls statelessly, or on a state handle that keeps state until destroyed; unknown and missing handles get the runtime\'s errors', async () => {
    // Stateless: no state, no handle, seq 0.
    const stateless = ok(await modernTool(server.url, 'probe'));
    expect(stateless).toMatchObject({ actor: { kind: 'stateless', key: '', handle: null }, stateKeys: null, request: { seq: 0, era: 'modern' } });
    expect(ok(await modernTool(server.url, 'whoami'))).toMatchObject({ actor: 'stateless', sessionId: '' });
    expect(ok(await modernTool(server.url, 'whoami')).executed).toBeUndefined();

    // open_handle: a handle of ≥ 128 random bits; calls carrying it share its state, in arrival order.
    const { handle } = ok(await modernTool(server.url, 'open_handle'));
    expect(Buffer.from(handle.replace(/^h_/, ''), 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    const w1 = ok(await modernTool(server.url, 'whoami', { handle }));
    const w2 = ok(await modernTool(server.url, 'whoami', { handle }));
    expect(w1).toMatchObject({ actor: 'handle', executed: 1 });
    expect(w2).toMatchObject({ actor: 'handle', executed: 2 });
    expect(w2.seq).toBe(w1.seq + 1);
    // Another handle is another state.
    const { handle: other } = ok(await modernTool(server.url, 'open_handle'));
    expect(other).not.toBe(handle);
    expect(ok(await modernTool(server.url, 'whoami', { handle: other })).executed).toBe(1);

    // An unknown handle: the runtime's exact tool error.
    const unknown = await modernTool(server.url, 'whoami', { handle: 'h_AAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(unknown.status).toBe(200);
    expect(unknown.json.result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'That handle is unknown: it never existed, has expired, or belongs to someone else. Call open_handle to start a new diagnostics.' }],
      structuredContent: { code: 'UNKNOWN_HANDLE', retryable: false, argument: 'handle', create: 'open_handle' },
    });

    // The destroying tool ends it once answered: then it is unknown too.
    expect(ok(await modernTool(server.url, 'close_handle', { handle }))).toEqual({ closed: true });
    const { id: _a, ...gone } = (await modernTool(server.url, 'whoami', { handle })).json;
    const { id: _b, ...never } = (await modernTool(server.url, 'whoami', { handle: 'h_AAAAAAAAAAAAAAAAAAAAAAAA' })).json;
    expect(gone).toEqual(never);
    expect(ok(await modernTool(server.url, 'whoami', { handle: other })).executed).toBe(2);

    // A 'use' tool without its handle: HANDLE_REQUIRED, naming the creating tool.
    const missing = await modernTool(server.url, 'probe_note', { note: 'x' });
    expect(missing.json.result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'probe_note needs a session_id: call create_session first and pass the session_id it returns.' }],
      structuredContent: { code: 'HANDLE_REQUIRED', argument: 'session_id', create: 'create_session' },
    });

    // create_session / probe_note / get_session_stats / cleanup_session: one state across calls, then gone.
    const { session_id } = ok(await modernTool(server.url, 'create_session'));
    expect(ok(await modernTool(server.url, 'probe_note', { note: 'a', session_id })).notes).toEqual(['a']);
    expect(ok(await modernTool(server.url, 'probe_note', { note: 'b', session_id })).notes).toEqual(['a', 'b']);
    expect(ok(await modernTool(server.url, 'probe', { session_id }))).toMatchObject({ actor: { kind: 'handle', key: session_id, handle: session_id }, stateKeys: ['notes'] });
    const stats = ok(await modernTool(server.url, 'get_session_stats', { session_id }));
    expect(stats.session).toMatchObject({ active_tasks: 1, restarts: 0 });
    expect(stats.total_sessions).toBeGreaterThanOrEqual(2);
    expect(ok(await modernTool(server.url, 'get_session_stats')).session).toBeUndefined();
    expect(ok(await modernTool(server.url, 'cleanup_session', { session_id }))).toEqual({ ended: true, deferred: true });
    expect((await modernTool(server.url, 'probe_note', { note: 'c', session_id })).json.result.structuredContent.code).toBe('UNKNOWN_HANDLE');
    ok(await modernTool(server.url, 'close_handle', { handle: other }));
  });

  it('a 2025 session is its own state: its handle works in its tools, a foreign one is unknown', async () => {
    const { client } = await connect(server.url);
    try {
      const { session_id } = structured<{ session_id: string }>(await client.callTool({ name: 'create_session', arguments: {} }));
      expect(structured<{ notes: string[] }>(await client.callTool({ name: 'probe_note', arguments: { note: 'one' } })).notes).toEqual(['one']);
      expect(structured<{ notes: string[] }>(await client.callTool({ name: 'probe_note', arguments: { note: 'two', session_id } })).notes).toEqual(['one', 'two']);
      const foreign = await client.callTool({ name: 'probe_note', arguments: { note: 'x', session_id: 'h_AAAAAAAAAAAAAAAAAAAAAAAA' } });
      expect(foreign.isError).toBe(true);
      expect(structured<{ code: string }>(foreign).code).toBe('UNKNOWN_HANDLE');
    } finally {
      await client.close();
    }
  });

  it('a 2025 session ends itself with cleanup_session: answered first, then gone (404), its onStop hooks run', async () => {
    const sessionId = await openSession(server.url);
    const { session_id } = structuredOf(await callTool(server.url, sessionId, 'create_session'));
    const stats = structuredOf(await callTool(server.url, sessionId, 'get_session_stats'));
    expect(stats.session).toMatchObject({ active_tasks: 1, restarts: 0 });
    // Another session cannot be ended without admin rights (the baseline has none).
    const other = await openSession(server.url);
    const refused = await callTool(server.url, sessionId, 'cleanup_session', { session_id: other });
    expect(refused.json.result).toMatchObject({ isError: true, structuredContent: { code: 'FORBIDDEN' } });
    expect(structuredOf(await callTool(server.url, sessionId, 'cleanup_session', { session_id }))).toEqual({ ended: true, deferred: true });
    await expect.poll(() => stopped.includes(sessionId)).toBe(true);
    expect((await callTool(server.url, sessionId, 'whoami')).status).toBe(404);
    expect((await callTool(server.url, other, 'whoami')).status).toBe(200);
  });

  it('stdio: the bench\'s 2025 start-up exchange works, and an SDK v2 client gets 2026-07-28 with state handles', async () => {
    const timing = await timeStdioStart('baseline');
    expect(timing.tools).toBeGreaterThan(5);
    const client = new Client({ name: 'baseline-test-stdio', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BASELINE_STDIO, '--toolsets', 'diagnostics', '--log-level', 'warn'], stderr: 'pipe' }));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(structured<{ actor: string }>(await client.callTool({ name: 'whoami', arguments: {} })).actor).toBe('stateless');
      const { handle } = structured<{ handle: string }>(await client.callTool({ name: 'open_handle', arguments: {} }));
      const w1 = structured<{ actor: string; executed: number }>(await client.callTool({ name: 'whoami', arguments: { handle } }));
      const w2 = structured<{ actor: string; executed: number }>(await client.callTool({ name: 'whoami', arguments: { handle } }));
      expect([w1.actor, w1.executed, w2.executed]).toEqual(['handle', 1, 2]);
      expect(structured<{ code: string }>(await client.callTool({ name: 'whoami', arguments: { handle: 'h_AAAAAAAAAAAAAAAAAAAAAAAA' } })).code).toBe('UNKNOWN_HANDLE');
    } finally {
      await client.close();
    }
  });

  it('binds requestState to the request\'s tool and actor: the retry verifies where it was minted, nowhere else', async () => {
    const round = (args: Record<string, unknown>, requestState?: string) => modern(server.url, 'tools/call', { name: 'probe_round', arguments: args, ...(requestState !== undefined && { requestState }) });
    const first = await round({});
    expect(first.json.result).toMatchObject({ resultType: 'input_required' });
    const state = first.json.result.requestState as string;
    expect(ok(await round({}, state))).toEqual({ round: 1 });
    // Minted for a stateless call: refused on a handle's, and tampered state is refused.
    const { session_id } = ok(await modernTool(server.url, 'create_session'));
    for (const [args, s] of [
      [{ session_id }, state],
      [{}, `${state}x`],
    ] as const) {
      const refused = await round(args, s);
      expect(refused.json.error, refused.text).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
    }
    const onHandle = await round({ session_id });
    expect(ok(await round({ session_id }, onHandle.json.result.requestState))).toEqual({ round: 1 });
    ok(await modernTool(server.url, 'cleanup_session', { session_id }));
  });

  it('server events reach every listen stream that asked and every live 2025 session (resource updates: subscribed sessions only)', async () => {
    const uri = 'test://watched-resource';
    const subscribed = await openSession(server.url);
    const bystander = await openSession(server.url);
    const sub = await send(server.url, request('resources/subscribe', { uri }), { session: subscribed });
    expect(sub.status).toBe(200);
    expect(sub.json.result).toEqual({});
    const streams = { subscribed: await openGetStream(server.url, subscribed), bystander: await openGetStream(server.url, bystander) };
    const listen = await openListen(server.url, { resourceSubscriptions: [uri], toolsListChanged: true }, 'listen-2');
    const promptsOnly = await openListen(server.url, { promptsListChanged: true }, 'listen-3');
    try {
      expect(listen.ack.params.notifications).toEqual({ resourceSubscriptions: [uri], toolsListChanged: true });
      ok(await modernTool(server.url, 'publish_event', { kind: 'resource_updated', uri }));
      ok(await modernTool(server.url, 'publish_event', { kind: 'tools_list_changed' }));
      const untilListChanged = async (reader: SseReader) => {
        const seen: string[] = [];
        for (;;) {
          const m = await reader.message();
          if (!m) return seen;
          if (m.method) seen.push(m.method === 'notifications/resources/updated' ? `updated ${m.params.uri}` : m.method);
          if (m.method === 'notifications/tools/list_changed') return seen;
        }
      };
      expect(await untilListChanged(streams.subscribed)).toEqual([`updated ${uri}`, 'notifications/tools/list_changed']);
      expect(await untilListChanged(streams.bystander)).toEqual(['notifications/tools/list_changed']);
      expect(await untilListChanged(listen.reader)).toEqual([`updated ${uri}`, 'notifications/tools/list_changed']);
      // The prompts-only stream got neither: the next thing it sees is the prompts change published now.
      ok(await modernTool(server.url, 'publish_event', { kind: 'prompts_list_changed' }));
      expect(await promptsOnly.reader.message()).toMatchObject({ method: 'notifications/prompts/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen-3' } } });
    } finally {
      for (const r of [streams.subscribed, streams.bystander, listen.reader, promptsOnly.reader]) await r.cancel();
    }
  });
});
