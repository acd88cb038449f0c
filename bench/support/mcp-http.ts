/**
 * Raw Streamable HTTP requests (tests and benchmark scenarios), for code that checks the wire itself (statuses,
 * headers, SSE framing) rather than what an SDK client makes of it.
 */
export const PROTOCOL_VERSION = '2025-11-25';
export const ACCEPT = 'application/json, text/event-stream';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  retry?: number;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body, or the last JSON-RPC message of an SSE body. */
  json: any;
  events: SseEvent[];
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    const ev: SseEvent = { data: '' };
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      any = true;
      if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') ev.retry = Number(value);
    }
    if (!any) continue;
    ev.data = data.join('\n');
    events.push(ev);
  }
  return events;
}

export interface RpcOptions {
  session?: string;
  headers?: Record<string, string>;
  accept?: string | null;
  contentType?: string | null;
  method?: string;
  protocolVersion?: string | null;
  signal?: AbortSignal;
}

export async function send(url: string, body: unknown, opts: RpcOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (opts.accept !== null) headers.accept = opts.accept ?? ACCEPT;
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.session) headers['mcp-session-id'] = opts.session;
  if (opts.session && opts.protocolVersion !== null) headers['mcp-protocol-version'] = opts.protocolVersion ?? PROTOCOL_VERSION;
  Object.assign(headers, opts.headers);
  const res = await fetch(url, {
    method: opts.method ?? 'POST',
    headers,
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal: opts.signal,
  });
  const text = await res.text();
  let json: any;
  let events: SseEvent[] = [];
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    events = parseSse(text);
    const messages = events.filter((e) => e.data.trim()).map((e) => JSON.parse(e.data));
    json = messages.at(-1);
  } else if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, text, json, events };
}

let nextId = 1;
export function request(method: string, params?: Record<string, unknown>, id: string | number = nextId++): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
}

export function initializeRequest(id: string | number = nextId++, capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return request('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities, clientInfo: { name: 'mcp-actors-tests', version: '1.0.0' } }, id);
}

/** Opens a session: initialize + notifications/initialized. */
export async function openSession(url: string, capabilities: Record<string, unknown> = {}): Promise<string> {
  const res = await send(url, initializeRequest(undefined, capabilities));
  if (res.status !== 200) throw new Error(`initialize failed: ${res.status} ${res.text}`);
  const session = res.headers.get('mcp-session-id');
  if (!session) throw new Error('no mcp-session-id header on the initialize response');
  const ack = await send(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session });
  if (ack.status !== 202) throw new Error(`notifications/initialized: ${ack.status}`);
  return session;
}

export async function callTool(url: string, session: string, name: string, args: Record<string, unknown> = {}, id?: string | number): Promise<RawResponse> {
  return send(url, request('tools/call', { name, arguments: args }, id), { session });
}

/** The structuredContent of a successful tool call (throws otherwise). */
export function structured(res: RawResponse): any {
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
  if (res.json?.error) throw new Error(`JSON-RPC error: ${JSON.stringify(res.json.error)}`);
  if (res.json?.result?.isError) throw new Error(`tool error: ${JSON.stringify(res.json.result.content)}`);
  return res.json.result.structuredContent;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

// ---- MCP 2026-07-28: self-contained requests (no session) ---------------------------------------

export const MODERN_VERSION = '2026-07-28';

export interface ModernOptions {
  id?: string | number;
  /** The request's clientCapabilities (default {}). */
  capabilities?: Record<string, unknown>;
  /** More `_meta` members (logLevel, progressToken…). */
  meta?: Record<string, unknown>;
  /** Extra or replacement headers; `null` omits a standard header. */
  headers?: Record<string, string | null>;
  /** Authorization: Bearer <token>. */
  token?: string;
  signal?: AbortSignal;
}

/** The per-request `_meta` envelope of a 2026-07-28 request. */
export function envelope(capabilities: Record<string, unknown> = {}, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'mcp-actors-tests', version: '1.0.0' },
    ...more,
  };
}

/** A 2026-07-28 request body. */
export function modernRequest(method: string, params: Record<string, unknown> = {}, opts: ModernOptions = {}): Record<string, unknown> {
  return { jsonrpc: '2.0', id: opts.id ?? nextId++, method, params: { ...params, _meta: envelope(opts.capabilities, opts.meta) } };
}

/** The standard headers (SEP-2243) a 2026-07-28 client sends with `body`. */
export function modernHeaders(body: { method?: unknown; params?: Record<string, unknown> }): Record<string, string> {
  const h: Record<string, string> = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': String(body.method) };
  const name = body.method === 'resources/read' ? body.params?.uri : body.method === 'tools/call' || body.method === 'prompts/get' ? body.params?.name : undefined;
  if (typeof name === 'string') h['mcp-name'] = /^[\x20-\x7e]*$/.test(name) && name.trim() === name ? name : `=?base64?${Buffer.from(name, 'utf8').toString('base64')}?=`;
  return h;
}

/** POSTs one 2026-07-28 request with its standard headers. */
export async function modern(url: string, method: string, params: Record<string, unknown> = {}, opts: ModernOptions = {}): Promise<RawResponse> {
  const body = modernRequest(method, params, opts);
  const headers: Record<string, string> = { ...modernHeaders(body as { method: string; params: Record<string, unknown> }) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  return send(url, body, { headers, ...(opts.signal && { signal: opts.signal }) });
}

/** A 2026-07-28 tools/call. */
export function modernTool(url: string, name: string, args: Record<string, unknown> = {}, opts: ModernOptions = {}): Promise<RawResponse> {
  return modern(url, 'tools/call', { name, arguments: args }, opts);
}
