/**
 * The HTTP edge: a Hono app on @hono/node-server. Guards (Host/Origin), CORS for browser clients,
 * the MCP endpoint, and the operational endpoints.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { ConfigError } from '../config.js';
import { rpcError } from '../../shared/errors.js';
import type { Runtime } from '../runtime.js';
import { checkHost, checkOrigin, makeHostPolicy, type HostPolicy } from './guards.js';
import { jsonError } from './session-streams.js';
import { keepAliveSweep } from './sse.js';
import { StreamableEdge } from './streamable.js';
import { header, type EdgeEnv } from './headers.js';
import { audit } from './auth/audit.js';
import { unsafeBindProblem } from './auth/bind-policy.js';
import { metadataPaths, protectedResourceMetadata, resourceUri } from './auth/metadata.js';
import { Authenticator, authMiddleware, logAuthFailure } from './auth/middleware.js';
import { bearerToken } from './auth/bearer.js';
import { PrincipalLimiter } from './auth/limits.js';
import { bearerChallenge } from './auth/challenge.js';

const MCP_HEADERS = ['content-type', 'accept', 'authorization', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'mcp-method', 'mcp-name'];

/** How many Host headers the request carried (Node keeps only the first in `headers`). */
function hostHeaderCount(c: Context<EdgeEnv>): number {
  const raw = c.env?.incoming?.rawHeaders;
  if (!raw) return 1;
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

/** Host/Origin allowlists (DNS-rebinding protection) for every route, and exactly one Host header. */
function hostGuard(policy: HostPolicy, rt: Runtime): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const err = (hostHeaderCount(c) > 1 ? rpcError('DUPLICATE_HOST') : undefined) ?? checkHost(header(c, 'host'), policy) ?? checkOrigin(header(c, 'origin'), policy);
    if (err) {
      rt.metrics.httpRejected.inc({ status: String(err.http), code: err.code });
      return jsonError(err);
    }
    await next();
  };
}

export interface EdgeParts {
  auth: Authenticator;
  limiter: PrincipalLimiter;
}

export function createApp(rt: Runtime, parts: EdgeParts = { auth: new Authenticator(rt.config), limiter: new PrincipalLimiter() }): Hono<EdgeEnv> {
  const http = rt.config.http;
  const policy = makeHostPolicy(rt.config.host, http.allowedHosts, http.allowedOrigins);
  const { auth, limiter } = parts;
  const edge = new StreamableEdge(rt, limiter);
  const app = new Hono<EdgeEnv>();
  const path = http.path;

  // Every route: the operational endpoints carry counts a DNS-rebinding page must not read either.
  app.use('*', hostGuard(policy, rt));
  // Hono answers HEAD with the GET handler and drops the body unread: on the MCP endpoint that
  // would open a GET stream nobody reads. HEAD is not a method of the endpoint.
  app.use(path, (c, next) =>
    c.req.method === 'HEAD' ? Promise.resolve(jsonError(rpcError('METHOD_NOT_ALLOWED', 'use POST, GET or DELETE'), null, { allow: 'GET, POST, DELETE' })) : next(),
  );
  const corsMiddleware = cors({
      origin: (origin) => (checkOrigin(origin, policy) ? null : origin),
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: MCP_HEADERS,
      exposeHeaders: ['mcp-session-id', 'mcp-protocol-version', 'www-authenticate', 'retry-after'],
      maxAge: 600,
    });
  // CORS matters only to browsers, which always send Origin; other clients skip the middleware.
  app.use(path, (c, next) => (header(c, 'origin') === undefined ? next() : corsMiddleware(c, next)));
  // Nothing to authenticate (the loopback default): no middleware at all on the hot path.
  if (auth.active) app.use(path, authMiddleware(rt, auth, limiter));
  app.post(path, (c) => edge.post(c));
  app.get(path, (c) => edge.get(c));
  app.delete(path, (c) => edge.delete(c));
  app.all(path, () => jsonError(rpcError('METHOD_NOT_ALLOWED', 'use POST, GET or DELETE'), null, { allow: 'GET, POST, DELETE' }));

  app.get('/health', (c) => {
    const counts = rt.sessionCounts();
    return c.json({
      status: rt.draining ? 'draining' : 'ok',
      uptimeSeconds: Math.round((Date.now() - rt.startedAt) / 1000),
      sessions: { total: rt.size, ...counts },
      threads: rt.liveThreads,
      warmPool: rt.pool.stats(),
    });
  });
  app.get('/metrics', async () => new Response(await rt.metrics.text(), { headers: { 'content-type': rt.metrics.contentType } }));
  app.get('/sessions', async (c) => {
    const authorization = header(c, 'authorization');
    const checked = auth.check(authorization);
    const outcome = checked instanceof Promise ? await checked : checked;
    const principal = outcome.principal;
    if (!principal) {
      const presented = bearerToken(authorization) !== undefined;
      const failure = outcome.failure ?? (presented ? { kind: 'invalid_token' as const, reason: 'the bearer token is not an admin credential of this server' } : { kind: 'missing' as const, reason: 'no admin credentials' });
      logAuthFailure(rt, c, failure, 'admin endpoint: authentication failed');
      const hint = auth.hasAdmin
        ? 'send Authorization: Bearer <admin token>'
        : 'no admin credential is configured on this server: set MCP_ACTORS_ADMIN_TOKEN (admin.token), or give a token the admin role (auth.tokens[].roles)';
      return jsonError(rpcError('UNAUTHORIZED', presented && auth.hasAdmin ? 'the bearer token is not an admin credential of this server' : hint), null, { 'www-authenticate': bearerChallenge({ realm: 'mcp-actors-admin' }) });
    }
    if (!principal.admin) {
      logAuthFailure(rt, c, { kind: 'invalid_token', reason: `principal ${principal.id} lacks the admin role` }, 'admin endpoint: forbidden');
      return jsonError(rpcError('FORBIDDEN', 'the admin role is required'));
    }
    audit(rt.log, 'admin.action', { action: 'sessions.list', principal: principal.id, path: '/sessions' }, 'admin action: sessions listed');
    return c.json({ sessions: rt.views() });
  });

  // RFC 9728 protected-resource metadata, whenever there are credentials to discover.
  if (auth.required) {
    for (const p of metadataPaths(rt.config)) {
      app.get(p, (c) => {
        const doc = protectedResourceMetadata(rt.config, resourceUri(rt.config, header(c, 'host')));
        return c.json(doc, 200, { 'access-control-allow-origin': '*', 'cache-control': 'max-age=300' });
      });
    }
  }

  if (rt.cluster) serveForwarded(rt, edge);

  app.notFound(() => new Response('Not Found', { status: 404 }));
  app.onError((err) => {
    rt.log.error({ err: err.message, stack: err.stack }, 'unhandled error in the HTTP edge');
    return jsonError(rpcError('INTERNAL'));
  });
  return app;
}

/**
 * Cluster mode: requests other nodes relay here run through the same edge. The relaying node
 * authenticated them (and applied its rate limits); the principal comes with the request, which
 * only nodes can send (the cluster's NATS subjects, see the README's NATS permissions).
 */
function serveForwarded(rt: Runtime, edge: StreamableEdge): void {
  const internal = new Hono<EdgeEnv>();
  const path = rt.config.http.path;
  internal.use(path, (c, next) => {
    const principal = c.env.forwardedPrincipal;
    if (principal) c.set('principal', principal);
    return next();
  });
  internal.post(path, (c) => edge.post(c));
  internal.get(path, (c) => edge.get(c));
  internal.delete(path, (c) => edge.delete(c));
  internal.onError((err) => {
    rt.log.error({ err: err.message, stack: err.stack }, 'unhandled error serving a forwarded request');
    return jsonError(rpcError('INTERNAL'));
  });
  rt.cluster!.serve((req, env) => Promise.resolve(internal.fetch(req, { outgoing: env.outgoing, forwarded: true, forwardedPrincipal: env.principal, forwardedBody: env.body })));
}

export interface HttpServer {
  url: string;
  port: number;
  server: Server;
  /** Drains (up to drainTimeoutMs), ends every session, stops every thread and closes the server. */
  close(drainTimeoutMs?: number): Promise<void>;
}

export async function startHttp(rt: Runtime): Promise<HttpServer> {
  const problem = unsafeBindProblem(rt.config);
  if (problem) throw new ConfigError(problem);
  const http = rt.config.http;
  const parts: EdgeParts = { auth: new Authenticator(rt.config), limiter: new PrincipalLimiter() };
  const app = createApp(rt, parts);
  const keepAlive = setInterval(() => keepAliveSweep(http.sseKeepAliveMs), Math.max(250, Math.min(5_000, http.sseKeepAliveMs / 2)));
  keepAlive.unref();
  const limiterSweep = setInterval(() => parts.limiter.sweep(), 30_000);
  limiterSweep.unref();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({
      fetch: app.fetch,
      hostname: rt.config.host,
      port: rt.config.port,
      // Slowloris: a request's head must arrive within headersTimeout and the whole request within
      // requestTimeout (Node answers 408 and closes); checked this often.
      serverOptions: {
        headersTimeout: http.headersTimeoutMs,
        requestTimeout: http.requestTimeoutMs,
        maxHeaderSize: http.maxHeaderBytes,
        connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(http.headersTimeoutMs / 4))),
      },
    }) as Server;
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const host = rt.config.host.includes(':') ? `[${rt.config.host}]` : rt.config.host;
  const url = `http://${host}:${port}${rt.config.http.path}`;
  return {
    url,
    port,
    server,
    close: async (drainTimeoutMs = 0) => {
      // 1. refuse new work, let accepted requests finish; 2. end sessions (streams close,
      // anything left is answered); 3. let responses flush, then drop the connections.
      if (drainTimeoutMs > 0) await rt.drain(drainTimeoutMs);
      clearInterval(keepAlive);
      clearInterval(limiterSweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.close();
      server.closeIdleConnections();
      const flushed = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2_000))]);
      if (!flushed) server.closeAllConnections();
      await closed;
    },
  };
}
