/**
 * Reading the HTTP reply to one JSON-RPC POST, whichever client carried it.
 *
 * The reply is `application/json` (one message or a batch array) or `text/event-stream`, whose
 * events are parsed as they arrive: events with empty data (priming) are skipped, notifications
 * ignored, requests from the server handed to `onServerRequest`, and the outcome settles as soon
 * as the response whose id matches arrives (the stream may go on; the client drains it).
 */
import { StringDecoder } from 'node:string_decoder';
import { SseParser } from './sse.js';

export type JsonRpcMessage = {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
};

export type HttpOutcome =
  | { ok: true; message: JsonRpcMessage | undefined; sessionId: string | undefined }
  | { ok: false; kind: string; detail?: string };

export interface ExchangeOptions {
  method: 'POST' | 'DELETE';
  /** Request headers. Pass the same object for every request of a session: clients may cache its serialization. */
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** The JSON-RPC id whose response to wait for; undefined when no response body is expected. */
  expectId?: number | string;
  timeoutMs: number;
  onServerRequest?: (msg: JsonRpcMessage) => void;
}

/** What carries exchanges to the server: the raw-socket client or node:http. */
export interface HttpClient {
  exchange(o: ExchangeOptions): Promise<HttpOutcome>;
  close(): void;
}

export function connKind(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? `conn_${code}` : 'conn_error';
}

const IGNORE = 0;
const JSON_BODY = 1;
const SSE_BODY = 2;

export class ReplyReader {
  settled = false;
  private mode = IGNORE;
  private chunks: Buffer[] = [];
  private decoder: StringDecoder | undefined;
  private sse: SseParser | undefined;
  private sessionId: string | undefined;
  private contentType = '';

  constructor(
    private readonly expectId: number | string | undefined,
    private readonly onServerRequest: ((msg: JsonRpcMessage) => void) | undefined,
    private readonly resolve: (o: HttpOutcome) => void,
  ) {}

  settle(o: HttpOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(o);
  }

  fail(kind: string, detail?: string): void {
    this.settle(detail === undefined ? { ok: false, kind } : { ok: false, kind, detail });
  }

  head(status: number, contentType: string, sessionId: string | undefined): void {
    this.sessionId = sessionId;
    this.contentType = contentType;
    if (status < 200 || status >= 300) {
      this.fail(`http_${status}`);
      return;
    }
    if (this.expectId === undefined || status === 202 || status === 204) {
      this.settle({ ok: true, message: undefined, sessionId });
      return;
    }
    if (contentType.startsWith('text/event-stream')) {
      this.mode = SSE_BODY;
      this.decoder = new StringDecoder('utf8');
      this.sse = new SseParser(({ data }) => {
        if (this.settled) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          this.fail('bad_response', 'unparseable SSE data');
          return;
        }
        this.considerAll(parsed);
      });
    } else {
      this.mode = JSON_BODY;
    }
  }

  body(chunk: Buffer): void {
    if (this.mode === JSON_BODY) this.chunks.push(chunk);
    else if (this.mode === SSE_BODY && !this.settled) this.sse!.push(this.decoder!.write(chunk));
  }

  /** The body is complete. */
  end(): void {
    if (this.settled) return;
    if (this.mode === SSE_BODY) {
      this.sse!.push(this.decoder!.end());
      this.fail('sse_no_response', 'SSE stream ended before the response');
    } else if (this.mode === JSON_BODY) {
      const c = this.chunks;
      const text = c.length === 1 ? c[0]!.toString('utf8') : Buffer.concat(c).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        this.fail('bad_response', `unparseable body (${this.contentType || 'no content-type'})`);
        return;
      }
      if (!this.considerAll(parsed)) this.fail('bad_response', 'no response with the request id');
    }
  }

  private considerAll(parsed: unknown): boolean {
    if (Array.isArray(parsed)) {
      let found = false;
      for (const m of parsed) if (this.consider(m)) found = true;
      return found;
    }
    return this.consider(parsed);
  }

  private consider(msg: unknown): boolean {
    if (typeof msg !== 'object' || msg === null) return false;
    const m = msg as JsonRpcMessage;
    if (m.id === this.expectId && (m.result !== undefined || m.error !== undefined)) {
      this.settle({ ok: true, message: m, sessionId: this.sessionId });
      return true;
    }
    if (typeof m.method === 'string' && m.id !== undefined && m.id !== null) this.onServerRequest?.(m);
    return false;
  }
}
