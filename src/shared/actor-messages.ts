/**
 * Everything that crosses between the main thread and a session actor thread. One discriminated
 * union per direction; no other postMessage shapes exist.
 *
 * JSON-RPC payloads cross as JSON text: the edge has already parsed and validated them, and a
 * string clones as a flat copy, cheaper on the main thread than an object graph. The actor parses
 * inbound text and serializes outbound messages, so that work happens off the main thread.
 */
import type { JsonRpcId } from './errors.js';

/** What a session must replay on a fresh actor thread so the client never re-initializes. */
export interface Handshake {
  /** The client's `initialize` params, as JSON text. */
  initialize: string;
  logLevel?: string;
  subscriptions: string[];
}

/** Static data every session actor thread boots with. */
export interface ActorBootData {
  /** Resolved toolset module specifiers (file URLs), in registration order. */
  toolsets: string[];
  toolsetConfig: Record<string, Record<string, unknown>>;
  serverName: string;
  serverVersion: string;
  logLevel: string;
  stateMaxBytes: number;
  /** Linux nice value the thread gives itself (0 = leave as is). */
  nice: number;
}

export type ToActor =
  /** Assigns the (warm) actor to a session; replays the handshake when resuming one. */
  | { t: 'bind'; sessionId: string; handshake?: Handshake; state: Record<string, unknown> }
  /** One inbound JSON-RPC message. Requests carry the mailbox stamp. */
  | { t: 'in'; json: string; id?: JsonRpcId; seq?: number; receivedAt?: number; deadlineAt?: number }
  /** The request's deadline passed: fire its AbortSignal (as a cancellation the client never sent). */
  | { t: 'abort'; id: JsonRpcId; reason: string }
  /** Stop gracefully: run toolsets' onStop hooks, close the server, exit the thread. */
  | { t: 'stop' }
  /** The session let go of this thread: retire its incarnation, start a fresh one, post `ready`. */
  | { t: 'recycle' }
  /** The answer to a `call` the actor made. */
  | { t: 'result'; cid: number; ok: true; value: unknown }
  | { t: 'result'; cid: number; ok: false; error: { code: string; message: string } };

export type OutKind = 'response' | 'notification' | 'request';

export type FromActor =
  /** Booted: toolsets loaded and registered; waiting for `bind`. `tools` maps tool → toolset. */
  | { t: 'ready'; tools: Record<string, string> }
  | { t: 'boot-failed'; message: string }
  /** Bound to its session (handshake replayed when there was one). */
  | { t: 'bound' }
  /** One outbound JSON-RPC message; `rel` is the inbound request it belongs to, if any. */
  | { t: 'out'; json: string; kind: OutKind; id?: JsonRpcId; rel?: JsonRpcId; err?: true }
  /** A request's handler finished without sending a response (it was cancelled or timed out). */
  | { t: 'settled'; id: JsonRpcId }
  /** A handler asked to close its request's SSE stream (the client resumes with Last-Event-ID). */
  | { t: 'close-sse'; id: JsonRpcId }
  | { t: 'close-standalone-sse' }
  /** A toolset changed its per-session state; the main thread keeps the record. */
  | { t: 'state'; key: string; value?: unknown; deleted?: true }
  /** A request to the runtime (session stats, ending a session, resource leases…); answered by `result`. */
  | { t: 'call'; cid: number; op: string; args: Record<string, unknown> }
  /** A toolset needs the session awake (a pending timer, a push it owes the client): +1 / −1. */
  | { t: 'pin'; delta: 1 | -1 }
  /** A fault inside the actor worth a log line on the main thread (structured, no secrets). */
  | { t: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; msg: string; data?: Record<string, unknown> };
