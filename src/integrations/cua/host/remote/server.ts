/**
 * Our own computer-server: serves trycua's protocol (see protocol.ts) so that runtimes elsewhere —
 * or cua's own clients — can drive this machine's computers.
 *
 * - `ws://host:port/ws`: each connection gets a fresh Computer from the factory, closed when the
 *   connection closes; with `apiKey` set the first frame must authenticate (constant-time check).
 * - `GET /status` (cua's health endpoint) and `POST /cmd` for `version` (cua's Python client probes
 *   it; other commands are refused there so that it falls back to /ws, where its computer lives).
 * - Loopback by default; any other bind address needs an apiKey. Upgrade requests carrying an
 *   Origin header (i.e. from a web page) are refused unless allowed: a page must not be able to
 *   drive a terminal on this machine.
 * - At most `maxComputers` connections at once; more get HTTP 503 at the upgrade.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Computer } from '../../shared/computer.js';
import { isLoopback, keyMatches } from './auth.js';
import { ServerConnection } from './connection.js';
import { hasCommand } from './dispatch.js';
import {
  CMD_PATH, COMMAND_ALIASES, COMMANDS, EXTENSIONS, PROTOCOL_VERSION, STATUS_PATH, WS_PATH, type StatusBody, type VersionReply,
} from './protocol.js';

export interface ComputerServerOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback requires `apiKey`. */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Makes the computer for a new connection (for us: a fresh Xvfb computer). */
  computers: () => Promise<Computer> | Computer;
  /** When set, clients must send it in the auth frame first. */
  apiKey?: string;
  /** Most connections (hence computers) at once (default 4). */
  maxComputers?: number;
  /** How long a client has to authenticate, in ms (default 10 000). */
  authTimeoutMs?: number;
  /** Origins allowed to open a WebSocket (default none: requests with an Origin header are refused). */
  allowedOrigins?: readonly string[];
  /** Ping interval towards clients; one unanswered until the next drops the connection (default 15 000, 0 = off). */
  pingIntervalMs?: number;
  /** Largest request frame, in bytes (default 1 MiB). */
  maxMessageBytes?: number;
}

export interface ComputerServer {
  /** ws://host:port/ws — what connectCuaComputer() takes. */
  readonly url: string;
  /** http://host:port — for /status and /cmd. */
  readonly httpUrl: string;
  /** Open connections right now. */
  readonly connections: number;
  /** Closes every connection and its computer, then the listener. Idempotent. */
  close(): Promise<void>;
}

const PACKAGE = 'mcp-actors-computer-server';

export async function startComputerServer(options: ComputerServerOptions): Promise<ComputerServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const apiKey = options.apiKey;
  const maxComputers = options.maxComputers ?? 4;
  if (typeof options.computers !== 'function') throw new TypeError('startComputerServer needs a `computers` factory');
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0)) throw new TypeError('apiKey must be a non-empty string');
  if (!isLoopback(host) && apiKey === undefined) {
    throw new Error(`refusing to listen on ${host} without an apiKey: anyone who can reach it could drive these computers (bind 127.0.0.1, or set an apiKey)`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError('port must be an integer in 0..65535');
  if (!Number.isInteger(maxComputers) || maxComputers < 1) throw new TypeError('maxComputers must be a positive integer');
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  const version: VersionReply = {
    success: true,
    protocol: PROTOCOL_VERSION,
    package: PACKAGE,
    extensions: Object.values(EXTENSIONS),
    computers: 'per-connection',
  };
  const status: StatusBody = { status: 'ok', os_type: process.platform === 'darwin' ? 'darwin' : process.platform === 'win32' ? 'windows' : 'linux', features: [] };
  const connections = new Set<ServerConnection>();
  let slots = 0;
  let closing: Promise<void> | undefined;

  const http = createServer((req, res) => void serveHttp(req, res));
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxMessageBytes ?? 1024 * 1024 });

  async function serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify(body));
    };
    if (path === STATUS_PATH && req.method === 'GET') return json(200, status);
    if (path !== CMD_PATH || req.method !== 'POST') return json(404, { detail: 'Not Found' });
    let body: { command?: unknown };
    try {
      body = JSON.parse(await readBody(req, 64 * 1024)) as { command?: unknown };
    } catch (err) {
      return json(400, { detail: `Invalid JSON body: ${(err as Error).message}` });
    }
    if (apiKey !== undefined) {
      const presented = req.headers['x-api-key'];
      if (typeof presented !== 'string' || presented.length === 0) return json(401, { detail: 'API key required' });
      if (!keyMatches(presented, apiKey)) return json(401, { detail: 'Authentication failed' });
    }
    if (typeof body?.command !== 'string' || body.command.length === 0) return json(400, { detail: 'Command is required' });
    const command = COMMAND_ALIASES[body.command] ?? body.command;
    if (command === COMMANDS.version) {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache' }).end(`data: ${JSON.stringify(version)}\n\n`);
      return;
    }
    if (hasCommand(command)) {
      return json(400, { detail: `${command} runs over ${WS_PATH} only: this server gives each WebSocket connection its own computer` });
    }
    return json(400, { detail: `Unknown command: ${body.command.slice(0, 100)}` });
  }

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (code: number, text: string) => {
      const body = JSON.stringify({ detail: text });
      socket.end(
        `HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    socket.on('error', () => {});
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== WS_PATH) return refuse(404, 'Not Found');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) return refuse(403, 'Forbidden');
    if (closing) return refuse(503, 'Service Unavailable');
    if (slots >= maxComputers) return refuse(503, 'Service Unavailable');
    slots++;
    let adopted = false;
    // ws refuses a bad handshake without calling back: give the slot back when that socket goes.
    socket.once('close', () => {
      if (!adopted) slots--;
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      adopted = true;
      const conn = new ServerConnection(ws, {
        apiKey,
        createComputer: async () => options.computers(),
        version,
        authTimeoutMs: options.authTimeoutMs ?? 10_000,
        maxPending: 1000,
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
      });
      connections.add(conn);
      void conn.finished.then(() => {
        connections.delete(conn);
        slots--;
      });
      if (closing) conn.end(1001, 'server shutting down');
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;

  return {
    url: `ws://${urlHost}:${addr.port}${WS_PATH}`,
    httpUrl: `http://${urlHost}:${addr.port}`,
    get connections() {
      return connections.size;
    },
    close() {
      closing ??= (async () => {
        for (const conn of connections) conn.end(1001, 'server shutting down');
        await Promise.all([...connections].map((c) => c.finished));
        wss.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
