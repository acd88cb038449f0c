/**
 * The benchmark's baseline: the MCP TypeScript SDK's own Streamable HTTP serving (v2), in one
 * process on one thread, serving the same toolsets as the actor runtime in both protocol eras. It
 * is what a competent developer writes with the SDK (after its dual-era conformance server):
 *
 * - one node:http server, Host/Origin checks against DNS rebinding, a 4 MiB body limit;
 * - each POST body classified with the SDK's `classifyInboundRequest`: MCP 2026-07-28 requests
 *   (and the rejections of its validation ladder) go to one `createMcpHandler` — stateless
 *   serving, a fresh McpServer from the factory per request — behind `toNodeHandler`;
 * - 2025-era traffic (initialize, Mcp-Session-Id, GET, DELETE) goes to sessionful
 *   `NodeStreamableHTTPServerTransport`s, one McpServer per session (the SDK forbids sharing a
 *   server between transports), with an in-memory event store for resumability;
 * - server events (`ctx.events.publish`) go to one InMemoryServerEventBus, which feeds every
 *   `subscriptions/listen` stream (the handler's) and every live 2025 session.
 *
 * The toolsets see the runtime's semantics (context.ts: sessions, state handles, requestState).
 * Everything shares the main thread: a `cpu_burn` or `hang` stalls every session and request, and
 * `crash` (`process.exit`) takes the whole server down. That is the point of the comparison.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { classifyInboundRequest, createMcpHandler, isInitializeRequest, type McpServer } from '@modelcontextprotocol/server';
import type { Toolset } from '../../src/actor/toolsets/types.js';
import { BaselineHost, stderrLogger, type LogLevel, type ModernRequest, type SessionBinding } from './context.js';
import { InMemoryEventStore } from './event-store.js';

export interface BaselineServerOptions {
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  toolsets: Toolset[];
  /** Per-toolset configuration sections, keyed by toolset name (each toolset sees its own as `ctx.config`). */
  config?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Endpoint path. Default `/mcp`. */
  path?: string;
  /** SSE `retry` the priming events advertise (how soon clients reconnect after a stream closes). Default 1000 ms. */
  sseRetryMs?: number;
  /** Events kept per session for Last-Event-ID replay. Default 10 000. */
  eventStoreMaxEvents?: number;
  /** Hostnames accepted in Host and Origin headers. Default localhost, 127.0.0.1, [::1]. */
  allowedHostnames?: string[];
  /** Toolset log level (stderr). Default `info`. */
  logLevel?: LogLevel;
  /** The deadline `ctx.request()` reports (not enforced). Default 15 000 ms. */
  requestTimeoutMs?: number;
  /** A 2026 state handle without calls this long ends (0: never). Default 30 minutes. */
  handleIdleTimeoutMs?: number;
}

export interface BaselineServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:43210/mcp`. */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface Session {
  binding: SessionBinding;
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, -32000, 'Payload too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, -32700, 'Parse error: invalid JSON');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function startBaselineServer(options: BaselineServerOptions): Promise<BaselineServer> {
  const {
    host = '127.0.0.1',
    port = 0,
    toolsets,
    config = {},
    path = '/mcp',
    sseRetryMs = 1000,
    eventStoreMaxEvents = 10_000,
    allowedHostnames = ['localhost', '127.0.0.1', '[::1]'],
    logLevel = 'info',
  } = options;
  const allowed = new Set(allowedHostnames.map((h) => h.toLowerCase()));
  const log = stderrLogger(logLevel, { component: 'baseline' });
  const runtime = new BaselineHost({ toolsets, config, logLevel, requestTimeoutMs: options.requestTimeoutMs, handleIdleTimeoutMs: options.handleIdleTimeoutMs });
  await runtime.init();
  const sessions = new Map<string, Session>();

  // 2026-07-28: the SDK's stateless serving. Its factory runs once per HTTP request, inside
  // `modernRequests.run(request, …)` below: that is how the request's routing (this file parsed
  // the body to classify it, so it knows the tool and its arguments: stateless, a live handle, a
  // new handle) reaches the server built for it. AsyncLocalStorage, because toNodeHandler builds
  // the web Request itself and the factory sees nothing else of the request.
  const modernRequests = new AsyncLocalStorage<ModernRequest>();
  const modern = createMcpHandler(() => runtime.createServer(modernRequests.getStore() ?? runtime.route(undefined)), {
    legacy: 'reject',
    bus: runtime.bus,
    onerror: (err) => log.debug({ err: err.message }, 'modern request'),
  });
  const serveModern = toNodeHandler(modern, { onerror: (err) => log.error({ err: err.stack }, 'modern request failed') });

  /** DNS-rebinding protection: Host must name a loopback host; Origin, when sent, too. */
  const isAllowedRequest = (req: IncomingMessage): boolean => {
    const hostname = (value: string) => {
      try {
        return new URL(value).hostname.toLowerCase();
      } catch {
        return undefined;
      }
    };
    const hostHeader = header(req, 'host');
    if (!hostHeader || !allowed.has(hostname(`http://${hostHeader}`) ?? '')) return false;
    const origin = header(req, 'origin');
    return origin === undefined || allowed.has(hostname(origin) ?? '');
  };

  const createSession = async (): Promise<Session> => {
    const binding = runtime.newSession();
    const server = await runtime.createServer(binding);
    let unsubscribe = () => {};
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => binding.id,
      eventStore: new InMemoryEventStore(eventStoreMaxEvents),
      retryInterval: sseRetryMs,
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, session);
        runtime.opened(binding);
        unsubscribe = runtime.bus.subscribe((event) => {
          binding.deliver(server, event).catch((err: unknown) => log.debug({ err: (err as Error).message }, 'a server event could not reach a session'));
        });
      },
    });
    const session: Session = { binding, transport, server };
    // Set before connect(): Protocol chains its own close handling (and the toolsets' onStop hooks) after ours.
    transport.onclose = () => {
      unsubscribe();
      sessions.delete(binding.id);
      runtime.closed(binding);
      binding.session.onEnd = () => {};
      binding.session.end();
    };
    // A session that ends itself (the session toolset's cleanup_session) closes once answered.
    binding.session.onEnd = () => void transport.close();
    await server.connect(transport);
    binding.stamp(transport);
    return session;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = Date.now();
    if (!isAllowedRequest(req)) {
      sendJsonRpcError(res, 403, -32000, 'Forbidden: Host or Origin not allowed');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      sendJsonRpcError(res, 404, -32000, 'Not found');
      return;
    }
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      sendJsonRpcError(res, 405, -32000, 'Method not allowed', { Allow: 'GET, POST, DELETE' });
      return;
    }

    const sessionId = header(req, 'mcp-session-id');
    const body = method === 'POST' ? await readJsonBody(req) : undefined;

    if (method === 'POST') {
      const inbound = classifyInboundRequest({
        httpMethod: method,
        protocolVersionHeader: header(req, 'mcp-protocol-version'),
        mcpMethodHeader: header(req, 'mcp-method'),
        mcpNameHeader: header(req, 'mcp-name'),
        body,
      });
      // 2026-07-28 (and the ladder's rejections of what claims it): stateless, whatever Mcp-Session-Id says.
      if (inbound.kind !== 'legacy') {
        const routed = runtime.route(inbound.kind === 'modern' ? inbound.message : undefined, receivedAt);
        res.once('close', () => routed.finish());
        await modernRequests.run(routed, () => serveModern(req, res, body));
        return;
      }
    }

    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session) {
        sendJsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      await session.transport.handleRequest(req, res, body);
      return;
    }
    // 2025 sessions only: a server that serves 2026-07-28 statelessly has no GET stream or DELETE without one.
    if (method !== 'POST') {
      sendJsonRpcError(res, 405, -32000, 'Method not allowed: GET and DELETE need the Mcp-Session-Id of a 2025-era session', { Allow: 'POST' });
      return;
    }
    if (isInitializeRequest(body)) {
      const session = await createSession();
      await session.transport.handleRequest(req, res, body);
      // A rejected initialize never gets a session id: drop what was built for it.
      if (session.transport.sessionId === undefined) await session.server.close();
      return;
    }
    sendJsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
  };

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendJsonRpcError(res, error.status, error.code, error.message);
        return;
      }
      log.error({ err: error instanceof Error ? error.stack : String(error) }, 'request failed');
      sendJsonRpcError(res, 500, -32603, 'Internal server error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}${path}`,
    close() {
      closing ??= (async () => {
        await modern.close();
        await Promise.allSettled([...sessions.values()].map((s) => s.server.close()));
        sessions.clear();
        runtime.endHandles();
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
