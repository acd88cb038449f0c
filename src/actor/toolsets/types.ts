/**
 * The Toolset contract: what a toolset module exports and what it may use.
 *
 * A toolset module's default export (or its export named `toolset`) is one Toolset. The runtime
 * creates one `McpServer` per MCP session inside that session's actor thread and calls
 * `register(server, ctx)` on every configured toolset before the session's first message.
 *
 * Rules a toolset follows:
 * - `register` only registers (tools, resources, prompts, capabilities, request handlers). It runs
 *   before the session is bound, so it must not read `ctx.sessionId` — handlers may.
 * - Per-session state that must survive hibernation and actor restarts goes through `ctx.state`
 *   (small, JSON-serializable). Anything kept in closures is lost when the thread stops.
 * - Honour `extra.signal` in long-running handlers: it fires on cancellation and on deadline.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

/** The `extra` argument the SDK passes to every request handler and tool callback. */
export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Small per-session key/value state that survives hibernation and actor restarts. */
export interface SessionState {
  get<T = unknown>(key: string): T | undefined;
  /** Stores a JSON-serializable value. Throws when the session's state would exceed its size cap. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  keys(): string[];
}

/** What the mailbox stamped on a request when it arrived. */
export interface RequestMeta {
  /** 1-based arrival order of this request among the session's mailbox requests. */
  readonly seq: number;
  /** Epoch milliseconds at which the edge accepted the request. */
  readonly receivedAt: number;
  /** Epoch milliseconds at which this request's deadline passes. */
  readonly deadlineAt: number;
}

export interface ToolsetLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** zod, for input and output schemas: `import { z } from 'mcp-actors/toolset'`, or `ctx.z`. */
export { z };

export interface ToolsetContext {
  /**
   * The zod the runtime itself uses, for tool input and output schemas — a toolset file anywhere
   * (outside any node_modules tree) needs no import at all.
   */
  readonly z: typeof z;
  /** The MCP session id. Only valid inside handlers (after the session is bound). */
  readonly sessionId: string;
  /** The actor key (today the session id; later a state handle). */
  readonly actorKey: string;
  /** The worker thread id of the actor serving this session. */
  readonly threadId: number;
  /** This toolset's section of the server configuration (`toolsetConfig[name]`), or `{}`. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly state: SessionState;
  readonly log: ToolsetLogger;
  /** The mailbox stamp of the request a handler is serving, looked up by `extra.requestId`. */
  requestMeta(extra: Pick<HandlerExtra, 'requestId'>): RequestMeta | undefined;
  /** Registers cleanup that runs when the session ends, hibernates, or its actor stops. */
  onStop(fn: () => void | Promise<void>): void;
  /**
   * Keeps the session's actor awake (no hibernation) until the returned function is called — for
   * a toolset that owes its client a message later (a timer, a subscription it pushes on).
   */
  keepAwake(): () => void;
  /**
   * Services the runtime offers to toolsets by name: `session` (a SessionService: stats, end),
   * and the resource services of later toolsets. `undefined` when the runtime does not provide it.
   */
  service<T = unknown>(name: string): T | undefined;
}

export interface Toolset {
  /** A short lowercase name, unique among the loaded toolsets. */
  readonly name: string;
  readonly description?: string;
  /** Text appended to the server's `instructions` in the initialize result. */
  readonly instructions?: string;
  register(server: McpServer, ctx: ToolsetContext): void | Promise<void>;
}

/** Identity helper that gives a toolset literal its type. */
export function defineToolset<T extends Toolset>(toolset: T): T {
  return toolset;
}
