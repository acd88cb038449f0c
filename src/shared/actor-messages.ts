/**
 * Everything that crosses between the main thread and a session actor thread. One discriminated
 * union per direction; no other postMessage shapes exist.
 *
 * JSON-RPC payloads cross as JSON text: the edge has already parsed and validated them, and a
 * string clones as a flat copy, cheaper on the main thread than an object graph. The actor parses
 * inbound text and serializes outbound messages, so that work happens off the main thread.
 */
import type { BootKind } from './code-cache.js';
import type { JsonRpcId } from './errors.js';

/** What a session must replay on a fresh actor thread so the client never re-initializes. */
export interface Handshake {
  /** The client's `initialize` params, as JSON text. */
  initialize: string;
  logLevel?: string;
  subscriptions: string[];
}

/** Which actor a thread is bound to (see ActorKind in src/actor/toolsets/types.ts). */
export interface ActorBinding {
  kind: 'session' | 'handle' | 'stateless';
  /** The session id or the handle; '' for a stateless pool thread. */
  key: string;
  /** The principal the actor belongs to (sessions and handles; undefined: anonymous). */
  principal?: string;
}

/** A cache hint for one list/read/discover method (MCP 2026-07-28 `ttlMs` / `cacheScope`). */
export interface CacheHint {
  ttlMs?: number;
  cacheScope?: 'public' | 'private';
}

/** Static data every actor thread boots with. */
export interface ActorBootData {
  /** Resolved toolset module specifiers (`builtin:<name>` or file URLs), in registration order. */
  toolsets: string[];
  toolsetConfig: Record<string, Record<string, unknown>>;
  serverName: string;
  serverVersion: string;
  logLevel: string;
  stateMaxBytes: number;
  /** Linux nice value the thread gives itself (0 = leave as is). */
  nice: number;
  /** The MRTR requestState signing key (≥ 32 bytes), the same on every thread and node. */
  requestStateKey: string;
  /** How long a minted requestState stays valid. */
  requestStateTtlSeconds: number;
  /** Cache hints per method for 2026-07-28 results (the SDK's ServerOptions.cacheHints). */
  cacheHints: Record<string, CacheHint>;
  /** How long an idle handle lives, in words, for the creating tools' descriptions ("30 minutes"). */
  handleLifetime: string;
  /** The V8 code cache of the worker bundle (read, or written when missing or stale); undefined: none. */
  codeCacheFile?: string;
}

/** The HTTP headers a 2026-07-28 request is checked against (lower-case names). */
export type RequestHeaders = Record<string, string>;

/** How a 2026-07-28 request is delivered: what the actor checks and binds it to. */
export interface ModernDelivery {
  /** MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* (undefined on stdio: no header layer). */
  headers?: RequestHeaders;
  /** The caller's principal id (undefined: anonymous). */
  principal?: string;
  /** The call named a handle that is unknown, expired or not the caller's: answer the handle tool error. */
  handleRejected?: true;
}

/** A tool that takes part in a toolset's state handles (from its HandleSpec), by tool name. */
export interface HandleTool {
  argument: string;
  role: 'create' | 'destroy' | 'use' | 'optional';
}

export type ToActor =
  /** Assigns the (warm) actor to a session, a handle or the stateless pool; replays a resumed session's handshake. */
  | {
      t: 'bind';
      actor: ActorBinding;
      handshake?: Handshake;
      state: Record<string, unknown>;
      /** A stateless pool thread's claim slots, shared with the pool (see `in`'s claim). */
      claims?: SharedArrayBuffer;
    }
  /**
   * One inbound JSON-RPC message. Requests carry the mailbox stamp and `id`, the id the runtime
   * knows them by: the client's own in a 2025 session, a runtime-unique one for a 2026 request
   * (the actor serves it under that id and answers with the client's). `modern` marks a
   * 2026-07-28 request. A stateless pool request carries its `claim`: the thread runs it only if it
   * swaps the slot's token for -token first (the pool may have withdrawn it: see StatelessPool).
   */
  | { t: 'in'; json: string; id?: JsonRpcId; seq?: number; receivedAt?: number; deadlineAt?: number; modern?: ModernDelivery; claim?: { slot: number; token: number } }
  /** Checks a 2026-07-28 subscriptions/listen request; answered by `listen`. */
  | { t: 'check-listen'; cid: number; json: string; headers?: RequestHeaders }
  /** The request's deadline passed: fire its AbortSignal (as a cancellation the client never sent). */
  | { t: 'abort'; id: JsonRpcId; reason: string }
  /** Stop gracefully: run toolsets' onStop hooks, close the server, exit the thread. */
  | { t: 'stop' }
  /** The session let go of this thread: retire its incarnation, start a fresh one, post `ready`. */
  | { t: 'recycle' }
  /** The answer to a `call` the actor made. */
  | { t: 'result'; cid: number; ok: true; value: unknown }
  | { t: 'result'; cid: number; ok: false; error: { code: string; message: string } }
  /**
   * A message for one of the actors a shared start thread hosts (see SharedStart on the main
   * side): `bind` opens the slot with a fresh incarnation, then `in`, `abort` and `result` as for
   * a thread of its own.
   */
  | { t: 'slot'; slot: number; m: Extract<ToActor, { t: 'bind' | 'in' | 'abort' | 'result' }> }
  /** The slot's actor let go of the shared thread: retire its incarnation, answer `slot-released`. */
  | { t: 'slot-release'; slot: number };

export type OutKind = 'response' | 'notification' | 'request';

export type FromActor =
  /**
   * Booted: toolsets loaded and registered; waiting for `bind`. `tools` maps tool → toolset;
   * `handles` lists the tools that create, carry or end state handles.
   */
  | { t: 'ready'; tools: Record<string, string>; handles: Record<string, HandleTool>; boot: BootKind }
  | { t: 'boot-failed'; message: string }
  /** Bound to its session (handshake replayed when there was one). */
  | { t: 'bound' }
  /**
   * One outbound JSON-RPC message; `rel` is the inbound request it belongs to, if any. `err`
   * marks an error response, `toolError` a tool result with `isError`; `status` is the HTTP
   * status a 2026-07-28 answer that ends its exchange before any stream calls for (400, 404).
   */
  | { t: 'out'; json: string; kind: OutKind; id?: JsonRpcId; rel?: JsonRpcId; err?: true; toolError?: true; status?: number }
  /** The answer to `check-listen`: the honoured filter, or the error to send (with its HTTP status). */
  | { t: 'listen'; cid: number; ok: true; honoured: Record<string, unknown> }
  | { t: 'listen'; cid: number; ok: false; json: string; status: number }
  /** A list change or resource update for every listener and session (MCP ServerEvent). */
  | { t: 'event'; event: { kind: string; uri?: string } }
  /** A request's handler finished without sending a response (it was cancelled or timed out). */
  | { t: 'settled'; id: JsonRpcId }
  /** A stateless pool thread read a request the pool had withdrawn (its claim token) and dropped it. */
  | { t: 'withdrawn'; token: number }
  /** A handler asked to close its request's SSE stream (the client resumes with Last-Event-ID). */
  | { t: 'close-sse'; id: JsonRpcId }
  | { t: 'close-standalone-sse' }
  /** A message of the actor in a slot of a shared start thread (anything but ready/boot-failed). */
  | { t: 'slot'; slot: number; m: FromActor }
  | { t: 'slot-released'; slot: number }
  /** A toolset changed its per-session state; the main thread keeps the record. */
  | { t: 'state'; key: string; value?: unknown; deleted?: true }
  /** A request to the runtime (session stats, ending a session, resource leases…); answered by `result`. */
  | { t: 'call'; cid: number; op: string; args: Record<string, unknown> }
  /** A toolset needs the session awake (a pending timer, a push it owes the client): +1 / −1. */
  | { t: 'pin'; delta: 1 | -1 }
  /** A fault inside the actor worth a log line on the main thread (structured, no secrets). */
  | { t: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; msg: string; data?: Record<string, unknown> };
