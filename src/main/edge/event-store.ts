/**
 * A session's bounded, in-memory event store for SSE resumability.
 *
 * Event ids are `<streamId>_<seq>`: unique across all streams of the session, and they say which
 * stream a Last-Event-ID belongs to, so a reconnecting client gets exactly what it missed on that
 * stream. Oldest events are evicted first once the count or byte cap is reached.
 */
export interface StoredEvent {
  seq: number;
  data: string;
}

interface StreamLog {
  next: number;
  events: StoredEvent[];
  /** The stream's final message (a request's response) has been stored. */
  done: boolean;
}

export class EventStore {
  private readonly streams = new Map<string, StreamLog>();
  /** Global arrival order, for eviction: [streamId, bytes]. */
  private readonly order: Array<[string, number]> = [];
  private bytes = 0;
  evicted = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  has(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  private log(streamId: string): StreamLog {
    let l = this.streams.get(streamId);
    if (!l) {
      l = { next: 0, events: [], done: false };
      this.streams.set(streamId, l);
    }
    return l;
  }

  /** Reserves the next id of a stream without storing data (priming events). */
  mark(streamId: string): string {
    const l = this.log(streamId);
    return `${streamId}_${l.next++}`;
  }

  /** Stores an event and returns its id. */
  append(streamId: string, data: string, final = false): string {
    const l = this.log(streamId);
    const seq = l.next++;
    l.events.push({ seq, data });
    if (final) l.done = true;
    this.order.push([streamId, data.length]);
    this.bytes += data.length;
    while (this.order.length > this.maxEvents || this.bytes > this.maxBytes) this.evictOldest();
    return `${streamId}_${seq}`;
  }

  private evictOldest(): void {
    const [sid, size] = this.order.shift()!;
    this.bytes -= size;
    this.evicted++;
    const l = this.streams.get(sid);
    if (!l) return;
    l.events.shift();
    if (l.events.length === 0 && l.done) this.streams.delete(sid);
  }

  static parse(eventId: string): { streamId: string; seq: number } | undefined {
    const i = eventId.lastIndexOf('_');
    if (i <= 0) return undefined;
    const seq = Number(eventId.slice(i + 1));
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
    return { streamId: eventId.slice(0, i), seq };
  }

  /** Events of the stream after `seq` (exclusive), and whether the stream has ended. */
  after(streamId: string, seq: number): { events: StoredEvent[]; done: boolean } | undefined {
    const l = this.streams.get(streamId);
    if (!l) return undefined;
    return { events: l.events.filter((e) => e.seq > seq), done: l.done };
  }

  /** The next seq a stream will use (its events so far are all below it). */
  nextSeq(streamId: string): number {
    return this.streams.get(streamId)?.next ?? 0;
  }

  get size(): number {
    return this.order.length;
  }
}
