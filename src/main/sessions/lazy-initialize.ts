/**
 * Lazy activation: `initialize` answered without a thread. At start a real actor is asked for its
 * initialize result (capabilities, server info, instructions); afterwards a new session's
 * initialize is validated as the SDK validates it, negotiated as the SDK negotiates, and answered
 * from that result. The session's actor starts on its first real request, replaying the handshake.
 */
import type { InitializeRequestSchema } from '@modelcontextprotocol/core';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../protocol/versions.js';
import type { JsonRpcId } from '../../shared/errors.js';
import type { ParsedRequest } from '../protocol/jsonrpc.js';
import type { ActorThread } from '../threads/actor-thread.js';
import type { InitializeReply } from './session-actor.js';

/** Asks a bound actor for its initialize result. */
function probe(thread: ActorThread, protocolVersion: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const id = 'mcp-actors/probe';
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the initialize probe got no answer within ${timeoutMs} ms`)), timeoutMs);
    void thread.exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`the actor probed for its initialize result exited: ${e.message ?? e.reason}`));
    });
    thread.onMessage = (m) => {
      if (m.t === 'bound') {
        const params = { protocolVersion, capabilities: {}, clientInfo: { name: 'mcp-actors-probe', version: '0' } };
        thread.post({ t: 'in', json: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params }), id, seq: 0 });
      } else if (m.t === 'out' && m.id === id) {
        clearTimeout(timer);
        thread.onMessage = () => {};
        const reply = JSON.parse(m.json) as { result?: Record<string, unknown>; error?: { message: string } };
        if (reply.result) resolve(reply.result);
        else reject(new Error(`the initialize probe failed: ${reply.error?.message ?? 'no result'}`));
      }
    };
    thread.post({ t: 'bind', actor: { kind: 'session', key: 'mcp-actors-probe' }, state: {} });
  });
}

export class LazyInitialize {
  private constructor(
    private readonly template: Record<string, unknown>,
    private readonly schema: typeof InitializeRequestSchema,
    private readonly latest: string,
    private readonly supported: readonly string[],
  ) {}

  /** Probes `thread` (bound for the probe only; the caller renews or stops it afterwards). */
  static async probe(thread: ActorThread, timeoutMs = 30_000): Promise<LazyInitialize> {
    // The SDK's schemas cost startup time: loaded only when lazy activation is on.
    const types = await import('@modelcontextprotocol/core');
    const template = await probe(thread, LATEST_VERSION, timeoutMs);
    return new LazyInitialize(template, types.InitializeRequestSchema, LATEST_VERSION, SUPPORTED_VERSIONS);
  }

  answer(msg: ParsedRequest): InitializeReply {
    const id: JsonRpcId = msg.id;
    const parsed = this.schema.safeParse({ method: 'initialize', params: msg.params });
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return { json: JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: `Invalid params for initialize: ${detail}` } }) };
    }
    const requested = parsed.data.params.protocolVersion;
    const protocolVersion = this.supported.includes(requested) ? requested : this.latest;
    return { json: JSON.stringify({ jsonrpc: '2.0', id, result: { ...this.template, protocolVersion } }), protocolVersion };
  }
}
