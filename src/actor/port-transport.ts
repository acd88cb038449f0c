/**
 * The SDK `Transport` an actor's McpServer talks over: inbound messages come from the main
 * thread's edge, outbound ones are serialized here (off the main thread) and posted back with
 * the id of the request they belong to, so the edge can route them to the right stream.
 *
 * One transport serves either era. A 2025 session's requests keep their client ids (unique in
 * the session). A 2026-07-28 request is delivered under the runtime-unique id the edge gave it —
 * requests of many clients share one server here — and its answer goes out with the client's own
 * id again, carrying the HTTP status a rejection calls for.
 */
import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from '@modelcontextprotocol/server';
import { rpcError, type JsonRpcId } from '../shared/errors.js';
import type { FromActor, OutKind } from '../shared/actor-messages.js';

export interface PortTransportOptions {
  post(m: FromActor): void;
  /** Largest outbound message, in UTF-16 code units of its JSON; larger results become errors. */
  maxMessageChars: number;
  /** Returns true when the runtime consumes this outbound message itself (handshake replay). */
  intercept?(message: JSONRPCMessage, options?: TransportSendOptions): boolean;
  /** Called for every outbound response (the request is over, whatever the outcome). */
  onResponse?(id: JsonRpcId): void;
  /** Called for an outbound notification no request is related to. Default: sent (a 2025 session's GET stream). */
  unrelated?(message: JSONRPCMessage): boolean;
}

/**
 * The HTTP status of a 2026-07-28 error answered before any stream started: the spec's
 * rejections are 400 and an unknown or removed method 404; handler errors stay in-band (200).
 */
const ERROR_STATUS: ReadonlyMap<number, number> = new Map([
  [-32700, 400],
  [-32600, 400],
  [-32601, 404],
  [-32020, 400],
  [-32021, 400],
  [-32022, 400],
]);

/**
 * JSON.stringify quietly drops functions and symbols; a result that holds one is not what the
 * tool meant to send, so it is refused like a cycle or a BigInt (and answered with an error).
 */
function strictJson(_key: string, value: unknown): unknown {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') throw new TypeError(`a ${t} is not JSON data`);
  return value;
}

function kindOf(m: JSONRPCMessage): OutKind {
  if ('method' in m) return 'id' in m ? 'request' : 'notification';
  return 'response';
}

export class PortTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private started = false;
  private closed = false;
  /** Client ids of the 2026-07-28 requests in flight, by the runtime id they are served under. */
  private readonly clientIds = new Map<JsonRpcId, JsonRpcId>();

  constructor(private readonly options: PortTransportOptions) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('PortTransport already started');
    this.started = true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) throw new Error('PortTransport is closed');
    if (this.options.intercept?.(message, options)) return;
    const kind = kindOf(message);
    const rel = options?.relatedRequestId ?? undefined;
    if (kind === 'notification' && rel === undefined && this.options.unrelated && !this.options.unrelated(message)) return;
    const id = 'id' in message ? (message.id as JsonRpcId) : undefined;
    const clientId = kind === 'response' && id !== undefined ? this.clientIds.get(id) : undefined;
    const wire = clientId === undefined ? message : ({ ...message, id: clientId } as JSONRPCMessage);
    let json: string;
    let failed = false;
    try {
      json = JSON.stringify(wire, strictJson);
      if (json.length > this.options.maxMessageChars) {
        throw new Error(`the message is ${json.length} characters, over the ${this.options.maxMessageChars} limit`);
      }
    } catch (err) {
      // Cycles, BigInts, oversized payloads: never crash, never drop — a response becomes an
      // error response the client can read; anything else is reported and not sent.
      if (kind !== 'response' || id === undefined) {
        this.options.post({ t: 'log', level: 'error', msg: 'outbound message could not be serialized', data: { error: (err as Error).message } });
        throw err;
      }
      failed = true;
      const e = rpcError('RESULT_NOT_TRANSFERABLE', (err as Error).message);
      json = JSON.stringify({ jsonrpc: '2.0', id: clientId ?? id, error: e.toRpcError() });
    }
    if (kind !== 'response' || id === undefined) {
      this.options.post({ t: 'out', json, kind, rel });
      return;
    }
    this.clientIds.delete(id);
    this.options.onResponse?.(id);
    const error = failed || 'error' in message ? (failed ? -32603 : (message as { error: { code: number } }).error.code) : undefined;
    const out: Extract<FromActor, { t: 'out' }> = { t: 'out', json, kind, id };
    if (error !== undefined) {
      out.err = true;
      const status = clientId !== undefined ? ERROR_STATUS.get(error) : undefined;
      if (status !== undefined) out.status = status;
    } else if ((message as { result?: { isError?: unknown } }).result?.isError === true) {
      out.toolError = true;
    }
    this.options.post(out);
  }

  /**
   * Delivers one inbound message to the server. `servedAs` is the runtime id a 2026-07-28 request
   * is served under (its answer goes out with the message's own id).
   */
  receive(message: JSONRPCMessage, extra?: MessageExtraInfo, servedAs?: JsonRpcId): void {
    if (this.closed) return;
    if (servedAs !== undefined && 'id' in message && 'method' in message) {
      this.clientIds.set(servedAs, message.id as JsonRpcId);
      message = { ...message, id: servedAs } as JSONRPCMessage;
    }
    this.onmessage?.(message, extra);
  }

  /** Forgets a 2026-07-28 request that will never be answered here (cancelled, its handler settled). */
  forget(servedAs: JsonRpcId): void {
    this.clientIds.delete(servedAs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clientIds.clear();
    this.onclose?.();
  }
}
