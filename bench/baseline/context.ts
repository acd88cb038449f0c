/**
 * The in-process `ToolsetContext` for the baseline server: one `BaselineSession` per MCP session,
 * everything on the main thread, state in a Map.
 */
import { z } from 'zod';
import { threadId } from 'node:worker_threads';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestMeta, SessionState, Toolset, ToolsetContext, ToolsetLogger } from '../../src/actor/toolsets/types.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** JSON-lines logger on stderr; `bindings` is read per line (so a late-bound session id shows). */
export function stderrLogger(level: LogLevel, bindings: () => Record<string, unknown>): ToolsetLogger {
  const write = (at: Exclude<LogLevel, 'silent'>) => (obj: object | string, msg?: string) => {
    if (LEVEL_RANK[at] < LEVEL_RANK[level]) return;
    const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, ...(msg !== undefined && { msg }) };
    process.stderr.write(`${JSON.stringify({ level: at, time: Date.now(), ...bindings(), ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Per-session key/value state; values are stored as JSON copies, as the runtime persists them. */
class MemoryState implements SessionState {
  readonly #values = new Map<string, unknown>();
  get<T = unknown>(key: string): T | undefined {
    return this.#values.get(key) as T | undefined;
  }
  set(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`state value for "${key}" is not JSON-serializable`);
    this.#values.set(key, JSON.parse(json));
  }
  delete(key: string): void {
    this.#values.delete(key);
  }
  keys(): string[] {
    return [...this.#values.keys()];
  }
}

export class BaselineSession {
  #sessionId: string | undefined;
  readonly #state = new MemoryState();
  readonly #meta = new Map<RequestId, RequestMeta>();
  readonly #stopHooks: Array<() => void | Promise<void>> = [];
  #seq = 0;
  #stopped = false;

  constructor(private readonly logLevel: LogLevel) {}

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  bind(sessionId: string): void {
    this.#sessionId = sessionId;
  }

  /** The context one toolset sees for this session. */
  contextFor(toolset: Toolset, config: Readonly<Record<string, unknown>>): ToolsetContext {
    const session = this;
    return {
      z,
      get sessionId() {
        if (session.#sessionId === undefined) throw new Error('ctx.sessionId read before the session was bound');
        return session.#sessionId;
      },
      get actorKey() {
        return this.sessionId;
      },
      threadId,
      config,
      state: this.#state,
      log: stderrLogger(this.logLevel, () => ({ toolset: toolset.name, sessionId: session.#sessionId })),
      requestMeta: (extra) => this.#meta.get(extra.requestId),
      onStop: (fn) => {
        this.#stopHooks.push(fn);
      },
      // A single-process server never hibernates a session, so there is nothing to hold awake.
      keepAwake: () => () => {},
      service: () => undefined,
    };
  }

  /**
   * Stamps each incoming request with its arrival order (1-based, per session) on a connected
   * transport, and forgets the stamp once the request is answered or cancelled. Call after
   * `server.connect(transport)`, which installs the handlers wrapped here.
   */
  stampArrivals(transport: Transport): void {
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) {
        const receivedAt = Date.now();
        // The baseline enforces no deadline.
        this.#meta.set(message.id, { seq: ++this.#seq, receivedAt, deadlineAt: Number.POSITIVE_INFINITY });
      } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
        const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (id !== undefined) this.#meta.delete(id);
      }
      deliver?.(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        if (message.id !== undefined) this.#meta.delete(message.id);
      }
      return send(message, options);
    };
  }

  /** Runs the toolsets' stop hooks once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const log = stderrLogger(this.logLevel, () => ({ sessionId: this.#sessionId }));
    for (const hook of this.#stopHooks.splice(0)) {
      try {
        await hook();
      } catch (error) {
        log.error({ err: String(error) }, 'onStop hook failed');
      }
    }
  }
}
