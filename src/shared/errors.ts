/**
 * Errors are values: every error the runtime produces is a CodedError — on any thread — with a
 * stable string code, whether retrying may help, and a message a person can act on. The table
 * below is the runtime's whole vocabulary: for each code an HTTP status (when it ends an HTTP
 * exchange), a JSON-RPC code (when it answers a request) and a base message. Integrations name
 * their own codes (ccxt's, cua's) in their shared/errors modules; they use the same class.
 */

export interface ErrorSpec {
  readonly http: number;
  readonly rpc: number;
  readonly message: string;
}

// JSON-RPC reserves -32768..-32000; -32000..-32099 is for implementations. -32001 is what the MCP
// SDK uses both for "Session not found" (HTTP 404) and for request timeouts, and what clients expect.
const table = {
  PARSE_ERROR: { http: 400, rpc: -32700, message: 'Parse error: the body is not valid JSON' },
  INVALID_REQUEST: { http: 400, rpc: -32600, message: 'Invalid Request' },
  BATCH_NOT_SUPPORTED: { http: 400, rpc: -32600, message: 'Invalid Request: JSON-RPC batches are not supported; send one message per request' },
  INVALID_UTF8: { http: 400, rpc: -32700, message: 'Parse error: the body is not valid UTF-8' },
  TOO_DEEP: { http: 400, rpc: -32600, message: 'Invalid Request: JSON nesting is too deep' },
  SESSION_REQUIRED: { http: 400, rpc: -32000, message: 'Bad Request: Mcp-Session-Id header is required (send initialize first)' },
  ALREADY_INITIALIZED: { http: 400, rpc: -32600, message: 'Invalid Request: this session is already initialized; send initialize without Mcp-Session-Id to start a new one' },
  SESSION_NOT_FOUND: { http: 404, rpc: -32001, message: 'Session not found: it never existed or has ended; initialize a new session' },
  UNSUPPORTED_PROTOCOL_VERSION: { http: 400, rpc: -32000, message: 'Bad Request: unsupported MCP-Protocol-Version' },
  // MCP 2026-07-28 (the spec's own codes): headers that disagree with the body; a request that
  // names the 2026 era in its header but carries no per-request envelope.
  HEADER_MISMATCH: { http: 400, rpc: -32020, message: 'Header mismatch' },
  MISSING_ENVELOPE: { http: 400, rpc: -32602, message: 'Invalid params: the request carries no per-request _meta envelope' },
  NOT_ACCEPTABLE: { http: 406, rpc: -32000, message: 'Not Acceptable' },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, rpc: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' },
  PAYLOAD_TOO_LARGE: { http: 413, rpc: -32000, message: 'Payload Too Large' },
  FORBIDDEN_HOST: { http: 403, rpc: -32000, message: 'Forbidden: Host header not allowed' },
  DUPLICATE_HOST: { http: 400, rpc: -32000, message: 'Bad Request: more than one Host header (RFC 9112 section 3.2)' },
  FORBIDDEN_ORIGIN: { http: 403, rpc: -32000, message: 'Forbidden: Origin not allowed' },
  STREAM_CONFLICT: { http: 409, rpc: -32000, message: 'Conflict: this session already has an open GET event stream' },
  UNKNOWN_EVENT_ID: { http: 400, rpc: -32000, message: 'Bad Request: Last-Event-ID does not name an event of this session' },
  METHOD_NOT_ALLOWED: { http: 405, rpc: -32000, message: 'Method Not Allowed' },
  DUPLICATE_REQUEST_ID: { http: 400, rpc: -32600, message: 'Invalid Request: a request with this id is already in flight in this session' },
  SESSION_BUSY: { http: 200, rpc: -32010, message: 'Session busy: its mailbox is full; retry after in-flight requests complete' },
  SERVER_BUSY: { http: 503, rpc: -32011, message: 'Server busy: the maximum number of concurrent sessions is reached' },
  SHUTTING_DOWN: { http: 503, rpc: -32012, message: 'Server shutting down: not accepting new sessions' },
  DEADLINE_EXCEEDED: { http: 200, rpc: -32001, message: 'Request timed out: its deadline passed and the handler was aborted' },
  ACTOR_CRASHED: { http: 200, rpc: -32013, message: 'Session actor crashed while running this request; the actor was restarted and the session is intact' },
  ACTOR_OOM: { http: 200, rpc: -32014, message: 'Session actor ran out of memory (per-session heap limit) while running this request; the actor was restarted and the session is intact' },
  ACTOR_KILLED: { http: 200, rpc: -32015, message: 'Session actor was terminated because a handler did not yield after its deadline; the actor was restarted and the session is intact' },
  SESSION_ENDED: { http: 200, rpc: -32016, message: 'Session ended before this request could run' },
  REQUEST_CANCELLED: { http: 200, rpc: -32800, message: 'Request cancelled by the client' },
  ACTOR_UNAVAILABLE: { http: 503, rpc: -32017, message: 'Session actor could not be started' },
  // The stateless pool (MCP 2026-07-28 requests without a handle): the same JSON-RPC codes as an actor's.
  POOL_THREAD_CRASHED: { http: 200, rpc: -32013, message: 'The thread running this request crashed; it was replaced, and requests on other threads were not affected' },
  POOL_THREAD_OOM: { http: 200, rpc: -32014, message: 'The thread running this request ran out of memory (per-thread heap limit); it was replaced, and requests on other threads were not affected' },
  POOL_THREAD_KILLED: { http: 200, rpc: -32015, message: 'The thread running this request was replaced because a request on it did not yield after its deadline' },
  RESULT_NOT_TRANSFERABLE: { http: 200, rpc: -32603, message: 'Internal error: the result could not be sent across the thread boundary' },
  UNAUTHORIZED: { http: 401, rpc: -32000, message: 'Unauthorized' },
  INSUFFICIENT_SCOPE: { http: 403, rpc: -32000, message: 'Forbidden: the access token lacks a required scope' },
  FORBIDDEN: { http: 403, rpc: -32000, message: 'Forbidden' },
  AUTH_UNAVAILABLE: { http: 503, rpc: -32000, message: 'Service Unavailable: access tokens cannot be checked right now (the authorization server\'s keys could not be fetched)' },
  // Every per-principal or per-session quota answers 429 with Retry-After and the same JSON-RPC
  // code; data.code tells them apart.
  RATE_LIMITED: { http: 429, rpc: -32018, message: 'Too Many Requests' },
  PRINCIPAL_SESSION_LIMIT: { http: 429, rpc: -32018, message: 'Too Many Requests: this principal has the maximum number of open sessions; end one (DELETE) or wait for one to expire' },
  PRINCIPAL_INFLIGHT_LIMIT: { http: 429, rpc: -32018, message: 'Too Many Requests: this principal has the maximum number of requests in flight' },
  TOO_MANY_STREAMS: { http: 429, rpc: -32018, message: 'Too Many Requests: this session has the maximum number of open SSE streams; close one first' },
  // Cluster mode: the directory (NATS) is unreachable; a node serving a forwarded request died.
  CLUSTER_UNAVAILABLE: { http: 503, rpc: -32019, message: 'Service Unavailable: the cluster directory (NATS) cannot be reached; retry shortly' },
  ACTOR_MOVED: { http: 503, rpc: -32019, message: 'Service Unavailable: the session or handle moved to another node while the request was on its way; retry' },
  NODE_LOST: { http: 503, rpc: -32019, message: 'Service Unavailable: the node serving this request was lost' },
  BODY_TOO_LARGE_TO_FORWARD: { http: 413, rpc: -32000, message: 'Payload Too Large: the request must be forwarded to the node that owns its session, and NATS carries at most max_payload bytes' },
  INTERNAL: { http: 500, rpc: -32603, message: 'Internal error' },
  // Below the edge: between threads, pools and resource actors.
  UNKNOWN_CALL: { http: 500, rpc: -32603, message: 'Internal error: unknown runtime call' },
  CALL_TIMEOUT: { http: 504, rpc: -32603, message: 'Internal error: a call between threads got no answer in time' },
  DETACHED: { http: 500, rpc: -32603, message: 'This session is over: its actor incarnation has been detached' },
  UNKNOWN_RESOURCE: { http: 500, rpc: -32603, message: 'No such resource kind on this server' },
  RESOURCE_LOST: { http: 503, rpc: -32603, message: 'The resource is gone (its actor stopped or the lease ended)' },
  RESOURCE_UNAVAILABLE: { http: 503, rpc: -32603, message: 'The resource cannot be provided right now' },
  NO_INSTANCE: { http: 500, rpc: -32603, message: 'No such resource instance' },
  LEASE_TIMEOUT: { http: 503, rpc: -32603, message: 'No resource became available in time' },
  LEASE_CANCELLED: { http: 500, rpc: -32603, message: 'The lease was abandoned before it was granted' },
  POOL_CLOSED: { http: 503, rpc: -32603, message: 'The resource pool is closing' },
  OP_TIMEOUT: { http: 504, rpc: -32603, message: 'A resource operation did not complete in time' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof table;

export interface CodedErrorOptions {
  /** Whether the same call may succeed if retried later (default false). */
  retryable?: boolean;
  /** Extra fields for `error.data` (JSON-RPC) or a tool error's structuredContent. */
  data?: Record<string, unknown>;
}

/**
 * The one error type of the runtime. Its `code` is one of the table's, or an integration's own
 * (ccxt, cua); `http`/`rpc` come from the table (500 / -32603 for codes it does not list).
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly retryable: boolean;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: CodedErrorOptions = {}) {
    super(message);
    this.name = 'CodedError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.data = options.data;
  }

  private get spec(): ErrorSpec | undefined {
    return (table as Record<string, ErrorSpec>)[this.code];
  }

  get http(): number {
    return this.spec?.http ?? 500;
  }

  get rpc(): number {
    return this.spec?.rpc ?? -32603;
  }

  /** The JSON-RPC error object; `data.code` carries the stable string code. */
  toRpcError(): { code: number; message: string; data: Record<string, unknown> } {
    return { code: this.rpc, message: this.message, data: { code: this.code, ...this.data } };
  }
}

/** A setting that cannot work (exit code 2 at start): code BAD_CONFIG. */
export class ConfigError extends CodedError<'BAD_CONFIG'> {
  constructor(message: string) {
    super('BAD_CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** An edge error: the table's message for the code, with a detail after it. */
export function rpcError(code: ErrorCode, detail?: string, data?: Record<string, unknown>): CodedError<ErrorCode> {
  const base = table[code].message;
  return new CodedError(code, detail ? `${base}: ${detail}` : base, { data });
}

/** An error below the edge: a code and a whole sentence. */
export function codedError<C extends string>(code: C, message: string, options?: CodedErrorOptions): CodedError<C> {
  return new CodedError(code, message, options);
}

export type JsonRpcId = string | number;

/** A complete JSON-RPC error response, serialized. `id` is null when the request id is unknown. */
export function errorResponseJson(id: JsonRpcId | null, err: CodedError): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: err.toRpcError() });
}
