/**
 * Where an MCP 2026-07-28 request runs, for both edges (HTTP and stdio).
 *
 * - A `tools/call` of a tool that creates a state handle: the runtime mints the handle, bound to
 *   the caller's principal, and the call runs on the new handle's own actor. A creating call that
 *   does not succeed leaves no handle behind.
 * - A `tools/call` that carries a handle (the argument its toolset declared): on that handle's
 *   actor — its mailbox, its state, its thread. A handle that is unknown, expired or another
 *   principal's is treated alike: the call goes to the stateless pool marked so, and the tool
 *   answers the one "unknown handle" error (after the request's envelope has been checked like
 *   any other). A destroying tool that succeeds ends the handle once answered.
 * - Everything else: the stateless pool.
 *
 * Each request is known by a runtime-unique id (`rid`) from here on; its messages come back
 * through `deliver` and go to the request's sink until the final response.
 */
import type { Principal } from '../edge/auth/principal.js';
import { rpcError, type CodedError, type JsonRpcId } from '../../shared/errors.js';
import type { HandleTool, ModernDelivery } from '../../shared/actor-messages.js';
import type { Logger } from '../observability/log.js';
import type { ParsedRequest } from '../protocol/jsonrpc.js';
import type { Outbound, SessionActor, SessionSink } from '../sessions/session-actor.js';
import type { RequestSink, StatelessPool } from '../stateless/pool.js';

/** What the router needs of the runtime. */
export interface ModernHost {
  readonly pool: StatelessPool;
  readonly log: Logger;
  handleTools(): Readonly<Record<string, HandleTool>>;
  /** The live handle actor a handle names for this principal, or undefined (unknown, ended, another's). */
  handleActor(handle: string, principal: string | undefined): SessionActor | undefined;
  /** Creates a handle actor; a CodedError when the server or the principal is at its limit. */
  createHandle(opts: HandleCreation, sink: SessionSink): SessionActor | CodedError;
  /** The principal's request headers arrived for a handle (integrations rebind per request). */
  handleRequest?(actor: SessionActor, headers: Record<string, string | undefined> | undefined): void;
}

export interface HandleCreation {
  principal: string | undefined;
  /** The authenticated principal, for per-principal limits (undefined: anonymous). */
  auth: Principal | undefined;
  admin: boolean | undefined;
  clientIp: string | undefined;
  /** The creating request's HTTP headers (integrations may bind private data from them). */
  headers: Record<string, string | undefined> | undefined;
}

/** Who sent a request, as the edge authenticated it. */
export interface RequestOrigin {
  principal: string | undefined;
  auth?: Principal;
  admin?: boolean;
  clientIp?: string;
  /** MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Param-* (lower-case names); undefined on stdio. */
  mcpHeaders?: Record<string, string>;
  /** All request headers (lower-case names), for integrations; never stored. */
  headers?: Record<string, string | undefined>;
}

interface Exchange {
  clientId: JsonRpcId | undefined;
  sink: RequestSink;
  /** Where it runs: a handle's actor, or the pool. */
  actor: SessionActor | undefined;
  /** Called with the final response. */
  onFinal?: (out: Outbound) => void;
}

let nextRid = 0;

export class ModernRouter {
  private readonly exchanges = new Map<JsonRpcId, Exchange>();
  /** The sink every handle actor delivers through: routed by request id. */
  readonly handleSink: SessionSink = {
    deliver: (out) => this.deliver(out),
    closeStream: () => {},
    closeStandaloneStream: () => {},
    ended: () => {},
  };

  constructor(private readonly host: ModernHost) {}

  /** A runtime-unique id for a new request. */
  static nextId(): number {
    return ++nextRid;
  }

  get open(): number {
    return this.exchanges.size;
  }

  /**
   * Routes one request (its `id` already the runtime's, `clientId` the client's); `sink` gets its
   * messages. A CodedError means it was not taken: answer it at once.
   */
  request(msg: ParsedRequest, origin: RequestOrigin, sink: RequestSink): CodedError | undefined {
    const delivery: ModernDelivery = { ...(origin.mcpHeaders && { headers: origin.mcpHeaders }), ...(origin.principal !== undefined && { principal: origin.principal }) };
    const routed: ParsedRequest = { ...msg, delivery };
    const ht = this.handleToolOf(msg);
    if (ht?.role === 'create') return this.create(routed, origin, sink);
    const handle = this.handleOf(msg);
    if (handle !== undefined) {
      const actor = this.host.handleActor(handle, origin.principal);
      if (actor) {
        this.host.handleRequest?.(actor, origin.headers);
        const ex: Exchange = { clientId: msg.clientId, sink, actor };
        if (ht?.role === 'destroy') ex.onFinal = (out) => !out.err && !out.toolError && actor.endSoon('ended by its destroying tool');
        this.exchanges.set(msg.id, ex);
        actor.submit(routed);
        return undefined;
      }
      delivery.handleRejected = true;
    }
    return this.toPool(routed, sink);
  }

  private handleToolOf(msg: ParsedRequest): HandleTool | undefined {
    return msg.method === 'tools/call' && typeof msg.params?.name === 'string' ? this.host.handleTools()[msg.params.name] : undefined;
  }

  /** The state handle a request carries (a tools/call of a tool that uses or ends handles), if any. */
  handleOf(msg: ParsedRequest): string | undefined {
    const ht = this.handleToolOf(msg);
    if (!ht || ht.role === 'create') return undefined;
    const args = msg.params?.arguments as Record<string, unknown> | undefined;
    const handle = args && typeof args === 'object' ? args[ht.argument] : undefined;
    return typeof handle === 'string' ? handle : undefined;
  }

  private toPool(msg: ParsedRequest, sink: RequestSink): CodedError | undefined {
    this.exchanges.set(msg.id, { clientId: msg.clientId, sink, actor: undefined });
    const refused = this.host.pool.submit(msg, (out) => this.deliver(out));
    if (refused) this.exchanges.delete(msg.id);
    return refused;
  }

  private create(msg: ParsedRequest, origin: RequestOrigin, sink: RequestSink): CodedError | undefined {
    const actor = this.host.createHandle({ principal: origin.principal, auth: origin.auth, admin: origin.admin, clientIp: origin.clientIp, headers: origin.headers }, this.handleSink);
    if (!('submit' in actor)) return actor;
    this.exchanges.set(msg.id, {
      clientId: msg.clientId,
      sink,
      actor,
      onFinal: (out) => {
        if (out.err || out.toolError) void actor.end('its creating call did not succeed');
      },
    });
    actor.submit(msg);
    return undefined;
  }

  /** One message of a request, from its actor or pool thread. */
  deliver(out: Outbound): void {
    const id = out.kind === 'response' ? out.id : out.rel;
    const ex = id === undefined ? undefined : this.exchanges.get(id);
    if (!ex) {
      this.host.log.debug({ kind: out.kind }, 'a message for a 2026 request that is over (answered or cancelled) dropped');
      return;
    }
    if (out.kind !== 'response') {
      ex.sink(out);
      return;
    }
    this.exchanges.delete(id!);
    ex.sink(out);
    ex.onFinal?.(out);
  }

  /** The client went away from a request (or cancelled it): stop it. */
  cancel(rid: JsonRpcId, reason: string): void {
    const ex = this.exchanges.get(rid);
    if (!ex) return;
    this.exchanges.delete(rid);
    if (ex.actor) {
      const raw = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: rid, reason } });
      ex.actor.submit({ kind: 'notification', method: 'notifications/cancelled', params: { requestId: rid, reason }, raw });
      // A creating call given up on leaves no handle behind.
      if (ex.onFinal) ex.onFinal({ json: '', kind: 'response', id: rid, err: true });
    } else {
      this.host.pool.cancel(rid, reason);
    }
  }

  /** Answers every open request (shutdown). */
  failAll(reason: string): void {
    for (const [rid, ex] of this.exchanges) {
      const err = rpcError('SHUTTING_DOWN', reason);
      ex.sink({ json: JSON.stringify({ jsonrpc: '2.0', id: ex.clientId ?? null, error: err.toRpcError() }), kind: 'response', id: rid, err: true });
    }
    this.exchanges.clear();
  }
}
