/**
 * The SDK `Transport` an actor's McpServer talks over: inbound messages come from the main
 * thread's edge, outbound ones are serialized here (off the main thread) and posted back with
 * the id of the request they belong to, so the edge can route them to the right stream.
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { rpcError } from '../shared/errors.js';
import type { FromActor, OutKind } from '../shared/actor-messages.js';

export interface PortTransportOptions {
  post(m: FromActor): void;
  /** Largest outbound message, in UTF-16 code units of its JSON; larger results become errors. */
  maxMessageChars: number;
  /** Returns true when the runtime consumes this outbound message itself (handshake replay). */
  intercept?(message: JSONRPCMessage, options?: TransportSendOptions): boolean;
  /** Called for every outbound response (the request is over, whatever the outcome). */
  onResponse?(id: string | number): void;
}

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

  constructor(private readonly options: PortTransportOptions) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('PortTransport already started');
    this.started = true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) throw new Error('PortTransport is closed');
    if (this.options.intercept?.(message, options)) return;
    const kind = kindOf(message);
    const id = 'id' in message ? (message.id as string | number) : undefined;
    const rel = options?.relatedRequestId ?? undefined;
    let json: string;
    let failed = false;
    try {
      json = JSON.stringify(message, strictJson);
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
      json = JSON.stringify({ jsonrpc: '2.0', id, error: e.toRpcError() });
    }
    if (kind === 'response' && id !== undefined) this.options.onResponse?.(id);
    if (kind === 'response' && ('error' in message || failed)) this.options.post({ t: 'out', json, kind, id, rel, err: true });
    else this.options.post({ t: 'out', json, kind, id, rel });
  }

  /** Delivers one inbound message to the server. */
  receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (this.closed) return;
    this.onmessage?.(message, extra);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
