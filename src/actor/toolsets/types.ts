/**
 * The Toolset contract: what a toolset module exports and what it may use.
 *
 * A toolset module's default export (or its export named `toolset`) is one Toolset, written once
 * against the MCP SDK's v2 `McpServer` (`@modelcontextprotocol/server`) and served to both
 * protocol eras:
 * - 2025-era clients (`initialize`, `Mcp-Session-Id`) get a session actor: one thread per
 *   session, whose `McpServer` serves that session only.
 * - 2026-07-28 clients send self-contained requests. A call that carries a state handle (see
 *   `handles` below) runs on that handle's actor thread; every other request runs on a thread
 *   of the stateless pool, whose `McpServer` serves many requests at once.
 *
 * The runtime creates one `McpServer` per actor incarnation and calls `register(server, ctx)` on
 * every configured toolset before the actor's first message, on every kind of actor: the tool,
 * prompt and resource lists are the same on every thread.
 *
 * Rules a toolset follows:
 * - `register` only registers (tools, resources, prompts, capabilities, request handlers). It
 *   runs before the actor is bound, so it must not read `ctx.actor` — handlers may.
 * - State that must survive hibernation and actor restarts goes through `ctx.state` (small,
 *   JSON-serializable): a session's or a handle's. A stateless request has none (`ctx.state`
 *   throws); anything kept in closures is lost when the thread stops.
 * - Ask the client for input by returning `inputRequired(...)` (from `@modelcontextprotocol/server`),
 *   with state minted by `ctx.requestState.mint` when the next round needs any: 2026 clients answer
 *   by retrying, 2025 sessions get real elicitation/sampling requests (the SDK's legacy shim).
 * - Publish list changes and resource updates with `ctx.events.publish`: they reach every
 *   `subscriptions/listen` stream and every 2025 session, whichever thread published them.
 * - Honour `hctx.mcpReq.signal` in long-running handlers: it fires on cancellation and at the
 *   request's deadline.
 */
import type { McpServer, ServerContext, ServerEvent } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** The context the SDK passes to every request handler and tool callback (v2's `ctx`). */
export type HandlerContext = ServerContext;

/** Small per-actor key/value state that survives hibernation and actor restarts. */
export interface SessionState {
  get<T = unknown>(key: string): T | undefined;
  /** Stores a JSON-serializable value. Throws when the actor's state would exceed its size cap. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  keys(): string[];
}

/**
 * Which actor serves the request:
 * - `session`: a 2025-era MCP session (key: the session id — a secret, never show it);
 * - `handle`: a 2026-era state handle (key: the handle);
 * - `stateless`: a thread of the stateless pool (key: '') — no state, many requests at once.
 */
export type ActorKind = 'session' | 'handle' | 'stateless';

export interface ActorIdentity {
  readonly kind: ActorKind;
  readonly key: string;
  /**
   * The state handle the creating tool of a handle toolset returns to its caller: the handle of
   * a handle actor; for a session, one minted for it on first use (calls that carry it run in the
   * session, as everything there does); undefined on the stateless pool.
   */
  readonly handle: string | undefined;
}

/** What the runtime knows of the request a handler serves. */
export interface RequestInfo {
  /** 1-based arrival order of this request among its actor's mailbox requests (0 on the stateless pool). */
  readonly seq: number;
  /** Epoch milliseconds at which the edge accepted the request. */
  readonly receivedAt: number;
  /** Epoch milliseconds at which this request's deadline passes. */
  readonly deadlineAt: number;
  /** `legacy`: a 2025-era session's request; `modern`: a 2026-07-28 request. */
  readonly era: 'legacy' | 'modern';
  /** The authenticated principal's id (undefined: anonymous). */
  readonly principal: string | undefined;
}

export interface ToolsetLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/**
 * State handles (MCP 2026-07-28 has no sessions; cross-request state travels as a server-minted
 * handle in tool arguments). A toolset that keeps state per workflow declares:
 * - `argument`: the tool argument that carries the handle (e.g. `session_id`). Every tool of this
 *   toolset whose input schema has it is a handle tool; declare the argument optional, since a
 *   2025 session is itself the state.
 * - `create`: tools that start a new handle. The runtime mints it (≥ 128 random bits, bound to the
 *   caller's principal) and runs the call on the new handle's own actor; the tool returns
 *   `ctx.actor.handle` to its caller. A creating call that fails leaves no handle behind.
 * - `destroy`: the tool that ends a handle: once it has answered without error, the handle's actor
 *   stops and whatever it leased is released.
 * - `optional`: handle tools that also run without a handle (statelessly), or `true` for all of
 *   them. Any other handle tool called by a 2026 client without one gets a tool error naming the
 *   creating tool.
 * - The creating tool may belong to another toolset (several toolsets can share one argument, as
 *   `cua` shares the `session` toolset's `session_id`); at least one of `create` must be loaded.
 * - `noun`: what a handle names ("computer-use session"), for the creating tools' descriptions.
 *
 * The runtime routes every 2026 call that carries a handle to that handle's actor: its own thread,
 * mailbox order, deadlines, crash restart with its `ctx.state`, hibernation, idle expiry. A
 * foreign, expired or unknown handle gets one and the same tool error.
 */
export interface HandleSpec {
  readonly argument: string;
  readonly create: readonly string[];
  readonly destroy?: string;
  /** Handle tools that also run without a handle; `true`: every one but the creating and destroying tools. */
  readonly optional?: readonly string[] | true;
  readonly noun?: string;
}

/** zod, for input and output schemas: `import { z } from 'mcp-actors/toolset'`, or `ctx.z`. */
export { z };

export interface ToolsetContext {
  /**
   * The zod the runtime itself uses, for tool input and output schemas — a toolset file anywhere
   * (outside any node_modules tree) needs no import at all.
   */
  readonly z: typeof z;
  /** The actor this incarnation serves. Only valid inside handlers (after the actor is bound). */
  readonly actor: ActorIdentity;
  /** The worker thread id of the actor serving this request. */
  readonly threadId: number;
  /** This toolset's section of the server configuration (`toolsetConfig[name]`), or `{}`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The actor's state (a session's or a handle's). Throws on the stateless pool. */
  readonly state: SessionState;
  readonly log: ToolsetLogger;
  /** What the runtime knows of the request a handler is serving, found by `hctx.mcpReq.id`. */
  request(hctx: Pick<HandlerContext, 'mcpReq'>): RequestInfo | undefined;
  /** Registers cleanup that runs when the actor ends, hibernates, or its thread stops. */
  onStop(fn: () => void | Promise<void>): void;
  /**
   * Keeps the actor awake (no hibernation) until the returned function is called — for a toolset
   * that owes its client a message later (a timer, a subscription it pushes on).
   */
  keepAwake(): () => void;
  /**
   * Services the runtime offers to toolsets by name: `session` (a SessionService: stats, end),
   * `leases` (resource leases), and those of integrations. `undefined` when not provided.
   */
  service<T = unknown>(name: string): T | undefined;
  /**
   * The server's event bus: a list change or resource update published here reaches every
   * `subscriptions/listen` stream that asked for it and every 2025 session, from any thread.
   */
  readonly events: { publish(event: ServerEvent): void };
  /**
   * Multi-round-trip request state: `mint` signs `payload` with the key every thread (and node)
   * shares, bound to the caller, the method, the tool and the handle, valid for a short time. The
   * runtime verifies it on the retry before the handler runs (`hctx.mcpReq.requestState()` then
   * returns the payload); tampered or expired state is refused with the error the spec requires.
   */
  readonly requestState: { mint<T>(payload: T, hctx: HandlerContext): Promise<string> };
}

export interface Toolset {
  /** A short lowercase name, unique among the loaded toolsets. */
  readonly name: string;
  readonly description?: string;
  /** Text appended to the server's `instructions` (initialize result, server/discover). */
  readonly instructions?: string;
  /** State handles this toolset's tools create and carry (MCP 2026-07-28); see HandleSpec. */
  readonly handles?: HandleSpec;
  register(server: McpServer, ctx: ToolsetContext): void | Promise<void>;
}

/** Identity helper that gives a toolset literal its type. */
export function defineToolset<T extends Toolset>(toolset: T): T {
  return toolset;
}
