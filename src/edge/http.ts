/**
 * The HTTP edge: a Hono app on @hono/node-server. Guards (Host/Origin), CORS for browser clients,
 * the MCP endpoint, and the operational endpoints.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { rpcError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkHost, checkOrigin, makeHostPolicy, type HostPolicy } from './guards.js';
import { jsonError } from './session-streams.js';
import { keepAliveSweep } from './sse.js';
import { StreamableEdge, type EdgeEnv } from './streamable.js';

const MCP_HEADERS = ['content-type', 'accept', 'authorization', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];

function hostGuard(policy: HostPolicy, rt: Runtime): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const err = checkHost(c.req.header('host'), policy) ?? checkOrigin(c.req.header('origin'), policy);
    if (err) {
      rt.metrics.httpRejected.inc({ status: String(err.http), code: err.code });
      return jsonError(err);
    }
    await next();
  };
}

export function createApp(rt: Runtime): Hono<EdgeEnv> {
  const http = rt.config.http;
  const policy = makeHostPolicy(rt.config.host, http.allowedHosts, http.allowedOrigins);
  const edge = new StreamableEdge(rt);
  const app = new Hono<EdgeEnv>();
  const path = http.path;

  app.use(path, hostGuard(policy, rt));
  app.use(
    path,
    cors({
      origin: (origin) => (checkOrigin(origin, policy) ? null : origin),
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: MCP_HEADERS,
      exposeHeaders: ['mcp-session-id', 'mcp-protocol-version'],
      maxAge: 600,
    }),
  );
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
      warmPool: rt.pool.stats(),
    });
  });
  app.get('/metrics', async () => new Response(await rt.metrics.text(), { headers: { 'content-type': rt.metrics.contentType } }));

  app.notFound(() => new Response('Not Found', { status: 404 }));
  app.onError((err) => {
    rt.log.error({ err: err.message, stack: err.stack }, 'unhandled error in the HTTP edge');
    return jsonError(rpcError('INTERNAL'));
  });
  return app;
}

export interface HttpServer {
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and ends every session. */
  close(): Promise<void>;
}

export async function startHttp(rt: Runtime): Promise<HttpServer> {
  const app = createApp(rt);
  const keepAlive = setInterval(() => keepAliveSweep(rt.config.http.sseKeepAliveMs), Math.max(250, Math.min(5_000, rt.config.http.sseKeepAliveMs / 2)));
  keepAlive.unref();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: rt.config.host, port: rt.config.port }) as Server;
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
    close: async () => {
      clearInterval(keepAlive);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
