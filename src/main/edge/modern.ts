/**
 * MCP 2026-07-28 over Streamable HTTP (basic/transports/streamable-http): one POST per request,
 * answered as JSON — or as an SSE stream scoped to that request once a progress or log message
 * comes first — no sessions, no GET stream, no resumption. Closing the response cancels the
 * request. `subscriptions/listen` answers with a long-lived SSE stream of server events.
 *
 * The edge routes (modern/router.ts) and streams; the request is checked and served in an actor
 * thread (envelope, revision, headers — modern/admission.ts there), which also decides the HTTP
 * status of a rejection (400, 404) when no stream has started.
 */
import type { Context } from 'hono';
import { rpcError, type CodedError, type JsonRpcId } from '../../shared/errors.js';
import { ModernRouter, type RequestOrigin } from '../modern/router.js';
import type { ParsedMessage, ParsedRequest } from '../protocol/jsonrpc.js';
import type { Runtime } from '../runtime.js';
import type { Outbound, SessionSink } from '../sessions/session-actor.js';
import { SSE_HEADERS, SseStream } from './sse.js';
import { jsonError } from './session-streams.js';
import type { PrincipalLimiter } from './auth/limits.js';
import type { EdgeEnv } from './headers.js';
import { routeToOwner } from './cluster-route.js';
import { handleKey } from '../directory.js';

type Ctx = Context<EdgeEnv>;

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** The MCP headers a 2026-07-28 request is checked against in its actor (lower-case names). */
export function mcpHeadersOf(all: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (v === undefined) continue;
    if (k === 'mcp-protocol-version' || k === 'mcp-method' || k === 'mcp-name' || k.startsWith('mcp-param-')) out[k] = v;
  }
  return out;
}

/** A request's HTTP exchange: JSON, or an SSE stream from its first notification; its end cancels an unanswered request. */
class Exchange {
  private sse: SseStream | undefined;
  private done = false;
  readonly response: Promise<Response>;
  private resolve!: (r: Response) => void;

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly onDropped: () => void,
    /** The client went away before the final response. */
    private readonly onGone: () => void,
    private readonly onDone: () => void,
  ) {
    this.response = new Promise<Response>((r) => (this.resolve = r));
  }

  deliver(out: Outbound): void {
    if (this.done) return;
    if (out.kind !== 'response') {
      if (!this.sse) this.upgrade();
      this.sse!.event(out.json);
      return;
    }
    this.done = true;
    this.onDone();
    if (this.sse) {
      this.sse.event(out.json);
      this.sse.close();
      return;
    }
    this.resolve(new Response(out.json, { status: out.status ?? 200, headers: JSON_HEADERS }));
  }

  private upgrade(): void {
    const sse = new SseStream(this.maxBufferedBytes, this.onDropped);
    this.sse = sse;
    sse.onClose(() => {
      if (!this.done) {
        this.done = true;
        this.onDone();
        this.onGone();
      }
    });
    this.resolve(new Response(sse.body, { status: 200, headers: SSE_HEADERS }));
  }

  /** The HTTP response was closed by the client while still waiting for its answer. */
  clientClosed(): void {
    if (this.done || this.sse) return;
    this.done = true;
    this.onDone();
    this.onGone();
  }
}

export class ModernEdge {
  readonly router: ModernRouter;
  /** Requests in flight by (principal, client id): a POSTed notifications/cancelled names them so. */
  private readonly byClientId = new Map<string, JsonRpcId>();

  constructor(
    private readonly rt: Runtime,
    private readonly limiter?: PrincipalLimiter,
  ) {
    this.router = new ModernRouter({
      pool: rt.stateless,
      log: rt.log,
      handleTools: () => rt.handleTools,
      handleActor: (h, p) => rt.handleActor(h, p),
      handleRequest: (actor, headers) => rt.handleRequest(actor, headers),
      createHandle: (opts, sink) => {
        if (rt.cluster && !rt.cluster.available) return rpcError('CLUSTER_UNAVAILABLE');
        const limiter = opts.auth ? this.limiter : undefined;
        const principal = opts.principal;
        if (opts.auth && limiter && !limiter.openSession(opts.auth)) {
          return rpcError('PRINCIPAL_SESSION_LIMIT', `limit ${opts.auth.limits.maxSessions} (sessions and handles)`);
        }
        const ended: SessionSink = { ...sink, ended: () => principal !== undefined && limiter?.closeSession(principal) };
        const made = rt.createHandle(ended, { principal, admin: opts.admin, clientIp: opts.clientIp, headers: opts.headers });
        if (!('actor' in made)) {
          if (principal !== undefined) limiter?.closeSession(principal);
          return made;
        }
        return made.actor;
      },
    });
  }

  private reject(err: CodedError, id: JsonRpcId | null, headers: Record<string, string> = {}): Response {
    this.rt.metrics.httpRejected.inc({ status: String(err.http), code: err.code });
    return jsonError(err, id, headers);
  }

  private origin(c: Ctx, headers: Record<string, string | undefined>): RequestOrigin {
    const principal = c.get('principal');
    return {
      principal: principal?.id,
      ...(principal && { auth: principal }),
      admin: principal?.admin,
      clientIp: c.env?.incoming?.socket.remoteAddress,
      mcpHeaders: mcpHeadersOf(headers),
      headers,
    };
  }

  private key(principal: string | undefined, clientId: JsonRpcId): string {
    return `${principal ?? ''}\0${typeof clientId}:${clientId}`;
  }

  /** One 2026-07-28 message (its envelope claims the revision). */
  async post(c: Ctx, msg: ParsedMessage, headers: Record<string, string | undefined>): Promise<Response> {
    if (msg.kind === 'response') return this.reject(rpcError('INVALID_REQUEST', 'JSON-RPC responses are not part of MCP 2026-07-28 (the server sends no requests)'), msg.id);
    const principal = c.get('principal');
    if (msg.kind === 'notification') {
      // On HTTP a request is cancelled by closing its stream; a POSTed cancellation is honoured too.
      if (msg.method === 'notifications/cancelled') {
        const target = msg.params?.requestId;
        const rid = typeof target === 'string' || typeof target === 'number' ? this.byClientId.get(this.key(principal?.id, target)) : undefined;
        if (rid !== undefined) this.router.cancel(rid, typeof msg.params?.reason === 'string' ? msg.params.reason : 'cancelled by the client');
      } else {
        this.rt.log.debug({ method: msg.method.slice(0, 100) }, 'a 2026-07-28 notification with no meaning to the server accepted');
      }
      return new Response(null, { status: 202 });
    }
    if (this.rt.draining) {
      return this.reject(rpcError('SHUTTING_DOWN', 'not accepting new requests'), msg.id, { 'retry-after': String(this.rt.config.http.retryAfterSeconds) });
    }
    if (msg.method === 'subscriptions/listen') return this.listen(c, msg, headers);
    if (this.rt.cluster) {
      // A handle another node holds: served there (or taken over here when that node is gone).
      const handle = this.router.handleOf(msg);
      if (handle !== undefined && !this.rt.holdsHandle(handle)) {
        const relayed = await routeToOwner(this.rt, c, handleKey(handle), msg.raw, msg.id, () => this.router.handleSink);
        if (relayed) return relayed;
      }
    }
    let release: (() => void) | undefined;
    if (principal && this.limiter) {
      if (!this.limiter.beginRequest(principal)) {
        return this.reject(rpcError('PRINCIPAL_INFLIGHT_LIMIT', `limit ${principal.limits.maxInFlight}`), msg.id, { 'retry-after': '1' });
      }
      const limiter = this.limiter;
      release = () => limiter.endRequest(principal.id);
    }
    const rid = ModernRouter.nextId();
    const clientKey = this.key(principal?.id, msg.id);
    const exchange = new Exchange(
      this.rt.config.http.sseMaxBufferedBytes,
      () => this.rt.metrics.sseDropped.inc(),
      () => this.router.cancel(rid, 'the client closed the request'),
      () => {
        release?.();
        if (this.byClientId.get(clientKey) === rid) this.byClientId.delete(clientKey);
      },
    );
    this.byClientId.set(clientKey, rid);
    const routed: ParsedRequest = { ...msg, id: rid, clientId: msg.id };
    const refused = this.router.request(routed, this.origin(c, headers), (out) => exchange.deliver(out));
    if (refused) {
      exchange.deliver({ kind: 'response', id: rid, err: true, json: JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: refused.toRpcError() }), status: refused.http });
      this.rt.metrics.httpRejected.inc({ status: String(refused.http), code: refused.code });
      const r = await exchange.response;
      if (refused.http === 503) r.headers.set('retry-after', String(this.rt.config.http.retryAfterSeconds));
      return r;
    }
    c.env?.outgoing?.once('close', () => exchange.clientClosed());
    return exchange.response;
  }

  private async listen(c: Ctx, msg: ParsedRequest, headers: Record<string, string | undefined>): Promise<Response> {
    const hub = this.rt.listen;
    if (hub.full) {
      return new Response(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: 'Subscription limit reached: the server holds its maximum number of subscriptions/listen streams' } }), { status: 200, headers: JSON_HEADERS });
    }
    let verdict;
    try {
      verdict = await this.rt.stateless.checkListen(msg.raw, mcpHeadersOf(headers));
    } catch (err) {
      const e = err as CodedError;
      return this.reject(rpcError('SERVER_BUSY', e.message), msg.id, { 'retry-after': String(this.rt.config.http.retryAfterSeconds) });
    }
    if (!verdict.ok) return new Response(verdict.json, { status: verdict.status, headers: JSON_HEADERS });
    const sse = new SseStream(this.rt.config.http.sseMaxBufferedBytes, () => this.rt.metrics.sseDropped.inc());
    const close = hub.open(msg.id, verdict.honoured, { write: (json) => sse.event(json), close: () => sse.close() });
    sse.onClose(close);
    return new Response(sse.body, { status: 200, headers: SSE_HEADERS });
  }
}
