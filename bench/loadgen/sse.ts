/**
 * Incremental parser for `text/event-stream` bodies (the subset MCP uses).
 *
 * Feed it decoded text chunks as they arrive; it calls `onEvent` once per complete event.
 * Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (a CRLF may straddle two
 * chunks), `:` starts a comment, one optional space after the field's colon is dropped,
 * several `data:` lines join with `\n`, and an event whose data is empty is not dispatched
 * (that is how MCP "priming" events — `id: x\ndata: \n\n` — are skipped).
 */
export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  event: string;
  data: string;
  /** The last `id:` seen on this stream, if any. */
  id: string | undefined;
}

export class SseParser {
  private partial = '';
  private data = '';
  private hasData = false;
  private eventType = '';
  private lastId: string | undefined;
  /** The previous chunk ended in CR: a leading LF in the next chunk belongs to that line end. */
  private skipLeadingLF = false;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(chunk: string): void {
    const n = chunk.length;
    let i = 0;
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (n > 0 && chunk.charCodeAt(0) === 10) i = 1;
    }
    let start = i;
    for (; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      let line = chunk.slice(start, i);
      if (this.partial !== '') {
        line = this.partial + line;
        this.partial = '';
      }
      if (c === 13) {
        if (i + 1 < n) {
          if (chunk.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLeadingLF = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    if (start < n) this.partial += chunk.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return; // comment / keep-alive
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break; // `retry` and unknown fields do not matter to a load generator
    }
  }

  private dispatch(): void {
    const data = this.data;
    const type = this.eventType;
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    if (data === '') return;
    this.onEvent({ event: type === '' ? 'message' : type, data, id: this.lastId });
  }
}
