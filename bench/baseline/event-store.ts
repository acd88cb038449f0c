/**
 * A per-session in-memory `EventStore` for the SDK's Streamable HTTP transport: it makes SSE
 * streams resumable (priming events, `closeSSEStream` polling, Last-Event-ID replay). Bounded: the
 * oldest events are dropped past `maxEvents`, so a long benchmark session cannot grow it forever.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

export class InMemoryEventStore implements EventStore {
  /** Insertion-ordered, so iteration order is event order. */
  readonly #events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();
  #counter = 0;

  constructor(private readonly maxEvents = 10_000) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const eventId = `${++this.#counter}`;
    this.#events.set(eventId, { streamId, message });
    if (this.#events.size > this.maxEvents) {
      const oldest = this.#events.keys().next();
      if (!oldest.done) this.#events.delete(oldest.value);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId);
    if (!last) throw new Error(`unknown or expired event id ${lastEventId}`);
    let after = false;
    for (const [eventId, { streamId, message }] of this.#events) {
      if (!after) {
        after = eventId === lastEventId;
        continue;
      }
      // Priming events are stored as `{}`: they carry only an id, nothing to replay.
      if (streamId === last.streamId && Object.keys(message).length > 0) await send(eventId, message);
    }
    return last.streamId;
  }
}
