/**
 * What runs inside a session actor thread: one McpServer with the configured toolsets, served
 * over a PortTransport to the main thread.
 *
 * Lifecycle: boot (load toolset modules) → incarnate (new McpServer, toolsets registered, post
 * `ready`) → `bind` (connect; replay the handshake of a resumed session; post `bound`) →
 * messages → `recycle` (stop hooks, close, detach, incarnate again, post `ready`) or `stop`.
 *
 * An incarnation belongs to exactly one session. Recycling detaches it first: its transport is
 * closed and its state, services and keepAwake holds refuse to act, so nothing a toolset left
 * running (a timer, a late promise) can ever reach the next session served by this thread.
 */
import { codedError } from '../shared/errors.js';
import { threadId, type MessagePort } from 'node:worker_threads';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { JsonRpcId } from '../shared/errors.js';
import { actorLogger, type ActorLogger as Logger } from './actor-log.js';
import type { RequestMeta, Toolset, ToolsetContext } from './toolsets/types.js';
import { ActorState } from './actor-state.js';
import type { ActorBootData, FromActor, Handshake, ToActor } from '../shared/actor-messages.js';
import { PortTransport } from './port-transport.js';
import { RuntimeCalls, type SessionService } from './runtime-calls.js';
import { leaseService, type LeaseService } from './lease-client.js';
import { trackAbortedSettles } from './settle-tracking.js';
import { lowerThreadPriority } from '../shared/thread-priority.js';
import { invalidParams } from './request-params.js';

const REPLAY_PREFIX = 'mcp-actors/replay/';
/** Outbound JSON larger than this becomes an error response (the edge's body limit is 4 MiB in). */
const MAX_OUT_CHARS = 64 * 1024 * 1024;

type Port = Pick<MessagePort, 'postMessage' | 'on'>;

async function loadToolset(specifier: string): Promise<Toolset> {
  const mod = (await import(specifier)) as { default?: unknown; toolset?: unknown };
  const t = (mod.default ?? mod.toolset) as Partial<Toolset> | undefined;
  if (!t || typeof t.name !== 'string' || typeof t.register !== 'function') {
    throw new Error(`${specifier} does not export a Toolset (a default export with a "name" and a "register" function)`);
  }
  return t as Toolset;
}

/** One session's McpServer, state and toolset contexts. */
class Incarnation {
  sessionId = '';
  bound = false;
  detached = false;
  readonly pendingIn: ToActor[] = [];
  readonly meta = new Map<JsonRpcId, RequestMeta>();
  readonly stopHooks: Array<() => void | Promise<void>> = [];
  readonly state: ActorState;
  readonly server: McpServer;
  readonly transport: PortTransport;
  readonly tools: Record<string, string> = {};
  private readonly replayWaiters = new Map<string, (m: JSONRPCMessage) => void>();
  /** Posts to the main thread while this incarnation is attached. */
  private readonly send: (m: FromActor) => void;
  private replaySeq = 0;

  constructor(
    private readonly post: (m: FromActor) => void,
    private readonly boot: ActorBootData,
    private readonly calls: RuntimeCalls,
    private readonly log: Logger,
    instructions: string | undefined,
  ) {
    // Every message this incarnation posts is dropped once it is detached.
    const guardedPost = (m: FromActor) => {
      if (!this.detached) post(m);
    };
    this.send = guardedPost;
    this.state = new ActorState(guardedPost, boot.stateMaxBytes);
    this.server = new McpServer({ name: boot.serverName, version: boot.serverVersion }, { capabilities: {}, instructions });
    trackAbortedSettles(this.server.server, (id) => {
      this.meta.delete(id);
      guardedPost({ t: 'settled', id });
    });
    this.transport = new PortTransport({
      post: guardedPost,
      maxMessageChars: MAX_OUT_CHARS,
      intercept: (m, options) => {
        // What the replayed handshake makes the server say (its log-level confirmation, say)
        // belongs to no client request: it stays in this thread.
        const rel = options?.relatedRequestId;
        if (typeof rel === 'string' && rel.startsWith(REPLAY_PREFIX)) return true;
        if ('id' in m && typeof m.id === 'string' && m.id.startsWith(REPLAY_PREFIX) && !('method' in m)) {
          this.replayWaiters.get(m.id)?.(m);
          this.replayWaiters.delete(m.id);
          return true;
        }
        return false;
      },
      onResponse: (id) => this.meta.delete(id),
    });
  }

  /** Registers every toolset, recording which one registered each tool. */
  async register(toolsets: Toolset[]): Promise<void> {
    let registering = '';
    for (const method of ['registerTool', 'tool'] as const) {
      const original = (this.server[method] as (...args: unknown[]) => unknown).bind(this.server);
      (this.server as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        if (typeof args[0] === 'string' && registering) this.tools[args[0]] = registering;
        return original(...args);
      };
    }
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
    for (const t of toolsets) {
      registering = t.name;
      const self = this;
      const ctx: ToolsetContext = {
        z,
        get sessionId() {
          return self.sessionId;
        },
        get actorKey() {
          return self.sessionId;
        },
        threadId,
        config: this.boot.toolsetConfig[t.name] ?? {},
        state: this.state.namespace(t.name, () => this.detached),
        log: this.log.child({ toolset: t.name }),
        requestMeta: (extra) => this.meta.get(extra.requestId),
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
      };
      await t.register(this.server, ctx);
    }
  }

  private call<T>(op: string, args: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    if (this.detached) return Promise.reject(codedError('DETACHED', 'this session is over: its actor incarnation has been detached'));
    return this.calls.call<T>(op, args, timeoutMs);
  }

  private replayRequest(method: string, params: Record<string, unknown>): Promise<JSONRPCMessage> {
    const id = `${REPLAY_PREFIX}${++this.replaySeq}`;
    const done = new Promise<JSONRPCMessage>((resolve) => this.replayWaiters.set(id, resolve));
    this.transport.receive({ jsonrpc: '2.0', id, method, params });
    return done;
  }

  /** Connects to its session; a resumed session's handshake is replayed in-thread. */
  async bind(sessionId: string, state: Record<string, unknown>, handshake: Handshake | undefined): Promise<void> {
    this.sessionId = sessionId;
    this.transport.sessionId = sessionId;
    this.state.load(state);
    await this.server.connect(this.transport);
    if (handshake) {
      const init = await this.replayRequest('initialize', JSON.parse(handshake.initialize) as Record<string, unknown>);
      if ('error' in init) throw new Error(`initialize replay failed: ${JSON.stringify(init.error)}`);
      this.transport.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
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

  deliver(m: Extract<ToActor, { t: 'in' | 'abort' }>): void {
    if (m.t === 'abort') {
      this.transport.receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: m.id, reason: m.reason } });
      return;
    }
    const message = JSON.parse(m.json) as JSONRPCMessage;
    if ('method' in message && 'id' in message) {
      const problem = invalidParams(message.method, message.params);
      if (problem !== undefined) {
        const id = message.id as JsonRpcId;
        this.send({ t: 'out', json: JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: problem } }), kind: 'response', id, err: true });
        return;
      }
    }
    if (m.id !== undefined && m.seq !== undefined) {
      this.meta.set(m.id, { seq: m.seq, receivedAt: m.receivedAt ?? Date.now(), deadlineAt: m.deadlineAt ?? Infinity });
      this.transport.receive(message, this.extraFor(m.id));
    } else {
      this.transport.receive(message, 'id' in message && 'method' in message ? this.extraFor(message.id as JsonRpcId) : undefined);
    }
  }

  /** Runs the toolsets' stop hooks, closes the server, and cuts every tie to the session. */
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
      await this.server.close();
    } catch {
      // closing is best effort; nothing of this incarnation is reachable any more
    }
  }
}

export async function runSessionActor(port: Port, boot: ActorBootData): Promise<void> {
  const post = (m: FromActor) => port.postMessage(m);
  const log = actorLogger(post, boot.logLevel);
  const niceFailed = lowerThreadPriority(boot.nice);
  if (niceFailed) log.warn({ err: niceFailed, nice: boot.nice }, 'could not lower the actor thread priority');

  let toolsets: Toolset[];
  try {
    toolsets = [];
    for (const spec of boot.toolsets) toolsets.push(await loadToolset(spec));
  } catch (err) {
    post({ t: 'boot-failed', message: `cannot load toolset: ${(err as Error).message}` });
    return;
  }
  const instructions = toolsets.map((t) => t.instructions).filter(Boolean).join('\n\n') || undefined;
  const calls = new RuntimeCalls(post);

  const incarnate = async (): Promise<Incarnation> => {
    const inc = new Incarnation(post, boot, calls, log, instructions);
    await inc.register(toolsets);
    return inc;
  };

  let current: Incarnation;
  try {
    current = await incarnate();
  } catch (err) {
    post({ t: 'boot-failed', message: `toolset registration failed: ${(err as Error).message}` });
    return;
  }

  let busy: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void>) => {
    busy = busy.then(fn).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'actor lifecycle step failed');
      // A thread that cannot bind or renew itself is useless: exit abnormally so it is replaced.
      process.exit(3);
    });
  };

  port.on('message', (m: ToActor) => {
    const inc = current;
    switch (m.t) {
      case 'bind':
        serially(async () => {
          await inc.bind(m.sessionId, m.state, m.handshake);
          post({ t: 'bound' });
          for (const queued of inc.pendingIn.splice(0)) inc.deliver(queued as Extract<ToActor, { t: 'in' | 'abort' }>);
        });
        return;
      case 'in':
      case 'abort':
        if (inc.bound) inc.deliver(m);
        else inc.pendingIn.push(m);
        return;
      case 'result':
        calls.settle(m);
        return;
      case 'recycle':
        serially(async () => {
          await inc.retire();
          current = await incarnate();
          post({ t: 'ready', tools: current.tools });
        });
        return;
      case 'stop':
        serially(async () => {
          await inc.retire();
          process.exit(0);
        });
        return;
    }
  });

  post({ t: 'ready', tools: current.tools });
}
