/**
 * MCP sessions as the load generator sees them, and the Streamable HTTP implementation.
 *
 * HTTP session lifecycle: POST `initialize` (timed: that round trip is the session-creation
 * latency), read `Mcp-Session-Id` and the negotiated protocol version, POST
 * `notifications/initialized`, then `tools/call` with `Mcp-Session-Id` and
 * `MCP-Protocol-Version` headers; DELETE the session at the end.
 */
import { modernMeta } from './scenario.js';
import { createHttpClient, type HttpClientKind } from './http-client.js';
import type { HttpClient, HttpOutcome, JsonRpcMessage } from './reply.js';
import type { PreparedCall } from './scenario.js';

export const PROTOCOL_VERSION = '2025-11-25';

/** Whether a revision is of the per-request era (MCP 2026-07-28 and later: no sessions). */
export function isModernVersion(v: string): boolean {
  return v >= '2026-07-28';
}
export const CLIENT_INFO = { name: 'mcp-actors-bench', version: '0.1.0' } as const;

/** A failed call: its kind (tool_error, rpc_-32602, http_404, timeout…) and what the server said, if anything. */
export interface CallError {
  kind: string;
  message?: string;
}

/** One MCP session the callers drive. */
export interface BenchSession {
  /** Makes one tools/call. Resolves to null when the call is ok, else to its error. Never rejects. */
  call(call: PreparedCall, timeoutMs: number): Promise<CallError | null>;
  /** The names of the tools the server lists (tools/list, every page), or the error. */
  listTools(timeoutMs: number): Promise<string[] | CallError>;
}

export interface OpenedSessions {
  sessions: BenchSession[];
  /** Initialize round-trip times of the sessions that opened, in ms. */
  createMs: number[];
  /** Sessions that failed to open, by error kind. */
  errors: Record<string, number>;
}

/** A way to reach the server under test: opens sessions, and tears everything down. */
export interface Driver {
  readonly target: string;
  readonly transport: 'http' | 'stdio';
  /** Set when the target can no longer serve any call (e.g. the stdio child exited). */
  readonly fatal?: string | undefined;
  open(count: number, timeoutMs: number): Promise<OpenedSessions>;
  close(): Promise<void>;
}

const SAMPLE_CHARS = 300;

/** null when the JSON-RPC response is a successful tool result; else the error, with the server's words. */
export function classifyResponse(msg: JsonRpcMessage): CallError | null {
  if (msg.error !== undefined) {
    const code = msg.error?.code;
    const message = typeof msg.error?.message === 'string' ? msg.error.message.slice(0, SAMPLE_CHARS) : undefined;
    return { kind: typeof code === 'number' ? `rpc_${code}` : 'rpc_error', ...(message ? { message } : {}) };
  }
  const result = msg.result as { isError?: unknown; content?: unknown } | null | undefined;
  if (typeof result !== 'object' || result === null) return { kind: 'bad_response', message: 'the response has no result object' };
  if (result.isError !== true) return null;
  const first = Array.isArray(result.content) ? (result.content[0] as { text?: unknown } | undefined) : undefined;
  return { kind: 'tool_error', ...(typeof first?.text === 'string' ? { message: first.text.slice(0, SAMPLE_CHARS) } : {}) };
}

/** The tool names of a tools/list result and its next cursor, or a CallError. */
export function toolsPage(msg: JsonRpcMessage): { names: string[]; cursor: string | undefined } | CallError {
  if (msg.error !== undefined) return classifyResponse(msg) as CallError;
  const result = msg.result as { tools?: unknown; nextCursor?: unknown } | undefined;
  if (!result || !Array.isArray(result.tools)) return { kind: 'bad_response', message: 'tools/list returned no tools array' };
  const names = result.tools.map((t) => (t as { name?: unknown }).name).filter((n): n is string => typeof n === 'string');
  return { names, cursor: typeof result.nextCursor === 'string' ? result.nextCursor : undefined };
}

/** Pages through tools/list with `request` (one JSON-RPC request body → its response). */
export async function listAllTools(request: (body: string) => Promise<JsonRpcMessage | CallError>): Promise<string[] | CallError> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await request(JSON.stringify({ jsonrpc: '2.0', id: `tools-${page}`, method: 'tools/list', params: cursor ? { cursor } : {} }));
    if ('kind' in r) return r;
    const p = toolsPage(r);
    if ('kind' in p) return p;
    names.push(...p.names);
    if (!p.cursor) return names;
    cursor = p.cursor;
  }
  return names;
}

export function initializeBody(id: number | string, protocolVersion: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: CLIENT_INFO },
  });
}

export const INITIALIZED_BODY = '{"jsonrpc":"2.0","method":"notifications/initialized"}';

/** The reply a client owes a server request: `ping` gets {}, anything else "method not found". */
export function replyToServerRequest(msg: JsonRpcMessage): string {
  return msg.method === 'ping'
    ? JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} })
    : JSON.stringify({
        jsonrpc: '2.0',
        id: msg.id,
        error: { code: -32601, message: `mcp-actors bench does not handle ${String(msg.method)}` },
      });
}

function outcomeError(o: HttpOutcome): CallError | null {
  if (!o.ok) return o.detail === undefined ? { kind: o.kind } : { kind: o.kind, message: o.detail };
  return o.message === undefined ? { kind: 'bad_response', message: 'no JSON-RPC response' } : classifyResponse(o.message);
}

class HttpSession implements BenchSession {
  private nextId = 1;
  private readonly onServerRequest = (msg: JsonRpcMessage): void => {
    void this.client.exchange({
      method: 'POST',
      headers: this.headers,
      body: replyToServerRequest(msg),
      timeoutMs: 10_000,
    });
  };

  constructor(
    private readonly client: HttpClient,
    /** The same object for every request of this session (clients cache its serialization). */
    readonly headers: Readonly<Record<string, string>>,
    readonly sessionId: string | undefined,
  ) {}

  call(c: PreparedCall, timeoutMs: number): Promise<CallError | null> {
    const id = this.nextId++;
    return this.client
      .exchange({
        method: 'POST',
        headers: this.headers,
        body: `${c.prefix}${id}}`,
        expectId: id,
        timeoutMs,
        onServerRequest: this.onServerRequest,
      })
      .then(outcomeError);
  }

  listTools(timeoutMs: number): Promise<string[] | CallError> {
    return listAllTools(async (body) => {
      const id = (JSON.parse(body) as { id: string }).id;
      const o = await this.client.exchange({ method: 'POST', headers: this.headers, body, expectId: id, timeoutMs, onServerRequest: this.onServerRequest });
      if (!o.ok) return { kind: o.kind, ...(o.detail ? { message: o.detail } : {}) };
      return o.message ?? { kind: 'bad_response', message: 'no JSON-RPC response' };
    });
  }
}

/**
 * A caller group of MCP 2026-07-28 requests: each request carries its envelope (in the prepared
 * body) and the standard headers — MCP-Protocol-Version, Mcp-Method, Mcp-Name — per tool, built
 * once so clients can reuse their serialization.
 */
class ModernHttpSession implements BenchSession {
  private nextId = 1;
  private readonly headersByTool = new Map<string, Readonly<Record<string, string>>>();

  constructor(
    private readonly client: HttpClient,
    private readonly base: Readonly<Record<string, string>>,
    private readonly protocolVersion: string,
  ) {}

  private headersFor(method: string, name?: string): Readonly<Record<string, string>> {
    const key = `${method}\0${name ?? ''}`;
    let h = this.headersByTool.get(key);
    if (!h) {
      h = { ...this.base, 'mcp-protocol-version': this.protocolVersion, 'mcp-method': method, ...(name !== undefined && { 'mcp-name': name }) };
      this.headersByTool.set(key, h);
    }
    return h;
  }

  call(c: PreparedCall, timeoutMs: number): Promise<CallError | null> {
    const id = this.nextId++;
    return this.client
      .exchange({ method: 'POST', headers: this.headersFor('tools/call', c.tool), body: `${c.prefix}${id}}`, expectId: id, timeoutMs })
      .then(outcomeError);
  }

  listTools(timeoutMs: number): Promise<string[] | CallError> {
    return listAllTools(async (body) => {
      const msg = JSON.parse(body) as { id: string; params: Record<string, unknown> };
      msg.params._meta = modernMeta(this.protocolVersion);
      const o = await this.client.exchange({ method: 'POST', headers: this.headersFor('tools/list'), body: JSON.stringify(msg), expectId: msg.id, timeoutMs });
      if (!o.ok) return { kind: o.kind, ...(o.detail ? { message: o.detail } : {}) };
      return o.message ?? { kind: 'bad_response', message: 'no JSON-RPC response' };
    });
  }
}

export interface HttpDriverOptions {
  url: string;
  headers?: Record<string, string>;
  /** Upper bound on concurrent requests; the keep-alive pool is sized from it. */
  concurrency: number;
  protocolVersion?: string;
  /** How many sessions are initialized at the same time (default 8). */
  openParallelism?: number;
  /** "raw" (default for http:) or "node" (node:http; always used for https:). */
  httpClient?: HttpClientKind;
}

export class HttpDriver implements Driver {
  readonly transport = 'http' as const;
  readonly target: string;
  private readonly client: HttpClient;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  private readonly protocolVersion: string;
  private readonly openParallelism: number;
  private readonly opened: HttpSession[] = [];

  constructor(o: HttpDriverOptions) {
    const url = new URL(o.url);
    this.client = createHttpClient(url, { kind: o.httpClient, maxSockets: o.concurrency + 4 });
    this.target = url.href;
    this.protocolVersion = o.protocolVersion ?? PROTOCOL_VERSION;
    this.openParallelism = Math.max(1, o.openParallelism ?? 8);
    this.baseHeaders = {
      ...o.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
  }

  async open(count: number, timeoutMs: number): Promise<OpenedSessions> {
    if (isModernVersion(this.protocolVersion)) return this.openModern(count);
    const slots: (HttpSession | undefined)[] = new Array(count);
    const createMs: number[] = [];
    const errors: Record<string, number> = {};
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const r = await this.openOne(timeoutMs);
        if ('kind' in r) {
          errors[r.kind] = (errors[r.kind] ?? 0) + 1;
        } else {
          slots[i] = r.session;
          createMs.push(r.ms);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, this.openParallelism) }, worker));
    const sessions = slots.filter((s): s is HttpSession => s !== undefined);
    return { sessions, createMs, errors };
  }

  /** MCP 2026-07-28: nothing to open; a "session" is a caller group sending self-contained requests. */
  private openModern(count: number): OpenedSessions {
    const sessions = Array.from({ length: count }, () => new ModernHttpSession(this.client, this.baseHeaders, this.protocolVersion));
    return { sessions, createMs: [], errors: {} };
  }

  private async openOne(timeoutMs: number): Promise<{ session: HttpSession; ms: number } | { kind: string }> {
    const t0 = performance.now();
    const init = await this.client.exchange({
      method: 'POST',
      headers: this.baseHeaders,
      body: initializeBody(0, this.protocolVersion),
      expectId: 0,
      timeoutMs,
    });
    const ms = performance.now() - t0;
    if (!init.ok) return { kind: `init_${init.kind}` };
    const msg = init.message;
    if (msg === undefined) return { kind: 'init_bad_response' };
    if (msg.error !== undefined) return { kind: `init_${classifyResponse(msg)?.kind ?? 'rpc_error'}` };
    const negotiated = (msg.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
    const sessionId = init.sessionId;
    const headers: Record<string, string> = {
      ...this.baseHeaders,
      'mcp-protocol-version': typeof negotiated === 'string' ? negotiated : this.protocolVersion,
    };
    if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
    const initialized = await this.client.exchange({
      method: 'POST',
      headers,
      body: INITIALIZED_BODY,
      timeoutMs,
    });
    if (!initialized.ok) return { kind: `initialized_${initialized.kind}` };
    const session = new HttpSession(this.client, headers, sessionId);
    this.opened.push(session);
    return { session, ms };
  }

  async close(): Promise<void> {
    const withIds = this.opened.filter((s) => s.sessionId !== undefined);
    this.opened.length = 0;
    // Best effort: a server may answer 405 (it does not let clients end sessions), which is fine.
    await Promise.all(
      withIds.map((s) => {
        const headers = { ...s.headers };
        delete headers['content-type'];
        return this.client.exchange({ method: 'DELETE', headers, timeoutMs: 5_000 });
      }),
    );
    this.client.close();
  }
}
