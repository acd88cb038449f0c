/**
 * The toolset semantics of the runtime (src/actor/incarnation.ts), in-process: what the baseline
 * server gives the toolsets it registers, so that a tool behaves the same against both servers —
 * only where it runs differs (here: everything on the main thread).
 *
 * - A 2025-era session is one actor (kind `session`, key the session id) with its own state, a
 *   state handle minted for it on first use (`ctx.actor.handle`), and its requests stamped with
 *   their arrival order.
 * - A 2026-07-28 request is stateless, unless it is a `tools/call` of a handle tool (HandleSpec):
 *   a creating tool runs on a new handle (≥ 128 random bits, kept once the call answers without
 *   error), a call that carries a live handle runs on that handle's state, an unknown one gets the
 *   runtime's UNKNOWN_HANDLE tool error, a 'use' tool without one HANDLE_REQUIRED; the destroying
 *   tool ends its handle once it has answered without error, and a handle idle too long ends too.
 * - Every server (per session, per 2026 request, per stdio connection) is built the same way: a
 *   v2 `McpServer` with `capabilities: {}`, the toolsets' instructions and `requestState.verify`
 *   of the one request-state codec, bound like the runtime's (method, target, principal, actor).
 * - `ctx.events.publish` goes to one ServerEventBus: `subscriptions/listen` streams and live
 *   2025 sessions subscribe to it (server.ts, stdio.ts).
 * - `ctx.service('session')` answers stats and `end` (a session or handle ending itself); there
 *   are no leases, no admin and no hibernation (`keepAwake` holds nothing).
 * - Requests get `ctx.request(hctx)` = {seq, receivedAt, deadlineAt, era, principal: undefined};
 *   the deadline is reported (receivedAt + requestTimeoutMs) but not enforced, as a single-process
 *   SDK server does not enforce one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import {
  McpServer,
  createRequestStateCodec,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  InMemoryServerEventBus,
  type CallToolResult,
  type JSONRPCMessage,
  type RequestId,
  type ServerEvent,
  type ServerEventBus,
  type Transport,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { codedError } from '../../src/shared/errors.js';
import { describeCreating, handleGuard, handleRole, type HandleRole } from '../../src/actor/handles.js';
import type { SessionService, SessionStats } from '../../src/actor/runtime-calls.js';
import type {
  ActorKind,
  HandleSpec,
  HandlerContext,
  RequestInfo,
  SessionState,
  Toolset,
  ToolsetContext,
  ToolsetLogger,
} from '../../src/actor/toolsets/types.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** JSON-lines logger on stderr. */
export function stderrLogger(level: LogLevel, bindings: Record<string, unknown>): ToolsetLogger {
  const write = (at: Exclude<LogLevel, 'silent'>) => (obj: object | string, msg?: string) => {
    if (LEVEL_RANK[at] < LEVEL_RANK[level]) return;
    const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, ...(msg !== undefined && { msg }) };
    process.stderr.write(`${JSON.stringify({ level: at, time: Date.now(), ...bindings, ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** "30 minutes", "2 hours": the runtime's wording of the handle lifetime (src/main/runtime.ts humanDuration, not imported: it would load the whole runtime). */
function humanDuration(ms: number): string {
  if (ms <= 0) return 'never (they do not expire)';
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1_000, 'second']];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  }
  return `${Math.round(ms / 1000)} seconds`;
}

/** A state handle as the runtime mints them: 144 random bits. */
function mintHandle(): string {
  return `h_${randomBytes(18).toString('base64url')}`;
}

/** An actor's key/value state: one namespace per toolset, values stored as JSON copies (as the runtime persists them). */
class ActorStore {
  readonly #values = new Map<string, unknown>();

  view(ns: string): SessionState {
    const prefix = `${ns}:`;
    return {
      get: <T>(key: string) => this.#values.get(prefix + key) as T | undefined,
      set: (key: string, value: unknown) => {
        const json = JSON.stringify(value);
        if (json === undefined) throw new TypeError(`session state "${prefix}${key}": value is not JSON-serializable`);
        this.#values.set(prefix + key, JSON.parse(json));
      },
      delete: (key: string) => void this.#values.delete(prefix + key),
      keys: () => [...this.#values.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)),
    };
  }
}

/** One actor: a 2025 session, a 2026 state handle, or the stateless "actor" every other 2026 request runs as. */
export class Actor {
  readonly createdAt = Date.now();
  lastActivity = this.createdAt;
  /** Requests of this actor arrived and not yet answered. */
  active = 0;
  readonly store: ActorStore | undefined;
  /** What ending this actor does (server.ts closes a session's transport; a handle leaves the handle table). */
  onEnd: () => void = () => {};
  #seq = 0;
  #ending = false;
  #ended = false;

  constructor(
    readonly kind: ActorKind,
    readonly key: string,
  ) {
    this.store = kind === 'stateless' ? undefined : new ActorStore();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The actor's state handle: a handle's own; for a session one minted on first use (in the runtime's namespace). */
  get handle(): string | undefined {
    if (this.kind === 'stateless') return undefined;
    if (this.kind === 'handle') return this.key;
    const ns = this.store!.view('mcp-actors');
    let h = ns.get<string>('handle');
    if (!h) {
      h = mintHandle();
      ns.set('handle', h);
    }
    return h;
  }

  /** A request arrived: its 1-based arrival number among this actor's requests (0 when stateless). */
  arrive(): number {
    if (this.kind === 'stateless') return 0;
    this.lastActivity = Date.now();
    this.active++;
    return ++this.#seq;
  }

  /** A request of this actor was answered (or given up). */
  depart(): void {
    if (this.kind === 'stateless') return;
    this.active = Math.max(0, this.active - 1);
    this.lastActivity = Date.now();
    if (this.#ending && this.active === 0) this.end();
  }

  /** Ends the actor once the requests it is running have been answered. */
  endSoon(): void {
    this.#ending = true;
    if (this.active === 0) this.end();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd();
  }
}

const STATELESS = new Actor('stateless', '');

/** A 2026 state handle: in the handle table from its creating call's success until destroyed or idle too long. */
class HandleActor extends Actor {
  #idle: NodeJS.Timeout | undefined;

  constructor(
    key: string,
    private readonly table: Map<string, Actor>,
    private readonly idleTimeoutMs: number,
  ) {
    super('handle', key);
    this.onEnd = () => {
      if (this.#idle) clearTimeout(this.#idle);
      if (this.table.get(this.key) === this) this.table.delete(this.key);
    };
  }

  override arrive(): number {
    this.#idle?.refresh();
    return super.arrive();
  }

  /** Destroyed (or ending itself): unknown to new calls at once, over once the calls it runs are answered. */
  override endSoon(): void {
    if (this.table.get(this.key) === this) this.table.delete(this.key);
    super.endSoon();
  }

  /** Its creating call succeeded: the handle now names this actor. */
  commit(): void {
    if (this.ended || this.table.has(this.key)) return;
    this.table.set(this.key, this);
    if (this.idleTimeoutMs > 0) {
      this.#idle = setTimeout(() => {
        if (this.active > 0) this.#idle!.refresh();
        else this.end();
      }, this.idleTimeoutMs).unref();
    }
  }
}

/** What is known of a request: its RequestInfo, its target (tool, prompt, uri) and whether it named an unknown handle. */
export interface Served {
  info: RequestInfo;
  target: string | undefined;
  handleRejected: boolean;
}

/** Which actor a server's toolsets act for, and what is known of each request it serves. */
export interface Binding {
  /** The actor of the request being served now. */
  actor(): Actor;
  served(hctx: Pick<HandlerContext, 'mcpReq'>): Served | undefined;
}

function targetOf(params: unknown): string | undefined {
  const p = params as { name?: unknown; uri?: unknown } | undefined;
  return typeof p?.name === 'string' ? p.name : typeof p?.uri === 'string' ? p.uri : undefined;
}

/**
 * One 2026-07-28 request, routed: the actor it runs as (stateless, a live handle, a new handle
 * for a creating tool) and its RequestInfo. A server built for it (`createServer(request)`) acts
 * for that actor; `finish()` once the request is answered or its client gone.
 */
export class ModernRequest implements Binding {
  #finished = false;

  constructor(
    private readonly runsAs: Actor,
    private readonly info: Served,
  ) {}

  actor(): Actor {
    return this.runsAs;
  }

  served(): Served {
    return this.info;
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.runsAs.depart();
  }
}

/** A 2025-era session: one actor for every request of the session, stamped as they arrive. */
export class SessionBinding implements Binding {
  /** The session id (the transport's, generated here so that the actor has its key from the start). */
  readonly id = randomUUID();
  readonly session = new Actor('session', this.id);
  /** URIs the session subscribed to (resources/subscribe), for resource_updated events. */
  readonly subscriptions = new Set<string>();
  readonly #served = new Map<RequestId, Served>();
  /** resources/subscribe and /unsubscribe requests awaiting their answer. */
  readonly #subscribing = new Map<RequestId, { subscribe: boolean; uri: string }>();

  constructor(private readonly requestTimeoutMs: number) {}

  actor(): Actor {
    return this.session;
  }

  served(hctx: Pick<HandlerContext, 'mcpReq'>): Served | undefined {
    return this.#served.get(hctx.mcpReq.id);
  }

  /**
   * Stamps each request arriving on `transport` with its arrival order, and forgets it once
   * answered or cancelled. Call after `server.connect(transport)` (which installs the handlers
   * wrapped here).
   */
  stamp(transport: Transport): void {
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) {
        const receivedAt = Date.now();
        const seq = this.session.arrive();
        this.#served.set(message.id, {
          info: { seq, receivedAt, deadlineAt: receivedAt + this.requestTimeoutMs, era: 'legacy', principal: undefined },
          target: targetOf(message.params),
          handleRejected: false,
        });
        const uri = (message.params as { uri?: unknown } | undefined)?.uri;
        if ((message.method === 'resources/subscribe' || message.method === 'resources/unsubscribe') && typeof uri === 'string') {
          this.#subscribing.set(message.id, { subscribe: message.method === 'resources/subscribe', uri });
        }
      } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
        const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (id !== undefined) this.#answered(id);
      }
      deliver?.(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = async (message: JSONRPCMessage, options?: Parameters<Transport['send']>[1]) => {
      try {
        await send(message, options);
      } finally {
        if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
          // A subscription counts once the server accepted it (as the runtime keeps it for replay).
          const change = this.#subscribing.get(message.id);
          if (change && isJSONRPCResultResponse(message)) {
            if (change.subscribe) this.subscriptions.add(change.uri);
            else this.subscriptions.delete(change.uri);
          }
          this.#answered(message.id);
        }
      }
    };
  }

  #answered(id: RequestId): void {
    this.#subscribing.delete(id);
    if (this.#served.delete(id)) this.session.depart();
  }

  /** Delivers a server event to this session's client, as the runtime does: list changes always, updates of subscribed URIs. */
  deliver(server: McpServer, event: ServerEvent): Promise<void> {
    switch (event.kind) {
      case 'tools_list_changed':
        return server.server.sendToolListChanged();
      case 'prompts_list_changed':
        return server.server.sendPromptListChanged();
      case 'resources_list_changed':
        return server.server.sendResourceListChanged();
      case 'resource_updated':
        return this.subscriptions.has(event.uri) ? server.server.sendResourceUpdated({ uri: event.uri }) : Promise.resolve();
    }
  }
}

/** A handle tool's role, as the runtime derives it from the HandleSpec. */
interface HandleTool {
  spec: HandleSpec;
  role: HandleRole;
}

const EVENT_KINDS = new Set(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']);

export interface BaselineHostOptions {
  toolsets: Toolset[];
  /** Per-toolset configuration sections, keyed by toolset name (each toolset sees its own as `ctx.config`). */
  config?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Toolset log level (stderr). Default `info`. */
  logLevel?: LogLevel;
  /** The deadline `ctx.request()` reports: receivedAt + this. Default 15 000 ms (the runtime's default). */
  requestTimeoutMs?: number;
  /** A handle without calls this long ends (0: never). Default 30 minutes (the runtime's default). */
  handleIdleTimeoutMs?: number;
  /** The event bus server events go to. Default: a new InMemoryServerEventBus. */
  bus?: ServerEventBus;
}

/**
 * The baseline's in-process "runtime": builds every McpServer with the toolsets registered on
 * contexts bound to an actor, and keeps the handles and sessions those actors are.
 */
export class BaselineHost {
  readonly bus: ServerEventBus;
  readonly logLevel: LogLevel;
  readonly requestTimeoutMs: number;
  /** Tool → its handle role (learned by `init()`, from a first registration). */
  private handleTools: Readonly<Record<string, HandleTool>> = {};
  private readonly toolsets: Toolset[];
  private readonly config: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  private readonly instructions: string | undefined;
  private readonly handleIdleTimeoutMs: number;
  /** The handle lifetime as the creating tools' descriptions say it. */
  private readonly handleLifetime: string;
  private readonly handles = new Map<string, Actor>();
  private readonly sessions = new Set<Actor>();
  private readonly log: ToolsetLogger;
  private readonly codec: ReturnType<typeof createRequestStateCodec>;
  /** Which server's request the codec's `bind` is asked about (mint and verify run inside it). */
  private readonly codecScope = new AsyncLocalStorage<Binding>();

  constructor(options: BaselineHostOptions) {
    this.toolsets = options.toolsets;
    this.config = options.config ?? {};
    this.logLevel = options.logLevel ?? 'info';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.handleIdleTimeoutMs = options.handleIdleTimeoutMs ?? 30 * 60_000;
    this.handleLifetime = humanDuration(this.handleIdleTimeoutMs);
    this.log = stderrLogger(this.logLevel, { component: 'baseline' });
    this.bus = options.bus ?? new InMemoryServerEventBus((err) => this.log.warn({ err: err.message }, 'a server event listener failed'));
    const instructions = this.toolsets.map((t) => t.instructions).filter((s): s is string => Boolean(s));
    this.instructions = instructions.length > 0 ? instructions.join('\n\n') : undefined;
    // One key per process (a restart invalidates requestState in flight, as the runtime's default).
    this.codec = createRequestStateCodec({
      key: randomBytes(32),
      ttlSeconds: 300,
      bind: (hctx) => {
        const binding = this.codecScope.getStore();
        const actor = binding?.actor() ?? STATELESS;
        const target = binding?.served(hctx)?.target ?? '';
        // method, target (tool, prompt, uri), principal (none here), actor — as the runtime binds it.
        return [hctx.mcpReq.method, target, '', actor.kind === 'stateless' ? '' : actor.key].join('\0');
      },
    });
  }

  /** Registers every toolset once (for the handle tools' roles) and checks that each handle toolset's creating tool is loaded. */
  async init(): Promise<void> {
    const roles: Record<string, HandleTool> = {};
    const probe = await this.createServer(new ModernRequest(STATELESS, this.statelessServed(undefined)), roles);
    await probe.close();
    // Never connected, so closing it did not run the toolsets' onStop hooks: run them.
    probe.server.onclose?.();
    for (const t of this.toolsets) {
      if (t.handles && !t.handles.create.some((name) => roles[name]?.role === 'create')) {
        throw new Error(`toolset ${t.name}: its ${t.handles.argument} handles are created by ${t.handles.create.join(' or ')}, which no loaded toolset registers with a ${t.handles.argument} argument`);
      }
    }
    this.handleTools = roles;
  }

  private statelessServed(message: { params?: unknown } | undefined, receivedAt = Date.now()): Served {
    return { info: { seq: 0, receivedAt, deadlineAt: receivedAt + this.requestTimeoutMs, era: 'modern', principal: undefined }, target: targetOf(message?.params), handleRejected: false };
  }

  /**
   * Routes one 2026-07-28 message (undefined: none worth routing — a notification, a rejected
   * request) the way the runtime's router does, and marks its arrival on the actor.
   */
  route(message: JSONRPCMessage | undefined, receivedAt = Date.now()): ModernRequest {
    if (!message || !isJSONRPCRequest(message)) return new ModernRequest(STATELESS, this.statelessServed(undefined, receivedAt));
    const served = this.statelessServed(message, receivedAt);
    const p = message.params as { name?: unknown; arguments?: unknown } | undefined;
    const ht = message.method === 'tools/call' && typeof p?.name === 'string' ? this.handleTools[p.name] : undefined;
    let actor = STATELESS;
    if (ht?.role === 'create') {
      actor = this.newHandle();
    } else if (ht) {
      const args = p?.arguments as Record<string, unknown> | undefined;
      const given = args && typeof args === 'object' ? args[ht.spec.argument] : undefined;
      if (typeof given === 'string') {
        const live = this.handles.get(given);
        if (live) actor = live;
        else served.handleRejected = true;
      }
    }
    served.info = { ...served.info, seq: actor.arrive() };
    return new ModernRequest(actor, served);
  }

  /** A new handle actor: it joins the handle table when its creating call answers without error. */
  private newHandle(): HandleActor {
    return new HandleActor(mintHandle(), this.handles, this.handleIdleTimeoutMs);
  }

  /** A 2025-era session's binding; it counts as a session from `opened()` until its actor ends. */
  newSession(): SessionBinding {
    return new SessionBinding(this.requestTimeoutMs);
  }

  opened(session: SessionBinding): void {
    this.sessions.add(session.session);
  }

  closed(session: SessionBinding): void {
    this.sessions.delete(session.session);
  }

  /** Ends every handle (the server is closing). */
  endHandles(): void {
    for (const h of [...this.handles.values()]) h.end();
  }

  /** Validates and publishes a server event (ctx.events.publish), as the runtime does. */
  private readonly events = {
    publish: (event: ServerEvent) => {
      if (!event || !EVENT_KINDS.has(event.kind)) throw new TypeError(`not a server event: ${JSON.stringify(event)?.slice(0, 100)}`);
      if (event.kind === 'resource_updated' && typeof event.uri !== 'string') throw new TypeError('a resource_updated event needs its uri');
      this.bus.publish(event.kind === 'resource_updated' ? { kind: event.kind, uri: event.uri } : { kind: event.kind });
    },
  };

  private sessionService(binding: Binding): SessionService {
    return {
      stats: async (): Promise<SessionStats> => {
        const caller = binding.actor();
        const open = this.sessions.size + this.handles.size;
        return {
          total_sessions: open,
          // The baseline accepts any number of sessions.
          max_concurrent: Number.MAX_SAFE_INTEGER,
          active_sessions: open,
          hibernated_sessions: 0,
          ...(caller.kind !== 'stateless' && {
            session: {
              created_at: new Date(caller.createdAt).toISOString(),
              last_activity: new Date(caller.lastActivity).toISOString(),
              active_tasks: caller.active,
              restarts: 0,
            },
          }),
        };
      },
      end: async (target: string) => {
        const caller = binding.actor();
        if (caller.kind === 'stateless') throw codedError('FORBIDDEN', 'a stateless request has no session to end: pass its session_id');
        if (target === caller.key) {
          caller.endSoon();
          return { ended: true, deferred: !caller.ended };
        }
        // The baseline has no admin token or principals: nobody may end another session.
        throw codedError('FORBIDDEN', 'ending another session requires the admin token');
      },
    };
  }

  /** The tool error a handle tool answers instead of running (the runtime's own guard), or undefined when it may run. */
  private handleGuard(tool: string, { spec, role }: HandleTool, args: Record<string, unknown> | undefined, binding: Binding, hctx: HandlerContext): CallToolResult | undefined {
    const actor = binding.actor();
    const guarded = { kind: actor.kind, key: actor.key, sessionHandle: actor.kind === 'session' ? actor.handle : undefined };
    return handleGuard(tool, spec, role, args?.[spec.argument], guarded, binding.served(hctx)?.handleRejected === true);
  }

  /**
   * A v2 McpServer with every toolset registered on contexts bound to `binding`, configured as the
   * runtime's (capabilities {}, instructions, requestState.verify of the shared codec). The
   * toolsets' `onStop` hooks run when the server closes. `roles` receives the handle tools' roles.
   */
  async createServer(binding: Binding, roles: Record<string, HandleTool> = {}): Promise<McpServer> {
    const server = new McpServer(
      { name: 'mcp-actors-baseline', version: '0.1.0' },
      {
        capabilities: {},
        ...(this.instructions !== undefined && { instructions: this.instructions }),
        requestState: { verify: (state, hctx) => this.codecScope.run(binding, () => this.codec.verify(state, hctx)) },
      },
    );
    const stopHooks: Array<() => void | Promise<void>> = [];
    const onclose = server.server.onclose;
    server.server.onclose = () => {
      onclose?.();
      void this.runStopHooks(stopHooks);
    };

    let registering: Toolset | undefined;
    const original = server.registerTool.bind(server) as (...args: unknown[]) => unknown;
    (server as unknown as Record<string, unknown>).registerTool = (name: string, config: Record<string, unknown> | undefined, cb: (...a: unknown[]) => unknown) => {
      const spec = registering?.handles;
      const role = handleRole(spec, name, config?.inputSchema);
      if (!spec || !role) return original(name, config, cb);
      const ht: HandleTool = { spec, role };
      roles[name] = ht;
      const described = role === 'create' ? { ...config, description: describeCreating(config?.description, spec, this.handleLifetime) } : config;
      const run = async (args: Record<string, unknown> | undefined, hctx: HandlerContext, call: () => unknown) => {
        const refused = this.handleGuard(name, ht, args, binding, hctx);
        if (refused) return refused;
        const result = (await call()) as CallToolResult;
        const actor = binding.actor();
        if (actor.kind === 'handle' && result?.isError !== true) {
          if (role === 'create' && actor instanceof HandleActor) actor.commit();
          if (role === 'destroy') actor.endSoon();
        }
        return result;
      };
      // A tool without an input schema is called with the handler context only.
      const guarded =
        config?.inputSchema === undefined
          ? (hctx: HandlerContext) => run(undefined, hctx, () => cb(hctx))
          : (args: Record<string, unknown>, hctx: HandlerContext) => run(args, hctx, () => cb(args, hctx));
      return original(name, described, guarded);
    };
    for (const t of this.toolsets) {
      registering = t;
      await t.register(server, this.context(t, binding, stopHooks));
    }
    registering = undefined;
    return server;
  }

  private async runStopHooks(hooks: Array<() => void | Promise<void>>): Promise<void> {
    for (const hook of hooks.splice(0)) {
      try {
        await hook();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'onStop hook failed');
      }
    }
  }

  private readonly loggers = new Map<string, ToolsetLogger>();

  private loggerOf(toolset: string): ToolsetLogger {
    let log = this.loggers.get(toolset);
    if (!log) {
      log = stderrLogger(this.logLevel, { toolset });
      this.loggers.set(toolset, log);
    }
    return log;
  }

  /** The context one toolset sees on a server bound to `binding`. */
  private context(t: Toolset, binding: Binding, stopHooks: Array<() => void | Promise<void>>): ToolsetContext {
    const state = (): SessionState => {
      const store = binding.actor().store;
      if (!store) throw codedError('NO_STATE', 'a stateless request has no state: pass the handle a creating tool returned');
      return store.view(t.name);
    };
    const services: Record<string, unknown> = { session: this.sessionService(binding) };
    return {
      z,
      get actor() {
        const a = binding.actor();
        return {
          kind: a.kind,
          key: a.key,
          get handle() {
            return a.handle;
          },
        };
      },
      threadId,
      config: this.config[t.name] ?? {},
      state: {
        get: (k) => state().get(k),
        set: (k, v) => state().set(k, v),
        delete: (k) => state().delete(k),
        keys: () => state().keys(),
      },
      log: this.loggerOf(t.name),
      request: (hctx) => binding.served(hctx)?.info,
      onStop: (fn) => void stopHooks.push(fn),
      // A single process never hibernates anything: there is nothing to hold awake.
      keepAwake: () => () => {},
      service: <T>(name: string) => services[name] as T | undefined,
      events: this.events,
      requestState: { mint: (payload, hctx) => this.codecScope.run(binding, () => this.codec.mint(payload, hctx)) },
    };
  }
}
