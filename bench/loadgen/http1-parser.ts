/**
 * Incremental HTTP/1.1 response parser for the raw-socket client: feed it the bytes a socket
 * delivers; it reports the head, the decoded body pieces and the end of each response.
 *
 * Framing follows RFC 9112 §6.3: 1xx heads are skipped; 204 and 304 have no body; a
 * Transfer-Encoding whose last coding is `chunked` is de-chunked (extensions and trailers
 * ignored), any other Transfer-Encoding or no framing at all reads until the connection closes;
 * otherwise Content-Length. Lines may end in CRLF or a bare LF.
 */

export interface ResponseHead {
  status: number;
  /** Lower-cased `content-type`, or "". */
  contentType: string;
  /** `mcp-session-id`, if present. */
  sessionId: string | undefined;
}

export interface ResponseHandlers {
  head(h: ResponseHead): void;
  body(chunk: Buffer): void;
  /** The response is complete; `reusable` says whether the connection may carry another request. */
  end(reusable: boolean): void;
}

export class HttpParseError extends Error {}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const EMPTY = Buffer.alloc(0);
const MAX_HEAD = 64 * 1024;

export class Http1ResponseParser {
  private state = State.Done;
  private head: Buffer = EMPTY;
  private remaining = 0;
  private line = '';
  private keepAlive = true;

  constructor(private readonly h: ResponseHandlers) {}

  /** Expect a new response on this connection. */
  reset(): void {
    this.state = State.Head;
    this.head = EMPTY;
    this.line = '';
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Consumes bytes; returns how many bytes were left over after the response ended (0 normally). */
  push(buf: Buffer): number {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case State.Head: {
          const used = this.takeHead(buf, i);
          if (used < 0) return 0; // need more bytes (kept in this.head)
          i = used;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, n - i);
          this.h.body(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, n - i);
          this.h.body(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkEnd;
          break;
        }
        case State.ChunkSize:
        case State.ChunkEnd:
        case State.Trailers: {
          const nl = buf.indexOf(10, i);
          if (nl === -1) {
            this.line += buf.toString('latin1', i, n);
            if (this.line.length > MAX_HEAD) throw new HttpParseError('chunk line too long');
            return 0;
          }
          const line = (this.line + buf.toString('latin1', i, nl)).replace(/\r$/, '');
          this.line = '';
          i = nl + 1;
          this.chunkLine(line);
          break;
        }
        case State.UntilClose:
          this.h.body(i === 0 ? buf : buf.subarray(i));
          return 0;
        case State.Done:
          return n - i;
      }
    }
    return 0;
  }

  /** The connection closed. Ends a read-until-close body; anything else was cut short. */
  close(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.h.end(false);
      return true;
    }
    return this.state === State.Done;
  }

  private finish(): void {
    this.state = State.Done;
    this.h.end(this.keepAlive);
  }

  private chunkLine(line: string): void {
    if (this.state === State.ChunkEnd) {
      if (line !== '') throw new HttpParseError('missing CRLF after chunk data');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const semi = line.indexOf(';');
      const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new HttpParseError(`bad chunk size "${hex}"`);
      const size = parseInt(hex, 16);
      if (size === 0) {
        this.state = State.Trailers;
      } else {
        this.remaining = size;
        this.state = State.ChunkData;
      }
    } else if (line === '') {
      this.finish(); // end of trailers
    }
  }

  /** Parses a head starting at buf[from]; returns the index after it, or -1 when incomplete. */
  private takeHead(buf: Buffer, from: number): number {
    let data = buf;
    let start = from;
    if (this.head.length > 0) {
      data = Buffer.concat([this.head, buf.subarray(from)]);
      start = 0;
    }
    const end = findHeadEnd(data, start);
    if (end === -1) {
      if (data.length - start > MAX_HEAD) throw new HttpParseError('response head too long');
      this.head = start === 0 && data !== buf ? data : Buffer.from(data.subarray(start));
      return -1;
    }
    const consumedFromBuf = data === buf ? end.next : buf.length - (data.length - end.next);
    this.head = EMPTY;
    this.parseHead(data.toString('latin1', start, end.at));
    return consumedFromBuf;
  }

  private parseHead(text: string): void {
    const lines = text.replace(/\r$/, '').split(/\r?\n/);
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!m) throw new HttpParseError(`bad status line "${lines[0]!.slice(0, 80)}"`);
    const minor = m[1];
    const status = Number(m[2]);
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    let connection = '';
    let contentType = '';
    let sessionId: string | undefined;
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      switch (name) {
        case 'content-length':
          if (contentLength !== undefined && contentLength !== value) throw new HttpParseError('conflicting content-length');
          contentLength = value;
          break;
        case 'transfer-encoding':
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case 'connection':
          connection = connection === '' ? value.toLowerCase() : `${connection}, ${value.toLowerCase()}`;
          break;
        case 'content-type':
          contentType = value.toLowerCase();
          break;
        case 'mcp-session-id':
          sessionId = value;
          break;
        default:
          break;
      }
    }
    if (status >= 100 && status < 200 && status !== 101) {
      this.state = State.Head; // informational: the real response follows
      return;
    }
    const tokens = connection.split(',').map((t) => t.trim());
    this.keepAlive = minor === '1' ? !tokens.includes('close') : tokens.includes('keep-alive');
    this.h.head({ status, contentType, sessionId });
    if (status === 204 || status === 304 || status === 101) {
      if (status === 101) this.keepAlive = false;
      this.finish();
      return;
    }
    if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase().split(',').map((t) => t.trim());
      if (codings[codings.length - 1] === 'chunked') {
        this.state = State.ChunkSize;
      } else {
        this.keepAlive = false;
        this.state = State.UntilClose;
      }
      return;
    }
    if (contentLength !== undefined) {
      if (!/^\d{1,15}$/.test(contentLength)) throw new HttpParseError(`bad content-length "${contentLength}"`);
      this.remaining = Number(contentLength);
      if (this.remaining === 0) this.finish();
      else this.state = State.Length;
      return;
    }
    this.keepAlive = false;
    this.state = State.UntilClose;
  }
}

/** Finds the blank line ending a head: returns where the head text ends and where the body starts. */
function findHeadEnd(buf: Buffer, from: number): { at: number; next: number } | -1 {
  let i = buf.indexOf(10, from);
  while (i !== -1) {
    // "\n\n" or "\n\r\n"
    if (buf[i + 1] === 10) return { at: i, next: i + 2 };
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return { at: i, next: i + 3 };
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}
