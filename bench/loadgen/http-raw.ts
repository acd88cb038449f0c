/**
 * The raw-socket HTTP/1.1 client (http: only): a pool of keep-alive TCP connections, one request
 * at a time per connection, each request written with a single socket write (request line,
 * cached header block, body), responses read by Http1ResponseParser. Measured on the 2-core dev
 * box it costs about a third of the CPU per request of node:http's ClientRequest machinery,
 * which matters when the load generator shares the machine with the server under test.
 *
 * A connection whose response settled early (an SSE stream that goes on after the matching
 * response) stays busy until the stream ends, or until the call's timeout destroys it; other
 * calls meanwhile take another connection.
 */
import net from 'node:net';
import { Http1ResponseParser, HttpParseError } from './http1-parser.js';
import { connKind, ReplyReader, type ExchangeOptions, type HttpClient, type HttpOutcome } from './reply.js';

class Connection {
  alive = true;
  private readonly sock: net.Socket;
  private readonly parser: Http1ResponseParser;
  private reader: ReplyReader | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: RawHttpClient,
    host: string,
    port: number,
  ) {
    this.sock = net.connect({ host, port, noDelay: true });
    this.parser = new Http1ResponseParser({
      head: (h) => this.reader?.head(h.status, h.contentType, h.sessionId),
      body: (chunk) => this.reader?.body(chunk),
      end: (reusable) => this.finish(reusable),
    });
    this.sock.on('data', (buf: Buffer) => this.onData(buf));
    this.sock.on('error', (err) => {
      this.alive = false;
      this.reader?.fail(connKind(err));
    });
    this.sock.on('close', () => this.onClose());
  }

  start(reader: ReplyReader, request: string, timeoutMs: number): void {
    this.reader = reader;
    this.parser.reset();
    this.timer = setTimeout(() => {
      this.reader?.fail('timeout');
      this.destroy();
    }, timeoutMs);
    this.sock.write(request);
  }

  destroy(): void {
    this.alive = false;
    this.sock.destroy();
  }

  private onData(buf: Buffer): void {
    if (this.reader === undefined) {
      this.destroy(); // bytes nobody asked for: the connection cannot be trusted any more
      return;
    }
    try {
      if (this.parser.push(buf) > 0) this.destroy(); // more than one response: same
    } catch (err) {
      if (!(err instanceof HttpParseError)) throw err;
      this.reader?.fail('bad_http', err.message);
      this.destroy();
    }
  }

  private finish(reusable: boolean): void {
    clearTimeout(this.timer);
    const reader = this.reader!;
    this.reader = undefined;
    if (reusable && this.alive) this.client.release(this);
    else this.destroy();
    reader.end();
  }

  private onClose(): void {
    this.alive = false;
    this.client.forget(this);
    if (this.reader === undefined) return;
    // A body delimited by the close ends here (finish() runs); anything else was cut short.
    if (!this.parser.close()) {
      clearTimeout(this.timer);
      const reader = this.reader;
      this.reader = undefined;
      reader?.fail('conn_closed');
    }
  }
}

export class RawHttpClient implements HttpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly requestTarget: string;
  private readonly hostHeader: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  /** Serialized header blocks, per headers object (sessions reuse theirs for every request). */
  private readonly blocks = new WeakMap<object, string>();

  constructor(
    url: URL,
    private readonly maxIdle: number,
  ) {
    if (url.protocol !== 'http:') throw new Error('the raw HTTP client speaks plain http: only');
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 80);
    this.requestTarget = (url.pathname || '/') + url.search;
    this.hostHeader = url.host;
  }

  exchange(o: ExchangeOptions): Promise<HttpOutcome> {
    let block = this.blocks.get(o.headers);
    if (block === undefined) {
      block = `host: ${this.hostHeader}\r\n`;
      for (const [k, v] of Object.entries(o.headers)) {
        if (k.toLowerCase() === 'host' || k.toLowerCase() === 'content-length') continue;
        if (/[\r\n\0]/.test(k + v)) throw new Error(`invalid character in header ${k}`);
        block += `${k}: ${v}\r\n`;
      }
      this.blocks.set(o.headers, block);
    }
    const body = o.body ?? '';
    const request = `${o.method} ${this.requestTarget} HTTP/1.1\r\n${block}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise<HttpOutcome>((resolve) => {
      const reader = new ReplyReader(o.expectId, o.onServerRequest, resolve);
      this.acquire().start(reader, request, o.timeoutMs);
    });
  }

  private acquire(): Connection {
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) if (c.alive) return c;
    const c = new Connection(this, this.host, this.port);
    this.all.add(c);
    return c;
  }

  /** A connection finished its exchange and may carry another. */
  release(c: Connection): void {
    if (this.idle.length < this.maxIdle) this.idle.push(c);
    else c.destroy();
  }

  forget(c: Connection): void {
    this.all.delete(c);
  }

  close(): void {
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle.length = 0;
  }
}
