/**
 * One Server-Sent Events response: a ReadableStream the HTTP server pipes to the socket. It knows
 * when the client went away (the stream is cancelled) and when it last wrote (for keep-alives).
 */
const encoder = new TextEncoder();

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** Every open stream, for the keep-alive sweep. */
const open = new Set<SseStream>();

export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  lastWrite = Date.now();
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closedFlag = false;
  private closeHandlers: Array<() => void> = [];

  constructor() {
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => this.onGone(),
    });
    open.add(this);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Called once when the stream ends, whoever ended it. */
  onClose(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.closeHandlers.push(fn);
  }

  private write(text: string): boolean {
    if (this.closedFlag) return false;
    try {
      this.controller.enqueue(encoder.encode(text));
      this.lastWrite = Date.now();
      return true;
    } catch {
      this.onGone();
      return false;
    }
  }

  /** A `message` event; `id` makes it resumable. */
  event(data: string, id?: string): boolean {
    return this.write(id === undefined ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`);
  }

  /** SEP-1699 priming event: an id with empty data, plus the reconnection delay hint. */
  prime(id: string, retryMs: number): boolean {
    return this.write(`id: ${id}\nretry: ${retryMs}\ndata: \n\n`);
  }

  comment(text: string): boolean {
    return this.write(`: ${text}\n\n`);
  }

  /** Ends the response normally. */
  close(): void {
    if (this.closedFlag) return;
    try {
      this.controller.close();
    } catch {
      // already errored or cancelled
    }
    this.onGone();
  }

  private onGone(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    open.delete(this);
    for (const fn of this.closeHandlers.splice(0)) fn();
  }
}

/** Writes a keep-alive comment on every stream idle for at least `idleMs`. */
export function keepAliveSweep(idleMs: number, now = Date.now()): void {
  for (const s of open) if (now - s.lastWrite >= idleMs) s.comment('keep-alive');
}

export function openStreamCount(): number {
  return open.size;
}
