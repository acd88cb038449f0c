/**
 * What runs inside a session actor thread: one McpServer with the configured toolsets, served
 * over a PortTransport to the main thread.
 *
 * Lifecycle: boot (load + register toolsets, post `ready`) → `bind` (connect, replay the
 * handshake of a resumed session, post `bound`) → messages → `stop`.
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { JsonRpcId } from '../errors.js';
import { createLogger } from '../observability/log.js';
import type { RequestMeta, Toolset, ToolsetContext } from '../toolsets/types.js';
import { ActorState } from './actor-state.js';
import type { ActorBootData, FromActor, Handshake, ToActor } from './messages.js';
import { PortTransport } from './port-transport.js';
import { trackAbortedSettles } from './settle-tracking.js';

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

/** Services toolsets can look up with ctx.service(name); filled by resource integrations. */
export const actorServices = new Map<string, unknown>();

export async function runSessionActor(port: Port, boot: ActorBootData): Promise<void> {
  const post = (m: FromActor) => port.postMessage(m);
  const log = createLogger(boot.logLevel as 'info', { actor: threadId });

  let toolsets: Toolset[];
  try {
    toolsets = [];
    for (const spec of boot.toolsets) toolsets.push(await loadToolset(spec));
  } catch (err) {
    post({ t: 'boot-failed', message: `cannot load toolset: ${(err as Error).message}` });
    return;
  }

  let sessionId = '';
  let bound = false;
  const pendingIn: ToActor[] = [];
  const meta = new Map<JsonRpcId, RequestMeta>();
  const stopHooks: Array<() => void | Promise<void>> = [];
  const state = new ActorState(post, boot.stateMaxBytes);
  const replayWaiters = new Map<string, (m: JSONRPCMessage) => void>();

  const instructions = toolsets.map((t) => t.instructions).filter(Boolean).join('\n\n') || undefined;
  const server = new McpServer({ name: boot.serverName, version: boot.serverVersion }, { capabilities: {}, instructions });
  trackAbortedSettles(server.server, (id) => {
    meta.delete(id);
    post({ t: 'settled', id });
  });

  const transport = new PortTransport({
    post,
    maxMessageChars: MAX_OUT_CHARS,
    intercept: (m) => {
      if ('id' in m && typeof m.id === 'string' && m.id.startsWith(REPLAY_PREFIX) && !('method' in m)) {
        replayWaiters.get(m.id)?.(m);
        replayWaiters.delete(m.id);
        return true;
      }
      return false;
    },
    onResponse: (id) => meta.delete(id),
  });

  // Which toolset registered which tool: the main thread resolves per-toolset deadlines with it.
  const toolOwners: Record<string, string> = {};
  let registering = '';
  for (const method of ['registerTool', 'tool'] as const) {
    const original = (server[method] as (...args: unknown[]) => unknown).bind(server);
    (server as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && registering) toolOwners[args[0]] = registering;
      return original(...args);
    };
  }

  try {
    for (const t of toolsets) {
      registering = t.name;
      const ctx: ToolsetContext = {
        get sessionId() {
          return sessionId;
        },
        get actorKey() {
          return sessionId;
        },
        threadId,
        config: boot.toolsetConfig[t.name] ?? {},
        state: state.namespace(t.name),
        log: log.child({ toolset: t.name }),
        requestMeta: (extra) => meta.get(extra.requestId),
        onStop: (fn) => stopHooks.push(fn),
        service: <T>(name: string) => actorServices.get(name) as T | undefined,
      };
      await t.register(server, ctx);
    }
    registering = '';
  } catch (err) {
    post({ t: 'boot-failed', message: `toolset registration failed: ${(err as Error).message}` });
    return;
  }

  let replaySeq = 0;
  const replayRequest = (method: string, params: Record<string, unknown>): Promise<JSONRPCMessage> => {
    const id = `${REPLAY_PREFIX}${++replaySeq}`;
    const done = new Promise<JSONRPCMessage>((resolve) => replayWaiters.set(id, resolve));
    transport.receive({ jsonrpc: '2.0', id, method, params });
    return done;
  };

  const replay = async (h: Handshake): Promise<void> => {
    const init = await replayRequest('initialize', JSON.parse(h.initialize) as Record<string, unknown>);
    if ('error' in init) throw new Error(`initialize replay failed: ${JSON.stringify(init.error)}`);
    transport.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (h.logLevel) await replayRequest('logging/setLevel', { level: h.logLevel });
    for (const uri of h.subscriptions) {
      const r = await replayRequest('resources/subscribe', { uri });
      if ('error' in r) log.warn({ uri }, 'subscription could not be replayed');
    }
  };

  const extraFor = (id: JsonRpcId): MessageExtraInfo => ({
    closeSSEStream: () => post({ t: 'close-sse', id }),
    closeStandaloneSSEStream: () => post({ t: 'close-standalone-sse' }),
  });

  const handle = (m: ToActor): void => {
    switch (m.t) {
      case 'in': {
        const message = JSON.parse(m.json) as JSONRPCMessage;
        if (m.id !== undefined && m.seq !== undefined) {
          meta.set(m.id, { seq: m.seq, receivedAt: m.receivedAt ?? Date.now(), deadlineAt: m.deadlineAt ?? Infinity });
          transport.receive(message, extraFor(m.id));
        } else {
          transport.receive(message, 'id' in message && 'method' in message ? extraFor(message.id as JsonRpcId) : undefined);
        }
        return;
      }
      case 'abort':
        transport.receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: m.id, reason: m.reason } });
        return;
      case 'stop':
        void stop();
        return;
      case 'bind':
        return;
    }
  };

  const stop = async (): Promise<void> => {
    for (const fn of stopHooks) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'onStop hook failed');
      }
    }
    try {
      await server.close();
    } catch {
      // closing is best effort; the thread ends anyway
    }
    process.exit(0);
  };

  port.on('message', (m: ToActor) => {
    if (m.t === 'bind') {
      sessionId = m.sessionId;
      transport.sessionId = m.sessionId;
      state.load(m.state);
      void (async () => {
        await server.connect(transport);
        if (m.handshake) await replay(m.handshake);
        bound = true;
        post({ t: 'bound' });
        for (const queued of pendingIn.splice(0)) handle(queued);
      })().catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'bind failed');
        // Without a bound server the actor is useless: exit abnormally so it is restarted.
        process.exit(3);
      });
      return;
    }
    if (!bound && m.t !== 'stop') {
      pendingIn.push(m);
      return;
    }
    handle(m);
  });

  post({ t: 'ready', tools: toolOwners });
}
