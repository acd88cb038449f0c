/**
 * One incarnation of an actor thread: an SDK v2 `McpServer` with every toolset registered, bound
 * to one actor — a 2025 session, a 2026 state handle, or the stateless pool — and its state,
 * services and toolset contexts.
 *
 * - A session's server is connected to a PortTransport as the SDK's own sessionful server is; a
 *   resumed session's handshake (initialize, logging level, subscriptions) is replayed in-thread.
 * - A handle's or a pool thread's server is pinned to 2026-07-28 by the SDK's message-level
 *   serving (`serveStdio` over a PortTransport): one server answers many requests at once, each
 *   under the runtime-unique id the edge gave it. Each request is admitted first (envelope,
 *   revision, standard and Mcp-Param headers; see modern/admission.ts).
 *
 * An incarnation belongs to exactly one actor. Recycling detaches it first: its transport is
 * closed and its state, services and keepAwake holds refuse to act, so nothing a toolset left
 * running (a timer, a late promise) can ever reach the next actor served by this thread.
 */
import { invalidParams } from './request-params.js';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { McpServer, createRequestStateCodec, type JSONRPCMessage, type MessageExtraInfo, type ServerEvent } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { codedError, type JsonRpcId } from '../shared/errors.js';
import type { ActorBinding, ActorBootData, FromActor, Handshake, HandleTool, ModernDelivery, ToActor } from '../shared/actor-messages.js';
import type { ActorLogger as Logger } from './actor-log.js';
import type { ActorIdentity, HandlerContext, RequestInfo, SessionState, Toolset, ToolsetContext } from './toolsets/types.js';
import { ActorState } from './actor-state.js';
import { PortTransport } from './port-transport.js';
import type { RuntimeCalls, SessionService } from './runtime-calls.js';
import { leaseService, type LeaseService } from './lease-client.js';
import { trackAbortedSettles } from './settle-tracking.js';
import { describeCreating, handleGuard, handleRole, jsonSchemaOf, type GuardedActor } from './handles.js';
import { admit, checkParamHeaders, paramHeadersOf, type ParamHeader, type Rejection } from './modern/admission.js';

const REPLAY_PREFIX = 'mcp-actors/replay/';
/** Outbound JSON larger than this becomes an error response (the edge's body limit is 4 MiB in). */
const MAX_OUT_CHARS = 64 * 1024 * 1024;
/** Where a session keeps the handle minted for it (runtime namespace of its state). */
const SESSION_HANDLE_KEY = 'handle';
const EVENT_KINDS = new Set(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']);

/** What this incarnation knows of a request it serves, by the id it is served under. */
interface Served {
  info: RequestInfo;
  /** tools/call, prompts/get: the name; resources/read: the uri. */
  target: string | undefined;
  handleRejected: boolean;
}

interface ToolRecord {
  toolset: string;
  /** The input schema as registered (a Standard Schema), for x-mcp-header declarations. */
  inputSchema: unknown;
  paramHeaders?: ParamHeader[];
}

export class Incarnation {
  binding: ActorBinding | undefined;
  bound = false;
  detached = false;
  readonly pendingIn: ToActor[] = [];
  readonly stopHooks: Array<() => void | Promise<void>> = [];
  readonly state: ActorState;
  readonly server: McpServer;
  readonly transport: PortTransport;
  /** Tool → the toolset that registered it. */
  readonly tools: Record<string, string> = {};
  readonly handleTools: Record<string, HandleTool> = {};
  private readonly toolRecords = new Map<string, ToolRecord>();
  private readonly served = new Map<JsonRpcId, Served>();
  private readonly replayWaiters = new Map<string, (m: JSONRPCMessage) => void>();
  /** Posts to the main thread while this incarnation is attached. */
  private readonly send: (m: FromActor) => void;
  private replaySeq = 0;
  private modern: { close(): Promise<void> } | undefined;
  private readonly runtimeState: SessionState;

  constructor(
    private readonly post: (m: FromActor) => void,
    private readonly boot: ActorBootData,
    private readonly calls: RuntimeCalls,
    private readonly log: Logger,
    private readonly toolsets: Toolset[],
    instructions: string | undefined,
  ) {
    // Every message this incarnation posts is dropped once it is detached.
    const guardedPost = (m: FromActor) => {
      if (!this.detached) post(m);
    };
    this.send = guardedPost;
    this.state = new ActorState(guardedPost, boot.stateMaxBytes);
    this.runtimeState = this.state.namespace('mcp-actors', () => this.detached);
    const codec = createRequestStateCodec({
      key: boot.requestStateKey,
      ttlSeconds: boot.requestStateTtlSeconds,
      bind: (hctx) => this.bindTag(hctx),
    });
    this.mint = (payload, hctx) => codec.mint(payload, hctx);
    this.server = new McpServer(
      { name: boot.serverName, version: boot.serverVersion },
      {
        capabilities: {},
        ...(instructions !== undefined && { instructions }),
        requestState: { verify: codec.verify },
        cacheHints: boot.cacheHints as never,
      },
    );
    trackAbortedSettles(this.server.server, (id) => {
      this.served.delete(id);
      this.transport.forget(id);
      guardedPost({ t: 'settled', id });
    });
    this.transport = new PortTransport({
      post: guardedPost,
      maxMessageChars: MAX_OUT_CHARS,
      intercept: (m, options) => {
        // What the replayed handshake makes the server say belongs to no client request: it
        // stays in this thread.
        const rel = options?.relatedRequestId;
        if (typeof rel === 'string' && rel.startsWith(REPLAY_PREFIX)) return true;
        if ('id' in m && typeof m.id === 'string' && m.id.startsWith(REPLAY_PREFIX) && !('method' in m)) {
          this.replayWaiters.get(m.id)?.(m);
          this.replayWaiters.delete(m.id);
          return true;
        }
        return false;
      },
      onResponse: (id) => this.served.delete(id),
      unrelated: (m) => {
        if (this.binding?.kind === 'session') return true;
        // A 2026 request has no stream outside itself; events go through ctx.events.
        this.log.debug({ method: 'method' in m ? m.method : undefined }, 'a notification outside any request has no stream in MCP 2026-07-28; dropped (publish events with ctx.events)');
        return false;
      },
    });
  }

  private readonly mint: (payload: unknown, hctx: HandlerContext) => Promise<string>;

  /** The requestState binding: method, target (tool, prompt, uri), principal and actor. */
  private bindTag(hctx: HandlerContext): string {
    const s = this.served.get(hctx.mcpReq.id);
    const actorKey = this.binding?.kind === 'stateless' ? '' : (this.binding?.key ?? '');
    return [hctx.mcpReq.method, s?.target ?? '', s?.info.principal ?? '', actorKey].join('\0');
  }

  private identity(): ActorIdentity {
    const b = this.binding;
    const self = this;
    return {
      kind: b?.kind ?? 'stateless',
      key: b?.kind === 'stateless' ? '' : (b?.key ?? ''),
      get handle() {
        return self.handle();
      },
    };
  }

  /** The state handle of this actor: a handle actor's own, or one minted for a session on first use. */
  private handle(): string | undefined {
    const b = this.binding;
    if (!b || b.kind === 'stateless') return undefined;
    if (b.kind === 'handle') return b.key;
    let h = this.runtimeState.get<string>(SESSION_HANDLE_KEY);
    if (!h) {
      h = `h_${randomBytes(18).toString('base64url')}`;
      this.runtimeState.set(SESSION_HANDLE_KEY, h);
    }
    return h;
  }

  /** Registers every toolset, recording which one registered each tool and its handle role. */
  async register(): Promise<void> {
    let registering: Toolset | undefined;
    const original = this.server.registerTool.bind(this.server) as (...args: unknown[]) => unknown;
    (this.server as unknown as Record<string, unknown>).registerTool = (name: string, config: Record<string, unknown>, cb: (...a: unknown[]) => unknown) => {
      const t = registering;
      if (!t) return original(name, config, cb);
      this.tools[name] = t.name;
      this.toolRecords.set(name, { toolset: t.name, inputSchema: config?.inputSchema });
      const spec = t.handles;
      const role = handleRole(spec, name, config?.inputSchema);
      if (!spec || !role) return original(name, config, cb);
      this.handleTools[name] = { argument: spec.argument, role };
      const described = role === 'create' ? { ...config, description: describeCreating(config.description, spec, this.boot.handleLifetime) } : config;
      const guarded = (args: Record<string, unknown>, hctx: HandlerContext) =>
        handleGuard(name, spec, role, args?.[spec.argument], this.guardedActor(), this.served.get(hctx.mcpReq.id)?.handleRejected === true) ?? cb(args, hctx);
      return original(name, described, guarded);
    };
    const sessionService: SessionService = {
      stats: () => this.call('session.stats', {}),
      end: (target, adminToken) => this.call('session.end', { target, adminToken }),
    };
    const leases: LeaseService = leaseService(
      (op, args, timeoutMs) => this.call(op, args, timeoutMs),
      (msg, data) => this.log.warn(data, msg),
    );
    const services: Record<string, unknown> = {
      session: sessionService,
      leases,
      runtime: { call: (op: string, args: Record<string, unknown>) => this.call(op, args) },
    };
    const events = {
      publish: (event: ServerEvent) => {
        if (!event || !EVENT_KINDS.has(event.kind)) throw new TypeError(`not a server event: ${JSON.stringify(event)?.slice(0, 100)}`);
        if (event.kind === 'resource_updated' && typeof event.uri !== 'string') throw new TypeError('a resource_updated event needs its uri');
        this.send({ t: 'event', event: { kind: event.kind, ...(event.kind === 'resource_updated' && { uri: event.uri }) } });
      },
    };
    const requestState = { mint: <T>(payload: T, hctx: HandlerContext) => this.mint(payload, hctx) };
    const identity = this.identity.bind(this);
    for (const t of this.toolsets) {
      registering = t;
      const statelessState = () => {
        throw codedError('NO_STATE', 'a stateless request has no state: pass the handle a creating tool returned');
      };
      const state = this.state.namespace(t.name, () => this.detached);
      const ctx: ToolsetContext = {
        z,
        get actor() {
          return identity();
        },
        threadId,
        config: this.boot.toolsetConfig[t.name] ?? {},
        state: {
          get: (k) => (this.binding?.kind === 'stateless' ? statelessState() : state.get(k)),
          set: (k, v) => (this.binding?.kind === 'stateless' ? statelessState() : state.set(k, v)),
          delete: (k) => (this.binding?.kind === 'stateless' ? statelessState() : state.delete(k)),
          keys: () => (this.binding?.kind === 'stateless' ? statelessState() : state.keys()),
        },
        log: this.log.child({ toolset: t.name }),
        request: (hctx) => this.served.get(hctx.mcpReq.id)?.info,
        onStop: (fn) => this.stopHooks.push(fn),
        keepAwake: () => {
          if (this.detached) return () => {};
          let held = true;
          this.post({ t: 'pin', delta: 1 });
          return () => {
            if (!held || this.detached) return;
            held = false;
            this.post({ t: 'pin', delta: -1 });
          };
        },
        service: <T>(name: string) => services[name] as T | undefined,
        events,
        requestState,
      };
      await t.register(this.server, ctx);
    }
    registering = undefined;
    for (const t of this.toolsets) {
      if (t.handles && !t.handles.create.some((name) => this.handleTools[name]?.role === 'create')) {
        throw new Error(`toolset ${t.name}: its ${t.handles.argument} handles are created by ${t.handles.create.join(' or ')}, which no loaded toolset registers with a ${t.handles.argument} argument`);
      }
    }
  }

  /** The actor a handle tool's call reached, for the handle guard. */
  private guardedActor(): GuardedActor {
    const b = this.binding;
    return { kind: b?.kind ?? 'stateless', key: b?.key ?? '', sessionHandle: b?.kind === 'session' ? this.runtimeState.get<string>(SESSION_HANDLE_KEY) : undefined };
  }

  private call<T>(op: string, args: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    if (this.detached) return Promise.reject(codedError('DETACHED', 'this actor is over: its incarnation has been detached'));
    return this.calls.call<T>(op, args, timeoutMs);
  }

  private replayRequest(method: string, params: Record<string, unknown>): Promise<JSONRPCMessage> {
    const id = `${REPLAY_PREFIX}${++this.replaySeq}`;
    const done = new Promise<JSONRPCMessage>((resolve) => this.replayWaiters.set(id, resolve));
    this.transport.receive({ jsonrpc: '2.0', id, method, params } as JSONRPCMessage);
    return done;
  }

  /** Binds to its actor: connects a session (replaying a resumed one's handshake), or starts 2026-07-28 serving. */
  async bind(binding: ActorBinding, state: Record<string, unknown>, handshake: Handshake | undefined): Promise<void> {
    this.binding = binding;
    this.state.load(state);
    if (binding.kind !== 'session') {
      this.modern = serveStdio(() => this.server, {
        transport: this.transport,
        legacy: 'reject',
        onerror: (err) => this.log.debug({ err: err.message }, 'SDK serving reported'),
      });
      this.bound = true;
      return;
    }
    this.transport.sessionId = binding.key;
    await this.server.connect(this.transport);
    if (handshake) {
      const init = await this.replayRequest('initialize', JSON.parse(handshake.initialize) as Record<string, unknown>);
      if ('error' in init) throw new Error(`initialize replay failed: ${JSON.stringify(init.error)}`);
      this.transport.receive({ jsonrpc: '2.0', method: 'notifications/initialized' } as JSONRPCMessage);
      if (handshake.logLevel) await this.replayRequest('logging/setLevel', { level: handshake.logLevel });
      for (const uri of handshake.subscriptions) {
        const r = await this.replayRequest('resources/subscribe', { uri });
        if ('error' in r) this.log.warn({ uri }, 'subscription could not be replayed');
      }
    }
    this.bound = true;
  }

  private extraFor(id: JsonRpcId): MessageExtraInfo {
    return {
      closeSSEStream: () => this.post({ t: 'close-sse', id }),
      closeStandaloneSSEStream: () => this.post({ t: 'close-standalone-sse' }),
    };
  }

  private reject(id: JsonRpcId, clientId: unknown, r: Rejection): void {
    const json = JSON.stringify({ jsonrpc: '2.0', id: clientId ?? null, error: { code: r.code, message: r.message, ...(r.data !== undefined && { data: r.data }) } });
    this.send({ t: 'out', json, kind: 'response', id, err: true, status: r.status });
  }

  deliver(m: Extract<ToActor, { t: 'in' | 'abort' }>): void {
    if (m.t === 'abort') {
      this.transport.receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: m.id, reason: m.reason } } as JSONRPCMessage);
      return;
    }
    const message = JSON.parse(m.json) as JSONRPCMessage & { id?: JsonRpcId; method?: string; params?: Record<string, unknown> };
    const isRequest = 'method' in message && 'id' in message;
    if (!isRequest || m.id === undefined) {
      this.transport.receive(message);
      return;
    }
    const modern = m.modern;
    if (!modern) {
      const problem = invalidParams(message.method!, message.params);
      if (problem !== undefined) return this.reject(m.id, message.id, { status: 200, code: -32602, message: problem });
    } else {
      const verdict = admit(message, modern.headers);
      if ('status' in verdict) return this.reject(m.id, message.id, verdict);
      if (message.method === 'tools/call' && modern.headers) {
        const rejected = this.checkToolHeaders(message.params, modern);
        if (rejected) return this.reject(m.id, message.id, rejected);
      }
    }
    const p = message.params;
    const target = typeof p?.name === 'string' ? p.name : typeof p?.uri === 'string' ? p.uri : undefined;
    this.served.set(m.id, {
      info: {
        seq: m.seq ?? 0,
        receivedAt: m.receivedAt ?? Date.now(),
        deadlineAt: m.deadlineAt ?? Infinity,
        era: modern ? 'modern' : 'legacy',
        principal: modern ? modern.principal : this.binding?.principal,
      },
      target,
      handleRejected: modern?.handleRejected === true,
    });
    if (modern) this.transport.receive(message, undefined, m.id);
    else this.transport.receive(message, this.extraFor(m.id));
  }

  private checkToolHeaders(params: Record<string, unknown> | undefined, modern: ModernDelivery): Rejection | undefined {
    const record = typeof params?.name === 'string' ? this.toolRecords.get(params.name) : undefined;
    if (!record || !modern.headers) return undefined;
    record.paramHeaders ??= paramHeadersOf(jsonSchemaOf(record.inputSchema));
    if (record.paramHeaders.length === 0) return undefined;
    return checkParamHeaders(record.paramHeaders, params?.arguments ?? {}, modern.headers);
  }

  /** Checks a subscriptions/listen request; the edge holds the stream itself. */
  checkListen(m: Extract<ToActor, { t: 'check-listen' }>): void {
    let message: { id?: unknown; params?: Record<string, unknown> };
    try {
      message = JSON.parse(m.json) as typeof message;
    } catch {
      this.send({ t: 'listen', cid: m.cid, ok: false, status: 400, json: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }) });
      return;
    }
    const fail = (r: Rejection) =>
      this.send({ t: 'listen', cid: m.cid, ok: false, status: r.status, json: JSON.stringify({ jsonrpc: '2.0', id: message.id ?? null, error: { code: r.code, message: r.message, ...(r.data !== undefined && { data: r.data }) } }) });
    const verdict = admit(message, m.headers);
    if ('status' in verdict) return fail(verdict);
    const filter = message.params?.notifications;
    if (!filter || typeof filter !== 'object' || Array.isArray(filter)) {
      return fail({ status: 200, code: -32602, message: 'Invalid params for subscriptions/listen: notifications: a subscription filter object is required' });
    }
    const f = filter as Record<string, unknown>;
    const subs = f.resourceSubscriptions;
    if (subs !== undefined && (!Array.isArray(subs) || subs.some((u) => typeof u !== 'string'))) {
      return fail({ status: 200, code: -32602, message: 'Invalid params for subscriptions/listen: notifications.resourceSubscriptions: an array of resource URIs is required' });
    }
    const caps = this.server.server.getCapabilities();
    const honoured: Record<string, unknown> = {};
    if (f.toolsListChanged === true && caps.tools?.listChanged) honoured.toolsListChanged = true;
    if (f.promptsListChanged === true && caps.prompts?.listChanged) honoured.promptsListChanged = true;
    if (f.resourcesListChanged === true && caps.resources?.listChanged) honoured.resourcesListChanged = true;
    if (Array.isArray(subs) && caps.resources?.subscribe) honoured.resourceSubscriptions = subs;
    this.send({ t: 'listen', cid: m.cid, ok: true, honoured });
  }

  /** Runs the toolsets' stop hooks, closes the server, and cuts every tie to the actor. */
  async retire(): Promise<void> {
    for (const fn of this.stopHooks) {
      try {
        await fn();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'onStop hook failed');
      }
    }
    this.detached = true;
    try {
      if (this.modern) await this.modern.close();
      else await this.server.close();
    } catch (err) {
      // Closing is best effort; nothing of this incarnation is reachable any more.
      this.log.debug({ err: (err as Error).message }, 'closing the server of a retired incarnation failed');
    }
  }
}
