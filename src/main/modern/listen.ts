/**
 * MCP 2026-07-28 `subscriptions/listen`: the streams that receive list changes and resource
 * updates, held on the main thread and fed from every thread — a toolset publishes with
 * `ctx.events.publish` in any session, handle or stateless-pool thread, and every stream that
 * asked for that kind of event gets it.
 *
 * Per the spec (basic/patterns/subscriptions): the first message of a stream is
 * `notifications/subscriptions/acknowledged` with the filter the server honours; every message
 * carries `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen request's id; nothing
 * the client did not ask for is sent; on shutdown each stream gets a final result, then ends.
 * The request itself is checked in an actor thread (the SDK's envelope rules) before a stream opens.
 */
import type { JsonRpcId } from '../../shared/errors.js';
import type { Logger } from '../observability/log.js';

export const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const SERVER_INFO = 'io.modelcontextprotocol/serverInfo';

/** The filter a listen request asked for, as far as the server honours it. */
export interface Honoured {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** A server event (the SDK's ServerEvent kinds). */
export interface ServerEvent {
  kind: string;
  uri?: string;
}

/** Where a subscription's messages go: an SSE response (HTTP) or stdout (stdio). */
export interface ListenWriter {
  /** Writes one JSON-RPC message; false when the stream is gone. */
  write(json: string): boolean;
  /** Ends the stream. */
  close(): void;
}

interface Subscription {
  id: JsonRpcId;
  honoured: Honoured;
  uris: Set<string>;
  writer: ListenWriter;
}

const NOTIFICATION: Record<string, { method: string; wants: (h: Honoured) => boolean }> = {
  tools_list_changed: { method: 'notifications/tools/list_changed', wants: (h) => h.toolsListChanged === true },
  prompts_list_changed: { method: 'notifications/prompts/list_changed', wants: (h) => h.promptsListChanged === true },
  resources_list_changed: { method: 'notifications/resources/list_changed', wants: (h) => h.resourcesListChanged === true },
};

export class ListenHub {
  private readonly subs = new Set<Subscription>();

  constructor(
    private readonly maxSubscriptions: number,
    private readonly serverInfo: { name: string; version: string },
    private readonly log: Logger,
  ) {}

  get count(): number {
    return this.subs.size;
  }

  get full(): boolean {
    return this.subs.size >= this.maxSubscriptions;
  }

  /**
   * Opens a subscription on `writer`: the acknowledgement goes first. Returns the function that
   * ends it (the client went away or cancelled it).
   */
  open(id: JsonRpcId, honoured: Honoured, writer: ListenWriter): () => void {
    const sub: Subscription = { id, honoured, uris: new Set(honoured.resourceSubscriptions ?? []), writer };
    this.subs.add(sub);
    writer.write(this.frame(sub, 'notifications/subscriptions/acknowledged', { notifications: honoured }));
    return () => this.subs.delete(sub);
  }

  private frame(sub: Subscription, method: string, params: Record<string, unknown> = {}): string {
    return JSON.stringify({ jsonrpc: '2.0', method, params: { ...params, _meta: { [SUBSCRIPTION_ID]: sub.id } } });
  }

  /** Delivers an event to every subscription that asked for its kind. */
  publish(event: ServerEvent): void {
    let delivered = 0;
    for (const sub of this.subs) {
      let json: string | undefined;
      if (event.kind === 'resource_updated') {
        if (event.uri !== undefined && sub.uris.has(event.uri)) json = this.frame(sub, 'notifications/resources/updated', { uri: event.uri });
      } else {
        const n = NOTIFICATION[event.kind];
        if (n?.wants(sub.honoured)) json = this.frame(sub, n.method);
      }
      if (json === undefined) continue;
      if (sub.writer.write(json)) delivered++;
      else this.subs.delete(sub);
    }
    this.log.debug({ event: event.kind, delivered }, 'server event published');
  }

  /** Ends every subscription with its final result (shutdown). */
  closeAll(): void {
    for (const sub of this.subs) {
      sub.writer.write(JSON.stringify({ jsonrpc: '2.0', id: sub.id, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID]: sub.id, [SERVER_INFO]: this.serverInfo } } }));
      sub.writer.close();
    }
    this.subs.clear();
  }
}
