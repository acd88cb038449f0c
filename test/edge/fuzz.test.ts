/**
 * Property-based fuzzing of the edge through the real server (fast-check, fixed seed, bounded
 * runs): thousands of malformed and hostile HTTP requests and JSON-RPC messages — wrong types,
 * missing fields, huge ids, deep nesting, invalid UTF-8, truncated bodies, wrong headers, wrong
 * credentials, unknown methods, oversized payloads, raw-socket garbage. Each must get a 4xx, or a
 * well-formed JSON-RPC answer with its own id; never a 5xx, never a hang; the process stays up;
 * and a well-behaved session of another principal, calling all along, gets every answer right.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { ACCEPT, PROTOCOL_VERSION, initializeRequest, parseSse, request, send } from '../support/mcp-http.js';

const SEED = 20_261_123;
const GOOD = 'good-principal-token-0123456789';
const FUZZER = 'fuzzer-principal-token-0123456789';
const MAX_BODY = 64 * 1024;
const MAX_DEPTH = 64;
const ANSWER_TIMEOUT_MS = 15_000;

let server: ServerProcess;
let port: number;
let fuzzSessions: string[] = [];
let goodSession: string;

// ---- the well-behaved session ---------------------------------------------------------------

interface Bystander {
  calls: number;
  wrong: string[];
  stop: () => Promise<void>;
}

/** Calls echo (unique text) and whoami (its counter must step by exactly one) until stopped. */
function runBystander(): Bystander {
  const state: Bystander = { calls: 0, wrong: [], stop: async () => {} };
  let stopped = false;
  let executed = 0;
  const headers = { authorization: `Bearer ${GOOD}` };
  const loop = (async () => {
    // The counter persists across properties: start from where it is.
    const first = await send(server.url, request('tools/call', { name: 'whoami', arguments: {} }, 'who-start'), { session: goodSession, headers });
    executed = first.json.result.structuredContent.executed;
    for (let i = 0; !stopped; i++) {
      await new Promise((r) => setTimeout(r, 3)); // deliberate pacing: a steady client, not a flood
      try {
        if (i % 5 === 4) {
          const r = await send(server.url, request('tools/call', { name: 'whoami', arguments: {} }, `who-${i}`), { session: goodSession, headers });
          const who = r.json?.result?.structuredContent;
          if (r.status !== 200 || r.json.id !== `who-${i}` || who?.sessionId !== goodSession || who.executed !== executed + 1) {
            state.wrong.push(`whoami ${i}: ${r.status} ${r.text.slice(0, 300)} (expected executed ${executed + 1})`);
          }
          executed = who?.executed ?? executed;
        } else {
          const text = `bystander-${i}-${'é✓'.repeat(i % 7)}`;
          const r = await send(server.url, request('tools/call', { name: 'echo', arguments: { text } }, i), { session: goodSession, headers });
          if (r.status !== 200 || r.json?.id !== i || r.json?.result?.structuredContent?.text !== text) {
            state.wrong.push(`echo ${i}: ${r.status} ${r.text.slice(0, 300)}`);
          }
        }
        state.calls++;
      } catch (err) {
        state.wrong.push(`call ${i} threw: ${(err as Error).message}`);
      }
    }
  })();
  state.stop = async () => {
    stopped = true;
    await loop;
  };
  return state;
}

// ---- checking one answer --------------------------------------------------------------------

function validId(id: unknown): id is string | number {
  return (typeof id === 'string' && id.length <= 256) || (typeof id === 'number' && Number.isSafeInteger(id));
}

function isRpcError(v: any): boolean {
  return v?.jsonrpc === '2.0' && typeof v.error === 'object' && Number.isInteger(v.error.code) && typeof v.error.message === 'string' && !('result' in v);
}

function isRpcResponse(v: any): boolean {
  return v?.jsonrpc === '2.0' && 'id' in v && ('result' in v) !== ('error' in v) && (isRpcError(v) || (typeof v.result === 'object' && v.result !== null));
}

/** What the edge may answer to anything a client sends to the MCP endpoint. */
function checkAnswer(status: number, contentType: string, text: string, sentIdRaw: unknown, label: string): void {
  // The id as the server saw it (JSON has no -0, no undefined).
  const sentId = sentIdRaw === undefined ? undefined : JSON.parse(JSON.stringify(sentIdRaw));
  expect(status, `${label}: 5xx\n${text.slice(0, 500)}`).toBeLessThan(500);
  if (status === 202) {
    expect(text, `${label}: 202 with a body`).toBe('');
    return;
  }
  if (status >= 400) {
    // Every refusal of ours is a JSON-RPC error object.
    expect(contentType, `${label}: ${status} not JSON`).toContain('application/json');
    const body = JSON.parse(text);
    expect(isRpcError(body), `${label}: ${status} body is not a JSON-RPC error: ${text.slice(0, 300)}`).toBe(true);
    if (body.id !== null) expect(body.id, `${label}: error answers another id`).toEqual(sentId);
    return;
  }
  expect(status, `${label}: unexpected status`).toBe(200);
  let message: any;
  if (contentType.includes('text/event-stream')) {
    const messages = parseSse(text).filter((e) => e.data.trim()).map((e) => JSON.parse(e.data));
    message = messages.at(-1);
  } else {
    expect(contentType, label).toContain('application/json');
    message = JSON.parse(text);
  }
  expect(isRpcResponse(message), `${label}: 200 without a JSON-RPC response: ${text.slice(0, 300)}`).toBe(true);
  if (validId(sentId)) expect(message.id, `${label}: answered another id`).toEqual(sentId);
}

// ---- generators -----------------------------------------------------------------------------

const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
const anyText = (max: number) => fc.string({ maxLength: max, unit: 'binary' });

const idArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer() },
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 1.5, -0, 2 ** 53, 2 ** 60, -(2 ** 70), 1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((n) => 'i'.repeat(n)) },
  { weight: 1, arbitrary: fc.oneof(fc.object({ maxDepth: 2 }), fc.array(fc.integer(), { maxLength: 3 })) },
);

const METHODS = [
  'initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list', 'resources/subscribe',
  'prompts/list', 'prompts/get', 'logging/setLevel', 'completion/complete', 'sampling/createMessage', 'elicitation/create', 'roots/list',
  'notifications/initialized', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed', 'notifications/message',
  'rpc.discover', '$/cancelRequest', 'tools/call/', 'TOOLS/LIST', '',
];
const methodArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(42, null, ['tools/list'], { m: 1 }, 'x'.repeat(300)) },
);

/** JSON nested `depth` levels deep, as text (arrays and objects mixed). */
const deepArb = fc.integer({ min: 2, max: 400 }).map((depth) => {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 2) {
      open += '{"a":';
      close = '}' + close;
    } else {
      open += '[';
      close = ']' + close;
    }
  }
  return { depth, text: `${open}1${close}` };
});

const SAFE_TOOLS = ['echo', 'whoami', 'fail', 'no_such_tool', '', 'ECHO', '../echo'];
const paramsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.record({ name: fc.oneof(fc.constantFrom(...SAFE_TOOLS), fc.string({ maxLength: 20 }), fc.integer()), arguments: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ text: fc.oneof(fc.string({ maxLength: 50 }), fc.integer(), fc.constant(null)) })) }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.record({ protocolVersion: fc.oneof(fc.constantFrom(PROTOCOL_VERSION, '2025-06-18', '1999-01-01'), fc.string({ maxLength: 12 }), fc.integer()), capabilities: fc.jsonValue({ maxDepth: 2 }), clientInfo: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ requestId: idArb, progressToken: idArb, progress: fc.double(), level: fc.string({ maxLength: 10 }), uri: fc.string({ maxLength: 40 }) }, { requiredKeys: [] }) },
);

/** A JSON-RPC-shaped object with any field wrong or missing. */
const messageArb = fc
  .tuple(fc.record(
    {
      jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: fc.constantFrom('1.0', '2', 2, null, '2.0 ') }),
      id: idArb,
      method: methodArb,
      params: paramsArb,
      result: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({})),
      error: fc.oneof(fc.record({ code: fc.oneof(fc.integer(), fc.double()), message: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  ), fc.nat(4))
  .map(([m, keepReplyFields]) => {
    // Mostly requests and notifications: result/error stay on a message with a method only 1 in 5.
    const out: Record<string, unknown> = { ...m };
    if ('method' in out && keepReplyFields !== 0) {
      delete out.result;
      delete out.error;
    }
    if (out.params === undefined) delete out.params;
    return out;
  });

/** Well-formed messages (known and unknown methods, odd but valid params): answers must carry their id. */
const wellFormedArb = fc
  .record({
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 40 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, '', 'x'.repeat(256))),
    method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...METHODS.filter((m) => m !== '')) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) }),
    params: fc.oneof(
      fc.constant(undefined),
      fc.record({ name: fc.constantFrom(...SAFE_TOOLS), arguments: fc.oneof(fc.record({ text: fc.string({ maxLength: 200 }) }), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })) }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      fc.record({ _meta: fc.record({ progressToken: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })) }), cursor: fc.string({ maxLength: 10 }) }, { requiredKeys: ['_meta'] }),
    ),
    notification: fc.boolean(),
  })
  .map(({ id, method, params, notification }) => {
    const m: Record<string, unknown> = { jsonrpc: '2.0' };
    if (!notification || !method.startsWith('notifications/')) m.id = id;
    m.method = method;
    if (params !== undefined) m.params = params;
    return m;
  });

type Target = 'fuzz' | 'none' | 'random' | 'foreign';
const targetArb = fc.constantFrom<Target>('fuzz', 'fuzz', 'fuzz', 'fuzz', 'none', 'random', 'foreign');
const authArb = fc.oneof(
  { weight: 24, arbitrary: fc.constant(`Bearer ${FUZZER}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: printable(60).map((t) => `Bearer ${t}`) },
  { weight: 1, arbitrary: fc.constantFrom(`Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', 'bearer  ' + FUZZER, `Bearer ${FUZZER}x`, `Bearer ${FUZZER.slice(0, -1)}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.') },
);

function sessionFor(target: Target, pick: number): string | undefined {
  if (target === 'none') return undefined;
  if (target === 'random') return `s-${pick.toString(36)}-not-a-session`;
  if (target === 'foreign') return goodSession; // another principal's: must be invisible
  return fuzzSessions[pick % fuzzSessions.length];
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** A successful GET (an SSE stream opened) or DELETE (the session ended): no JSON-RPC body. */
  bodiless?: boolean;
}

async function post(body: string | Uint8Array, headers: Record<string, string | undefined>, method = 'POST'): Promise<Answer> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  const t0 = performance.now();
  try {
    return await exchange(body, h, method);
  } finally {
    const ms = performance.now() - t0;
    if (ms > 1_000) slow.push(`${Math.round(ms)} ms: ${method} ${Buffer.from(body).subarray(0, 160).toString('latin1')}`);
  }
}

const slow: string[] = [];

function histogram(m: Map<string, number>): string {
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' ');
}

async function exchange(body: string | Uint8Array, h: Record<string, string>, method: string): Promise<Answer> {
  const res = await fetch(server.url, { method, headers: h, body: method === 'GET' || method === 'HEAD' ? undefined : body, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
  const contentType = res.headers.get('content-type') ?? '';
  if (method === 'GET' && res.status === 200) {
    expect(contentType).toContain('text/event-stream');
    await res.body?.cancel(); // a live stream: its opening is the answer
    return { status: 200, contentType, text: '', bodiless: true };
  }
  const text = await res.text();
  if (method === 'DELETE' && res.status === 200) {
    expect(text).toBe('');
    const i = fuzzSessions.indexOf(h['mcp-session-id'] ?? '');
    if (i >= 0) fuzzSessions[i] = await openSessionAs(FUZZER); // keep four live fuzz sessions
    return { status: 200, contentType, text, bodiless: true };
  }
  return { status: res.status, contentType, text };
}

async function openSessionAs(token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}` };
  const res = await send(server.url, initializeRequest(), { headers });
  const s = res.headers.get('mcp-session-id')!;
  expect((await send(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session: s, headers })).status).toBe(202);
  return s;
}

// ---- the server -----------------------------------------------------------------------------

beforeAll(async () => {
  server = await startServer({
    toolsets: ['diagnostics'],
    config: {
      http: { maxBodyBytes: MAX_BODY, maxJsonDepth: MAX_DEPTH, headersTimeoutMs: 1_000, requestTimeoutMs: 5_000 },
      sessions: { requestTimeoutMs: 5_000, hibernateAfterMs: 0 },
      warmPool: { min: 2, max: 4 },
      auth: {
        tokens: [
          { token: GOOD, principal: 'good', limits: { requestsPerSecond: 1e6, burst: 1e6 } },
          { token: FUZZER, principal: 'fuzzer', limits: { requestsPerSecond: 1e6, burst: 1e6, maxSessions: 5_000, maxInFlight: 1_000 } },
        ],
      },
    },
  });
  port = Number(new URL(server.url).port);
  goodSession = await openSessionAs(GOOD);
  fuzzSessions = await Promise.all([0, 1, 2, 3].map(() => openSessionAs(FUZZER)));
});

afterAll(async () => {
  const hist = new Map<string, number>();
  for (const l of server.logs()) { const k = `${l.level} ${l.msg}`; hist.set(k, (hist.get(k) ?? 0) + 1); }
  console.info(`server log lines during the fuzzing:\n${[...hist].map(([k, n]) => `  ${n} × ${k}`).join('\n')}`);
  if (slow.length > 0) console.info(`requests slower than 1 s: ${slow.length}\n${slow.slice(0, 20).join('\n')}`);
  await server?.stop();
});

async function serverIsUp(): Promise<void> {
  expect(server.proc.exitCode).toBeNull();
  const health = await fetch(`${server.origin}/health`);
  expect(health.status).toBe(200);
  expect((await health.json()).status).toBe('ok');
}

function noEdgeFaults(): void {
  const faults = server.logs().filter((l) => l.msg === 'unhandled error in the HTTP edge' || l.level === 'fatal');
  expect(faults, JSON.stringify(faults.slice(0, 3))).toEqual([]);
}

describe('fuzzing the edge (fixed seed, bounded runs)', () => {
  it('JSON-RPC messages with wrong types, missing fields, huge ids, unknown methods: a 4xx or a JSON-RPC answer with their own id', async () => {
    const bystander = runBystander();
    const statuses = new Map<string, number>();
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(messageArb, wellFormedArb), targetArb, fc.nat(), authArb, fc.constantFrom(PROTOCOL_VERSION, undefined, '2025-06-18', 'garbage'), async (msg, target, pick, auth, version) => {
          runs++;
          const session = sessionFor(target, pick);
          const { status, contentType, text } = await post(JSON.stringify(msg), {
            accept: ACCEPT,
            'content-type': 'application/json',
            authorization: auth,
            'mcp-session-id': session,
            'mcp-protocol-version': session ? version : undefined,
          });
          statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
          checkAnswer(status, contentType, text, msg.id, `message ${JSON.stringify(msg).slice(0, 200)} → ${target}`);
          if (target === 'foreign' && auth === `Bearer ${FUZZER}`) expect(status === 404 || status === 400 || status === 406 || status === 413, `foreign session reached: ${status} ${text}`).toBe(true);
        }),
        { seed: SEED, numRuns: Number(process.env.FUZZ_RUNS ?? 5_000), endOnFailure: true },
      );
    } finally {
      await bystander.stop();
    }
    expect(runs).toBe(Number(process.env.FUZZ_RUNS ?? 5_000));
    console.info(`JSON-RPC messages: ${runs} runs, statuses ${histogram(statuses)}; bystander calls ${bystander.calls}`);
    expect(bystander.wrong).toEqual([]);
    expect(bystander.calls).toBeGreaterThan(50);
    await serverIsUp();
    noEdgeFaults();
  }, 180_000);

  it('hostile bodies and headers: invalid UTF-8, truncation, deep nesting, batches, oversized payloads, wrong media types and methods', async () => {
    const bodyArb = fc.oneof(
      { weight: 3, arbitrary: messageArb.map((m) => ({ kind: 'json', bytes: Buffer.from(JSON.stringify(m)), id: m.id as unknown })) },
      { weight: 2, arbitrary: fc.tuple(messageArb, fc.nat()).map(([m, cut]) => { const t = JSON.stringify(m); return { kind: 'truncated', bytes: Buffer.from(t.slice(0, cut % Math.max(1, t.length))), id: undefined as unknown }; }) },
      { weight: 2, arbitrary: fc.tuple(messageArb, fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.nat()).map(([m, junk, at]) => {
          const t = Buffer.from(JSON.stringify(m));
          const i = at % (t.length + 1);
          // Bytes 0x80–0xff alone, or as broken sequences: never valid UTF-8 when they start with a continuation byte.
          const bad = Buffer.from([0x80 | (junk[0]! & 0x3f), ...junk.slice(1)]);
          return { kind: 'bad-utf8', bytes: Buffer.concat([t.subarray(0, i), bad, t.subarray(i)]), id: undefined as unknown };
        }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'random-bytes', bytes: Buffer.from(b), id: undefined as unknown })) },
      { weight: 1, arbitrary: anyText(200).map((s) => ({ kind: 'random-text', bytes: Buffer.from(s, 'utf8'), id: undefined as unknown })) },
      { weight: 1, arbitrary: deepArb.map(({ text }) => ({ kind: 'deep', bytes: Buffer.from(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","deep":${text}}}}`), id: 7 as unknown })) },
      { weight: 1, arbitrary: fc.array(messageArb, { minLength: 0, maxLength: 4 }).map((ms) => ({ kind: 'batch', bytes: Buffer.from(JSON.stringify(ms)), id: undefined as unknown })) },
      { weight: 1, arbitrary: fc.integer({ min: MAX_BODY - 100, max: MAX_BODY * 3 }).map((n) => ({ kind: 'oversized', bytes: Buffer.from(JSON.stringify(request('tools/call', { name: 'echo', arguments: { text: 'o'.repeat(n) } }, 'big'))), id: 'big' as unknown })) },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '[]', '{}', '""', '1e999', '{"jsonrpc":"2.0"}', '\u0000', '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}').map((s) => ({ kind: 'edge-case', bytes: Buffer.from(s), id: undefined as unknown })) },
    );
    const headersArb = fc.record({
      method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'),
      accept: fc.oneof({ weight: 5, arbitrary: fc.constant(ACCEPT) }, { weight: 1, arbitrary: fc.constantFrom(undefined, '*/*', 'application/json', 'text/event-stream', 'text/html', 'application/json;q=0, text/event-stream', '') }, { weight: 1, arbitrary: printable(40) }),
      contentType: fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x') }, { weight: 1, arbitrary: printable(40) }),
      auth: authArb,
      target: targetArb,
      pick: fc.nat(),
      version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.constant(undefined), printable(20)),
      lastEventId: fc.oneof(fc.constant(undefined), fc.constantFrom('g_0', 'r1_0', 'r999_5', '_', 'g_-1', 'g_1e9'), printable(30)),
      origin: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('http://evil.example', 'null', `http://localhost:${port}`) }),
    });
    const bystander = runBystander();
    const kinds = new Map<string, number>();
    const statuses = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(bodyArb, headersArb, async (body, h) => {
          kinds.set(body.kind, (kinds.get(body.kind) ?? 0) + 1);
          const session = sessionFor(h.target, h.pick);
          const { status, contentType, text, bodiless } = await post(
            body.bytes,
            {
              accept: h.accept,
              'content-type': h.contentType,
              authorization: h.auth,
              'mcp-session-id': session,
              'mcp-protocol-version': h.version,
              'last-event-id': h.method === 'GET' ? h.lastEventId : undefined,
              origin: h.origin,
            },
            h.method,
          );
          statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
          const label = `${h.method} ${body.kind} ${body.bytes.subarray(0, 120).toString('latin1')}`;
          if (h.method === 'OPTIONS' && status === 204) return; // a CORS preflight answered
          if (bodiless) return;
          checkAnswer(status, contentType, text, body.id, label);
          if (body.kind === 'bad-utf8' && h.method === 'POST' && status === 200) throw new Error(`invalid UTF-8 accepted: ${label}`);
          if (body.kind === 'oversized' && h.method === 'POST' && body.bytes.length > MAX_BODY && status < 400) throw new Error(`oversized body accepted: ${label}`);
        }),
        { seed: SEED + 1, numRuns: 4_000, endOnFailure: true },
      );
    } finally {
      await bystander.stop();
    }
    expect(bystander.wrong).toEqual([]);
    expect(bystander.calls).toBeGreaterThan(50);
    console.info(`bodies and headers: kinds ${histogram(kinds)}, statuses ${histogram(statuses)}; bystander calls ${bystander.calls}`);
    for (const k of ['json', 'truncated', 'bad-utf8', 'random-bytes', 'deep', 'batch', 'oversized']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(20);
    await serverIsUp();
    noEdgeFaults();
  }, 180_000);

  it('raw-socket garbage: bad request lines, broken headers, lying lengths, broken chunking, cut-off requests', async () => {
    const lineArb = fc.oneof(
      fc.constantFrom('POST /mcp HTTP/1.1', 'GET /mcp HTTP/1.1', 'DELETE /mcp HTTP/1.1', 'POST /mcp HTTP/1.0', 'POST /mcp HTTP/2.0', 'POST /mcp?x=1 HTTP/1.1', 'POST //mcp HTTP/1.1', 'GET /health HTTP/1.1', 'BREW /mcp HTTP/1.1', 'POST * HTTP/1.1', 'POST /%zz HTTP/1.1', 'POST /mcp', ''),
      printable(60),
    );
    const headerArb = fc.oneof(
      fc.constantFrom('Content-Type: application/json', `Accept: ${ACCEPT}`, `Authorization: Bearer ${FUZZER}`, 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Content-Length: 0', 'Content-Length: -1', 'Content-Length: 99999999999999999999', 'Content-Length: 1, 2', 'Expect: 100-continue', 'Connection: close', 'Connection: upgrade', 'Upgrade: websocket', `Mcp-Session-Id: ${'s'.repeat(5000)}`, 'Host: evil.example', 'X: \x7f', ' Leading: space', 'NoColon', 'Mcp-Protocol-Version: 2025-11-25'),
      fc.tuple(printable(20), printable(80)).map(([k, v]) => `${k}: ${v}`),
    );
    const reqArb = fc.record({
      line: lineArb,
      headers: fc.array(headerArb, { maxLength: 8 }),
      host: fc.boolean(),
      session: fc.boolean(),
      body: fc.oneof(messageArb.map((m) => JSON.stringify(m)), anyText(100), fc.constantFrom('0\r\n\r\n', '5\r\nabc\r\n', 'ffffffff\r\n', '')),
      length: fc.oneof(fc.constant('exact' as const), fc.constant('none' as const), fc.integer({ min: -5, max: 500 })),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    const bystander = runBystander();
    const statuses = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(reqArb, async (r) => {
          const lines = [r.line];
          if (r.host) lines.push(`Host: 127.0.0.1:${port}`);
          if (r.session) lines.push(`Mcp-Session-Id: ${fuzzSessions[0]}`);
          lines.push(...r.headers);
          const body = Buffer.from(r.body, 'utf8');
          if (r.length === 'exact') lines.push(`Content-Length: ${body.length}`);
          else if (typeof r.length === 'number') lines.push(`Content-Length: ${r.length}`);
          let wire = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
          if (r.cut !== undefined) wire = wire.subarray(0, r.cut % (wire.length + 1));
          const answer = await rawExchange(wire);
          const key = answer.status === undefined ? 'none' : String(answer.status);
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          expect(answer.status === undefined || answer.status < 500, `5xx for ${JSON.stringify(wire.toString('latin1').slice(0, 300))}:\n${answer.text.slice(0, 300)}`).toBe(true);
        }),
        { seed: SEED + 2, numRuns: 2_000, endOnFailure: true },
      );
    } finally {
      await bystander.stop();
    }
    expect(bystander.wrong).toEqual([]);
    console.info(`raw sockets: statuses ${histogram(statuses)}; bystander calls ${bystander.calls}`);
    expect(statuses.get('400') ?? 0).toBeGreaterThan(50);
    await serverIsUp();
    noEdgeFaults();
  }, 180_000);

  it('after all of it: the fuzz sessions still answer, and every rejection was counted', async () => {
    for (const s of fuzzSessions) {
      const r = await send(server.url, request('ping', undefined, 'final'), { session: s, headers: { authorization: `Bearer ${FUZZER}` } });
      // Alive, or ended by a DELETE the raw-socket fuzzing happened to send.
      if (r.status === 200) expect(r.json).toEqual({ jsonrpc: '2.0', id: 'final', result: {} });
      else expect(r.json.error.data.code).toBe('SESSION_NOT_FOUND');
    }
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/mcp_actors_http_rejected_total\{[^}]*status="401"/);
    expect(metrics).toMatch(/status="400"/);
    await serverIsUp();
  });
});

/** Writes `wire`, half-closes, and reads whatever comes back until the server closes (or 3 s). */
function rawExchange(wire: Buffer): Promise<{ status: number | undefined; text: string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text });
    };
    const timer = setTimeout(finish, 3_000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', () => sock.end(wire));
  });
}
