/**
 * One Server-Sent Events response: a ReadableStream the HTTP server pipes to the socket. It knows
 * when the client went away (the stream is cancelled) and when it last wrote (for keep-alives).
 *
 * Bounded: what the client has not read yet stays queued here, on the main thread. Once that queue
 * holds `maxBufferedBytes`, the next event drops the stream instead (the response is aborted, its
 * queue freed): a slow or absent reader never grows the server's memory past the bound. Every
 * event also went to the session's bounded event store, so the client resumes with Last-Event-ID
 * (a replay from the store is bounded by the store's own cap).
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

  /**
   * @param maxBufferedBytes the most unread bytes kept before the stream is dropped
   * @param onDropped called once if it is dropped for that reason (with the bytes that were queued)
   */
  constructor(
    private readonly maxBufferedBytes = Number.POSITIVE_INFINITY,
    private readonly onDropped?: (queuedBytes: number) => void,
  ) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        cancel: () => this.onGone(),
      },
      { highWaterMark: maxBufferedBytes, size: (chunk) => chunk?.byteLength ?? 0 },
    );
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

  private write(text: string, replay = false): boolean {
    if (this.closedFlag) return false;
    const room = this.controller.desiredSize;
    if (!replay && room !== null && room <= 0) {
      // The client has not read maxBufferedBytes: drop the stream rather than buffer more.
      const queued = this.maxBufferedBytes - room;
      try {
        this.controller.error(new Error(`SSE stream dropped: the client left ${queued} bytes unread`));
      } catch {
        // already closed
      }
      this.onGone();
      this.onDropped?.(queued);
      return false;
    }
    try {
      this.controller.enqueue(encoder.encode(text));
      this.lastWrite = Date.now();
      return true;
    } catch {
      this.onGone();
      return false;
    }
  }

  /**
   * A `message` event; `id` makes it resumable. `replay`: an event replayed from the session's
   * event store onto a new stream — not counted against the bound (the store is bounded itself,
   * and a resuming client must get what it asked for before live events are judged).
   */
  event(data: string, id?: string, replay = false): boolean {
    return this.write(id === undefined ? `data: ${data}\n\n` : `id: ${id}\ndata: ${data}\n\n`, replay);
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

