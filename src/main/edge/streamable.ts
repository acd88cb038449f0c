/**
 * MCP Streamable HTTP (2025-11-25; 2025-06-18 and 2025-03-26 clients work too): POST, GET and
 * DELETE on the MCP endpoint. This file validates and routes; sessions do the work.
 */
import { isUtf8 } from 'node:buffer';
import type { Context } from 'hono';
import { rpcError, CodedError, type JsonRpcId } from '../../shared/errors.js';
import { parseMessage, requestIdOf, type ParsedMessage } from '../protocol/jsonrpc.js';
import { isModernVersion, isSupportedVersion, supportsPrimingEvents } from '../protocol/versions.js';
import { ModernEdge } from './modern.js';
import type { Runtime, Session } from '../runtime.js';
import { acceptsJsonAndSse, acceptsSse, isJsonContentType } from './guards.js';
import { SessionStreams, jsonError } from './session-streams.js';
import { header, type EdgeEnv } from './headers.js';
import type { PrincipalLimiter } from './auth/limits.js';
import type { Principal } from './auth/principal.js';
import { requestHeaders, routeToOwner } from './cluster-route.js';
import type { SessionRecord } from '../sessions/session-record.js';
import { sessionKey } from '../directory.js';

export type { EdgeEnv };

type Ctx = Context<EdgeEnv>;

export const SESSION_HEADER = 'mcp-session-id';
/** Oversized bodies up to this multiple of http.maxBodyBytes are drained rather than cut off. */
const DRAIN_FACTOR = 4;
export const VERSION_HEADER = 'mcp-protocol-version';

const CLAIM = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';

/**
 * Which era a POSTed message belongs to, decided by its body as the spec (basic/versioning) and
 * the SDK's classifier decide it: a `_meta` envelope that names a protocol version makes it a
 * 2026-07-28 request, whatever else it carries (a session id is ignored); an `initialize` is the
 * 2025 handshake unless it carries a valid 2026 claim; everything else is 2025 session traffic.
 * A header naming the 2026 era on a message without the envelope is refused.
 */
function eraOf(msg: ParsedMessage, versionHeader: string | undefined): 'legacy' | 'modern' | CodedError {
  if (msg.kind === 'response') return 'legacy';
  const meta = msg.params?._meta as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object' && CLAIM in meta) {
    if (msg.kind !== 'request' || msg.method !== 'initialize') return 'modern';
    const claim = meta[CLAIM];
    const caps = meta[CLIENT_CAPABILITIES];
    const valid = typeof claim === 'string' && isModernVersion(claim) && typeof caps === 'object' && caps !== null && !Array.isArray(caps);
    if (valid) return 'modern';
  }
  if (versionHeader === undefined || !isModernVersion(versionHeader)) return 'legacy';
  const v = versionHeader.slice(0, 40);
  if (msg.kind === 'request' && msg.method === 'initialize') {
    return rpcError('HEADER_MISMATCH', `an initialize request (the 2025 handshake) was sent with MCP-Protocol-Version ${v}`, { mismatch: { header: v, body: 'initialize' } });
  }
  const missing = !meta || typeof meta !== 'object' ? ['_meta'] : [CLAIM, CLIENT_CAPABILITIES].filter((k) => !(k in meta));
  return rpcError('MISSING_ENVELOPE', `MCP-Protocol-Version names ${v}, but the request lacks ${missing.join(', ')}`, { envelope: { missing } });
}


export class StreamableEdge {
  readonly modern: ModernEdge;

  constructor(
    private readonly rt: Runtime,
    private readonly limiter?: PrincipalLimiter,
  ) {
    this.modern = new ModernEdge(rt, limiter);
  }

  private reject(err: CodedError, id: JsonRpcId | null = null, headers: Record<string, string> = {}): Response {
    this.rt.metrics.httpRejected.inc({ status: String(err.http), code: err.code });
    return jsonError(err, id, headers);
  }

  private readBody(c: Ctx): Promise<Buffer | CodedError> {
    const limit = this.rt.config.http.maxBodyBytes;
    const declared = header(c, 'content-length');
    if (declared !== undefined && Number(declared) > limit) {
      return Promise.resolve(rpcError('PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`));
    }
    // A request relayed by another node of the cluster: its body came with it, already read.
    const relayed = c.env?.forwardedBody;
    if (relayed !== undefined) return Promise.resolve(relayed.length > limit ? rpcError('PAYLOAD_TOO_LARGE', `the limit is ${limit} bytes`) : relayed);
    const incoming = c.env?.incoming;
    if (!incoming) {
      return c.req.arrayBuffer().then((ab) => (ab.byteLength > limit ? rpcError('PAYLOAD_TOO_LARGE', `the limit is ${limit} bytes`) : Buffer.from(ab)));
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      incoming.on('data', (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > limit) {
          over = true;
          chunks.length = 0;
          resolve(rpcError('PAYLOAD_TOO_LARGE', `the body exceeds the ${limit}-byte limit`));
          return;
        }
        chunks.push(chunk);
      });
      incoming.once('end', () => {
        if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
      incoming.once('error', (err) => {
        if (!over) resolve(rpcError('INVALID_REQUEST', `the request body could not be read: ${err.message}`));
      });
    });
  }

  /**
   * The session an id names, if the caller may see it: a session is bound to the principal that
   * created it, and to anyone else it does not exist (the same 404, the same body).
   */
  private owned(id: string, principal: Principal | undefined): Session<SessionStreams> | undefined {
    const s = this.rt.session<SessionStreams>(id);
    if (!s || s.actor.record.principal !== principal?.id) return undefined;
    return s;
  }

  private session(c: Ctx): Session<SessionStreams> | CodedError {
    const id = header(c, SESSION_HEADER);
    if (!id) return rpcError('SESSION_REQUIRED');
    const s = this.owned(id, c.get('principal'));
    if (!s || s.actor.phase === 'ended') return rpcError('SESSION_NOT_FOUND');
    return s;
  }

  /** Cluster mode: a session another node holds is served there (or taken over here); undefined: serve it here. */
  private toOwner(c: Ctx, body: string | undefined, requestId: JsonRpcId | null): Promise<Response | undefined> | undefined {
    const id = header(c, SESSION_HEADER);
    if (!this.rt.cluster || id === undefined || this.rt.session(id)) return undefined;
    return routeToOwner(this.rt, c, sessionKey(id), body, requestId, (stored) => this.streams(stored.record));
  }

  /** A session's HTTP streams. */
  private streams(record: SessionRecord, onEnded?: () => void): SessionStreams {
    const http = this.rt.config.http;
    return new SessionStreams({
      retryMs: http.sseRetryMs,
      maxEvents: http.eventStoreMaxEvents,
      maxBytes: http.eventStoreMaxBytes,
      priming: () => supportsPrimingEvents(record.protocolVersion),
      log: this.rt.log,
      fingerprint: record.fingerprint,
      maxStreams: http.maxSseStreamsPerSession,
      maxBufferedBytes: http.sseMaxBufferedBytes,
      onStreamDropped: () => this.rt.metrics.sseDropped.inc(),
      onEnded,
    });
  }

  private checkVersion(c: Ctx): CodedError | undefined {
    const v = header(c, VERSION_HEADER);
    if (v !== undefined && !isSupportedVersion(v)) {
      return rpcError('UNSUPPORTED_PROTOCOL_VERSION', `"${v.slice(0, 40)}" is not one of the supported revisions`);
    }
    return undefined;
  }

  async post(c: Ctx): Promise<Response> {
    if (!acceptsJsonAndSse(header(c, 'accept'))) {
      return this.reject(rpcError('NOT_ACCEPTABLE', 'the client must accept both application/json and text/event-stream'));
    }
    if (!isJsonContentType(header(c, 'content-type'))) return this.reject(rpcError('UNSUPPORTED_MEDIA_TYPE'));
    const body = await this.readBody(c);
    if (body instanceof CodedError) {
      // A declared body up to DRAIN_FACTOR × the limit is read and discarded after the 413, so the
      // client (still uploading) can read the answer and keep its connection; anything larger, or
      // undeclared, ends with the connection.
      const declared = Number(header(c, 'content-length'));
      const drain = body.code === 'PAYLOAD_TOO_LARGE' && declared <= DRAIN_FACTOR * this.rt.config.http.maxBodyBytes;
      return this.reject(body, null, drain ? {} : { connection: 'close' });
    }
    if (!isUtf8(body)) return this.reject(rpcError('INVALID_UTF8'));
    let msg: ParsedMessage;
    try {
      msg = parseMessage(body.toString('utf8'), this.rt.config.http.maxJsonDepth);
    } catch (err) {
      if (err instanceof CodedError) return this.reject(err, requestIdOf(err));
      throw err;
    }

    const era = eraOf(msg, header(c, VERSION_HEADER));
    if (era instanceof CodedError) return this.reject(era, msg.kind === 'request' ? msg.id : null);
    if (era === 'modern') return this.modern.post(c, msg, requestHeaders(c));
    if (msg.kind === 'request' && msg.method === 'initialize') return this.initialize(c, msg);

    const versionError = this.checkVersion(c);
    if (versionError) return this.reject(versionError, msg.kind === 'request' ? msg.id : null);
    const requestId = msg.kind === 'request' ? msg.id : null;
    const relayed = this.toOwner(c, msg.raw, requestId);
    if (relayed) {
      const r = await relayed;
      if (r) return r;
    }
    const s = this.session(c);
    if (s instanceof CodedError) return this.reject(s, requestId);
    if (msg.kind !== 'request') {
      // Notifications and replies are always taken, even while draining: requests in flight may need them.
      s.actor.submit(msg);
      return new Response(null, { status: 202 });
    }
    if (this.rt.draining) {
      return this.reject(rpcError('SHUTTING_DOWN', 'not accepting new requests'), msg.id, { 'retry-after': String(this.rt.config.http.retryAfterSeconds) });
    }
    if (s.actor.hasInflight(msg.id)) return this.reject(rpcError('DUPLICATE_REQUEST_ID'), msg.id);
    const principal = c.get('principal');
    let onDone: (() => void) | undefined;
    if (principal && this.limiter) {
      if (!this.limiter.beginRequest(principal)) {
        return this.reject(rpcError('PRINCIPAL_INFLIGHT_LIMIT', `limit ${principal.limits.maxInFlight}`), msg.id, { 'retry-after': '1' });
      }
      const limiter = this.limiter;
      onDone = () => limiter.endRequest(principal.id);
    }
    const response = s.sink.open(msg.id, { onDone });
    s.actor.submit(msg);
    return response;
  }

  private initialize(c: Ctx, msg: ParsedMessage & { kind: 'request' }): Promise<Response> | Response {
    const existing = header(c, SESSION_HEADER);
    const principal = c.get('principal');
    if (existing !== undefined) {
      const known = this.owned(existing, principal);
      return this.reject(known ? rpcError('ALREADY_INITIALIZED') : rpcError('SESSION_NOT_FOUND'), msg.id);
    }
    const retryAfter = { 'retry-after': String(this.rt.config.http.retryAfterSeconds) };
    if (this.rt.draining) return this.reject(rpcError('SHUTTING_DOWN'), msg.id, retryAfter);
    if (this.rt.atCapacity) {
      return this.reject(rpcError('SERVER_BUSY', `${this.rt.size} sessions are open (limit ${this.rt.config.sessions.maxSessions})`), msg.id, retryAfter);
    }
    if (this.rt.cluster && !this.rt.cluster.available) return this.reject(rpcError('CLUSTER_UNAVAILABLE'), msg.id, retryAfter);
    const limiter = principal ? this.limiter : undefined;
    if (principal && limiter && !limiter.openSession(principal)) {
      return this.reject(rpcError('PRINCIPAL_SESSION_LIMIT', `limit ${principal.limits.maxSessions}`), msg.id, retryAfter);
    }
    const session = this.rt.createSession(
      (record) => this.streams(record, principal && limiter ? () => limiter.closeSession(principal.id) : undefined),
      {
        clientIp: c.env?.incoming?.socket.remoteAddress,
        principal: principal?.id,
        admin: principal?.admin,
        // Integrations may bind private data from them (e.g. X-Ccxt-Accounts); never logged or stored.
        headers: requestHeaders(c),
      },
    );
    const response = session.sink.open(msg.id, { successHeaders: { [SESSION_HEADER]: session.actor.id } });
    session.actor.submit(msg);
    return response;
  }

  /** GET and DELETE exist for 2025 sessions only; MCP 2026-07-28 serves POST alone (405 without a session). */
  private sessionless(c: Ctx): Response | undefined {
    if (header(c, SESSION_HEADER) !== undefined) return undefined;
    return this.reject(rpcError('METHOD_NOT_ALLOWED', `${c.req.method} needs an Mcp-Session-Id (a 2025 session); MCP 2026-07-28 requests are POSTed`), null, { allow: 'POST' });
  }

  async get(c: Ctx): Promise<Response> {
    const sessionless = this.sessionless(c);
    if (sessionless) return sessionless;
    if (!acceptsSse(header(c, 'accept'))) {
      return this.reject(rpcError('NOT_ACCEPTABLE', 'a GET stream needs Accept: text/event-stream'));
    }
    const versionError = this.checkVersion(c);
    if (versionError) return this.reject(versionError);
    const relayed = await this.toOwner(c, undefined, null);
    if (relayed) return relayed;
    const s = this.session(c);
    if (s instanceof CodedError) return this.reject(s);
    s.actor.record.lastActivity = Date.now();
    const outgoing = c.env?.outgoing;
    const res = s.sink.openGet(header(c, 'last-event-id'), outgoing ? (release) => outgoing.once('close', release) : undefined);
    if (res.status >= 400) this.rt.metrics.httpRejected.inc({ status: String(res.status), code: 'GET' });
    return res;
  }

  async delete(c: Ctx): Promise<Response> {
    const sessionless = this.sessionless(c);
    if (sessionless) return sessionless;
    const versionError = this.checkVersion(c);
    if (versionError) return this.reject(versionError);
    const relayed = await this.toOwner(c, undefined, null);
    if (relayed) return relayed;
    const s = this.session(c);
    if (s instanceof CodedError) return this.reject(s);
    await s.actor.end('deleted by the client');
    return new Response(null, { status: 200 });
  }
}
