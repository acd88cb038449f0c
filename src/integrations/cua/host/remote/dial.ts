/**
 * Opening a session with a computer-server: the WebSocket, the auth frame (when we have a key),
 * then `version` and `get_screen_size`. Used by connectCuaComputer() and by reconnects.
 */
import WebSocket from 'ws';
import { ComputerError, type ScreenSize } from '../../shared/computer.js';
import { ConnectionLost, ReplyChannel } from './channel.js';
import { authFrame, failureCode, toCua, WS_PATH, type Reply } from './protocol.js';
import { checkScreenSize } from '../../shared/validate.js';

export interface DialOptions {
  url: string;
  apiKey: string | undefined;
  containerName: string | undefined;
  timeoutMs: number;
  pingIntervalMs: number;
  headers: Record<string, string>;
  maxPayload: number;
  /** Scrubs secrets out of any text that leaves us. */
  redact(text: string): string;
}

export interface ServerInfo {
  /** The `protocol` of the server's `version` reply (undefined when it has none). */
  protocol: number | undefined;
  /** Its `package` (the computer-server's version string). */
  package: string | undefined;
  /** Our extension commands the server offers (only our own server lists any). */
  extensions: ReadonlySet<string>;
  /** True when every connection gets a fresh computer (our server): a reconnect would not find ours. */
  perConnection: boolean;
}

export interface Session {
  channel: ReplyChannel;
  info: ServerInfo;
  size: ScreenSize;
}

/** ws(s) URL of the /ws endpoint: http(s) base URLs get `/ws` appended, like cua's clients do. */
export function wsUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ComputerError('BAD_ARGUMENT', 'url is not a valid URL');
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${WS_PATH}`;
  } else if (u.protocol === 'ws:' || u.protocol === 'wss:') {
    if (u.pathname === '' || u.pathname === '/') u.pathname = WS_PATH;
  } else {
    throw new ComputerError('BAD_ARGUMENT', `url must be ws:, wss:, http: or https:, got ${u.protocol}`);
  }
  return u;
}

/** A printable name for the endpoint without credentials, query or fragment. */
export function publicName(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function openSocket(url: URL, o: DialOptions): Promise<WebSocket> {
  const name = publicName(url);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: o.timeoutMs,
      perMessageDeflate: false,
      maxPayload: o.maxPayload,
      headers: o.headers,
    });
    ws.on('error', (err) => reject(new ComputerError('BACKEND_ERROR', o.redact(`cannot connect to ${name}: ${err.message}`))));
    ws.once('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      const code = status === 401 || status === 403 ? 'AUTH_FAILED' : 'BACKEND_ERROR';
      const why = status === 503 ? ' (no computer available: the server is at capacity)' : '';
      reject(new ComputerError(code, `${name} refused the WebSocket upgrade with HTTP ${status}${why}`));
    });
    ws.once('open', () => resolve(ws));
  });
}

/** Opens a session; rejects with AUTH_FAILED, BACKEND_ERROR or TIMEOUT and leaves nothing open. */
export async function dial(o: DialOptions, onClose: (lost: ConnectionLost) => void): Promise<Session> {
  const url = wsUrl(o.url);
  const name = publicName(url);
  const ws = await openSocket(url, o);
  let ready = false;
  let lostEarly: ConnectionLost | undefined;
  const channel = new ReplyChannel(ws, {
    pingIntervalMs: o.pingIntervalMs,
    onClose: (lost) => {
      if (ready) onClose(lost);
      else lostEarly = lost;
    },
  });
  const fail = (reply: Reply & { success: false }, what: string, code = failureCode(reply)) =>
    new ComputerError(code, o.redact(`${name}: ${what}: ${reply.error}`));
  try {
    if (o.apiKey !== undefined) {
      const r = await channel.request(authFrame(o.apiKey, o.containerName), o.timeoutMs);
      // A server without auth does not know the command (cua's local mode): nothing to pass, go on.
      if (!r.success && failureCode(r) !== 'NOT_SUPPORTED') throw fail(r, 'authentication refused', 'AUTH_FAILED');
    }
    const v = await channel.request(toCua.version(), o.timeoutMs);
    if (!v.success && failureCode(v) === 'AUTH_FAILED') throw fail(v, 'the server requires authentication (an apiKey)');
    const info: ServerInfo = {
      protocol: v.success && typeof v.protocol === 'number' ? v.protocol : undefined,
      package: v.success && typeof v.package === 'string' ? v.package : undefined,
      extensions: new Set(v.success && Array.isArray(v.extensions) ? v.extensions.filter((e): e is string => typeof e === 'string') : []),
      perConnection: v.success && v.computers === 'per-connection',
    };
    const s = await channel.request(toCua.screenSize(), o.timeoutMs);
    if (!s.success) throw fail(s, 'get_screen_size failed');
    const size = checkScreenSize(s.size);
    if (lostEarly) throw lostEarly;
    ready = true;
    return { channel, info, size };
  } catch (err) {
    await channel.close(500);
    if (err instanceof ComputerError) throw err;
    if (err instanceof ConnectionLost) {
      const code = err.closeCode === 1008 ? 'AUTH_FAILED' : 'BACKEND_ERROR';
      throw new ComputerError(code, o.redact(`${name} closed the connection during the handshake (${err.closeCode}${err.closeReason ? `: ${err.closeReason}` : ''})`));
    }
    throw new ComputerError('BACKEND_ERROR', o.redact(`${name}: ${(err as Error).message}`));
  }
}
