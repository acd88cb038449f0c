/**
 * The node:http client: a keep-alive Agent (one pool for every session). More CPU per request
 * than the raw-socket client but the stock HTTP stack; used for https: and on request
 * (`httpClient: "node"`).
 */
import http from 'node:http';
import https from 'node:https';
import { connKind, ReplyReader, type ExchangeOptions, type HttpClient, type HttpOutcome } from './reply.js';

export class NodeHttpClient implements HttpClient {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly base: { hostname: string; port: string | number; path: string };

  constructor(url: URL, maxSockets: number) {
    const secure = url.protocol === 'https:';
    const agentOpts: http.AgentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' };
    this.agent = secure ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.request = secure ? https.request : http.request;
    this.base = {
      // URL keeps IPv6 literals bracketed; node:http wants them bare.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
    };
  }

  exchange(o: ExchangeOptions): Promise<HttpOutcome> {
    return new Promise<HttpOutcome>((resolve) => {
      const reader = new ReplyReader(o.expectId, o.onServerRequest, resolve);
      const req = this.request(
        { agent: this.agent, ...this.base, method: o.method, headers: o.headers },
        (res) => {
          res.on('error', (err) => reader.fail(connKind(err)));
          reader.head(res.statusCode ?? 0, (res.headers['content-type'] ?? '').toLowerCase(), sid(res.headers));
          res.on('data', (chunk: Buffer) => reader.body(chunk));
          res.on('end', () => reader.end());
        },
      );
      // Cleared when the exchange is over ('close'); until then it bounds both the wait for the
      // response and any stream the server leaves open after answering.
      const timer = setTimeout(() => {
        reader.fail('timeout');
        req.destroy();
      }, o.timeoutMs);
      req.on('close', () => {
        clearTimeout(timer);
        reader.fail('conn_closed');
      });
      req.on('error', (err) => reader.fail(connKind(err)));
      req.end(o.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function sid(h: http.IncomingHttpHeaders): string | undefined {
  const v = h['mcp-session-id'];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
