/**
 * The benchmark's baseline: the MCP TypeScript SDK's own Streamable HTTP server, in one process on
 * one thread, serving the same toolsets as the actor runtime. It is what a competent developer
 * writes with the SDK: a node:http server, one `StreamableHTTPServerTransport` + `McpServer` per
 * session (the SDK forbids sharing a server between transports), sessions keyed by the
 * transport's session id, an in-memory event store for resumability, and Host/Origin checks
 * against DNS rebinding.
 *
 * Everything shares the main thread: a `cpu_burn` or `hang` stalls every session, and `crash`
 * (`process.exit`) takes the whole server down. That is the point of the comparison.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Toolset } from '../../src/actor/toolsets/types.js';
import { BaselineSession, stderrLogger, type LogLevel } from './context.js';
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
}

export interface BaselineServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:43210/mcp`. */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  context: BaselineSession;
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

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(
    JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }),
  );
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
  const instructions = toolsets.map((t) => t.instructions).filter((s): s is string => Boolean(s));
  const sessions = new Map<string, Session>();
  const log = stderrLogger(logLevel, () => ({ component: 'baseline' }));

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
    const context = new BaselineSession(logLevel);
    const server = new McpServer(
      { name: 'mcp-actors-baseline', version: '0.1.0' },
      instructions.length > 0 ? { instructions: instructions.join('\n\n') } : undefined,
    );
    for (const toolset of toolsets) await toolset.register(server, context.contextFor(toolset, config[toolset.name] ?? {}));

    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(eventStoreMaxEvents),
      retryInterval: sseRetryMs,
      onsessioninitialized: (sessionId) => {
        context.bind(sessionId);
        sessions.set(sessionId, session);
      },
    });
    const session: Session = { transport, server, context };
    // Set before connect(): Protocol chains its own close handling after ours.
    transport.onclose = () => {
      if (context.sessionId !== undefined) sessions.delete(context.sessionId);
      void context.stop();
    };
    await server.connect(transport);
    context.stampArrivals(transport);
    return session;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
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
      res.setHeader('Allow', 'GET, POST, DELETE');
      sendJsonRpcError(res, 405, -32000, 'Method not allowed');
      return;
    }

    const sessionId = header(req, 'mcp-session-id');
    const body = method === 'POST' ? await readJsonBody(req) : undefined;

    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session) {
        sendJsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      await session.transport.handleRequest(req, res, body);
      return;
    }

    if (method === 'POST' && isInitializeRequest(body)) {
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
        await Promise.allSettled([...sessions.values()].map((s) => s.server.close()));
        sessions.clear();
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
