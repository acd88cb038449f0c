/**
 * The HTTP side of one session: where each outbound message goes.
 *
 * - A request's messages go to that request's HTTP exchange. The response mode is chosen lazily:
 *   if the final response is the first message, it is sent as `application/json`; if a
 *   notification or a server-to-client request comes first (progress, logging, sampling,
 *   elicitation), the exchange becomes an SSE stream and ends after the response.
 * - Messages not tied to a live request go to the session's standalone GET stream. They are
 *   stored with event ids whether or not a GET stream is open, so a client that opens (or
 *   resumes) one later gets what it missed.
 * - Every SSE event has an id and is kept in a bounded event store; GET with Last-Event-ID
 *   replays a stream from that point and, if its request is still running, continues it live.
 */
import type { Outbound, SessionSink } from '../sessions/session-actor.js';
import { errorResponseJson, rpcError, type JsonRpcId, type CodedError } from '../../shared/errors.js';
import type { Logger } from '../observability/log.js';
import { EventStore } from './event-store.js';
import { SSE_HEADERS, SseStream } from './sse.js';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const STANDALONE = 'g';

type ExchangeState = 'waiting' | 'sse' | 'detached' | 'done';

interface Exchange {
  id: JsonRpcId;
  state: ExchangeState;
  resolve: (r: Response) => void;
  /** Headers for the response unless it is a JSON-RPC error (the session id of an initialize). */
  successHeaders: Record<string, string>;
  sse: SseStream | undefined;
  streamId: string | undefined;
  /** Called once when the exchange is over (its response delivered, or the session ended). */
  onDone: (() => void) | undefined;
}

export interface SessionStreamsOptions {
  retryMs: number;
  maxEvents: number;
  maxBytes: number;
  /** Whether the session's negotiated protocol revision takes SSE priming events. */
  priming(): boolean;
  log: Logger;
  fingerprint: string;
  /** Open SSE streams allowed at once; a GET that would open one more gets 429. */
  maxStreams?: number;
  /** Unread bytes one SSE stream may queue before it is dropped (see SseStream). */
  maxBufferedBytes?: number;
  /** A stream was dropped because its client did not read. */
  onStreamDropped?: () => void;
  /** Called once when the session has ended. */
  onEnded?: () => void;
}

/** Keeps a stream's slot until the caller calls `release` (once the HTTP response is over). */
export type StreamHold = (release: () => void) => void;

export function jsonError(err: CodedError, id: JsonRpcId | null = null, headers: Record<string, string> = {}): Response {
  return new Response(errorResponseJson(id, err), { status: err.http, headers: { ...JSON_HEADERS, ...headers } });
}

export class SessionStreams implements SessionSink {
  // Created on first use: an idle or hibernated session that never streamed holds none of them.
  private exchangesMap: Map<JsonRpcId, Exchange> | undefined;
  private byStreamMap: Map<string, Exchange> | undefined;
  private storeInstance: EventStore | undefined;

  private get exchanges(): Map<JsonRpcId, Exchange> {
    return (this.exchangesMap ??= new Map());
  }

  private get byStream(): Map<string, Exchange> {
    return (this.byStreamMap ??= new Map());
  }

  private get store(): EventStore {
    return (this.storeInstance ??= new EventStore(this.opts.maxEvents, this.opts.maxBytes));
  }
  private standalone: SseStream | undefined;
  private standaloneDelivered = -1;
  private streamCounter = 0;
  private endedReason: string | undefined;
  private openStreams = 0;

  constructor(private readonly opts: SessionStreamsOptions) {
  }

  get openExchanges(): number {
    return this.exchangesMap?.size ?? 0;
  }

  /** SSE streams of this session now open (POST streams, the GET stream, resumed streams). */
  get streamCount(): number {
    return this.openStreams;
  }

  get hasStandalone(): boolean {
    return this.standalone !== undefined;
  }

  connected(): boolean {
    if (this.standalone && !this.standalone.closed) return true;
    for (const ex of this.exchangesMap?.values() ?? []) if (ex.state === 'sse') return true;
    return false;
  }

  /**
   * Registers the HTTP exchange of one request; resolves with the Response to send. Headers in
   * `successHeaders` (the session id of an initialize) go only on a response that is not an error
   * (and on an SSE stream, which starts before the outcome is known).
   */
  open(id: JsonRpcId, opts: { successHeaders?: Record<string, string>; onDone?: () => void } = {}): Promise<Response> {
    return new Promise<Response>((resolve) => {
      const ex: Exchange = { id, state: 'waiting', resolve, successHeaders: opts.successHeaders ?? {}, sse: undefined, streamId: undefined, onDone: opts.onDone };
      this.exchanges.set(id, ex);
    });
  }

  // ---- SessionSink --------------------------------------------------------------------------

  deliver(out: Outbound): void {
    if (out.kind === 'response') {
      const ex = out.id !== undefined ? this.exchanges.get(out.id) : undefined;
      if (!ex) {
        this.opts.log.debug({ session: this.opts.fingerprint }, 'response for a request with no open exchange');
        return;
      }
      this.finishExchange(ex, out.json, out.err === true);
      return;
    }
    const ex = out.rel !== undefined ? this.exchanges.get(out.rel) : undefined;
    if (ex) this.toExchange(ex, out.json, false);
    else this.toStandalone(out.json);
  }

  closeStream(requestId: JsonRpcId): void {
    const ex = this.exchanges.get(requestId);
    if (!ex) return;
    if (ex.state === 'waiting') {
      if (!this.opts.priming()) {
        this.opts.log.debug({ session: this.opts.fingerprint }, 'closeSSEStream ignored: the client cannot resume this stream');
        return;
      }
      this.upgrade(ex);
    }
    if (ex.state === 'sse') {
      ex.state = 'detached';
      const s = ex.sse;
      ex.sse = undefined;
      s?.close();
    }
  }

  closeStandaloneStream(): void {
    const s = this.standalone;
    this.standalone = undefined;
    s?.close();
  }

  ended(reason: string): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    for (const ex of this.exchangesMap?.values() ?? []) {
      if (ex.state === 'waiting') ex.resolve(jsonError(rpcError('SESSION_ENDED', reason), ex.id));
      ex.sse?.close();
      this.done(ex);
    }
    this.exchangesMap = undefined;
    this.byStreamMap = undefined;
    this.closeStandaloneStream();
    this.opts.onEnded?.();
  }

  private done(ex: Exchange): void {
    ex.state = 'done';
    const onDone = ex.onDone;
    ex.onDone = undefined;
    onDone?.();
  }

  /**
   * A new SSE stream, counted while open: until `hold` releases it (the edge releases a GET
   * stream when its HTTP response is over — written out, or the client gone — so a replay the
   * client does not read keeps its slot), else until the stream closes.
   */
  private newStream(hold?: StreamHold): SseStream {
    const sse = new SseStream(this.opts.maxBufferedBytes, (queued) => {
      this.opts.log.warn({ session: this.opts.fingerprint, queuedBytes: queued }, 'SSE stream dropped: its client is not reading (it may resume with Last-Event-ID)');
      this.opts.onStreamDropped?.();
    });
    this.openStreams++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.openStreams--;
    };
    if (hold) hold(release);
    else sse.onClose(release);
    return sse;
  }

  // ---- routing ------------------------------------------------------------------------------

  private upgrade(ex: Exchange): void {
    const sse = this.newStream();
    const streamId = `r${++this.streamCounter}`;
    ex.sse = sse;
    ex.streamId = streamId;
    ex.state = 'sse';
    this.byStream.set(streamId, ex);
    if (this.opts.priming()) sse.prime(this.store.mark(streamId), this.opts.retryMs);
    this.watch(ex, sse);
    ex.resolve(new Response(sse.body, { status: 200, headers: { ...SSE_HEADERS, ...ex.successHeaders } }));
  }

  /** The client went away from an exchange's stream: keep storing until it resumes. */
  private watch(ex: Exchange, sse: SseStream): void {
    sse.onClose(() => {
      if (ex.sse === sse && ex.state === 'sse') {
        ex.sse = undefined;
        ex.state = 'detached';
      }
    });
  }

  private toExchange(ex: Exchange, json: string, final: boolean): void {
    if (ex.state === 'waiting') this.upgrade(ex);
    const eventId = this.store.append(ex.streamId!, json, final);
    if (ex.state === 'sse') ex.sse!.event(json, eventId);
    if (final) {
      this.done(ex);
      ex.sse?.close();
      ex.sse = undefined;
      this.exchanges.delete(ex.id);
      this.byStream.delete(ex.streamId!);
    }
  }

  private finishExchange(ex: Exchange, json: string, isError: boolean): void {
    if (ex.state === 'waiting') {
      this.done(ex);
      this.exchanges.delete(ex.id);
      ex.resolve(new Response(json, { status: 200, headers: { ...JSON_HEADERS, ...(isError ? {} : ex.successHeaders) } }));
      return;
    }
    this.toExchange(ex, json, true);
  }

  private toStandalone(json: string): void {
    const eventId = this.store.append(STANDALONE, json);
    if (this.standalone?.event(json, eventId)) this.standaloneDelivered = this.store.nextSeq(STANDALONE) - 1;
  }

  // ---- GET ----------------------------------------------------------------------------------

  /** Opens the standalone stream, or resumes the stream a Last-Event-ID names. */
  openGet(lastEventId: string | undefined, hold?: StreamHold): Response {
    if (this.endedReason !== undefined) return jsonError(rpcError('SESSION_NOT_FOUND'));
    if (lastEventId === undefined) {
      if (this.standalone && !this.standalone.closed) return jsonError(rpcError('STREAM_CONFLICT'));
      return this.atStreamCap() ?? this.attachStandalone(this.standaloneDelivered, hold);
    }
    const parsed = EventStore.parse(lastEventId);
    if (!parsed) return jsonError(rpcError('UNKNOWN_EVENT_ID', 'it is not an event id this server issued'));
    if (parsed.streamId === STANDALONE) {
      // An explicit resume replaces a stream we may not know is dead (so it never needs a new slot).
      if (!this.standalone || this.standalone.closed) {
        const capped = this.atStreamCap();
        if (capped) return capped;
      }
      this.closeStandaloneStream();
      return this.attachStandalone(parsed.seq, hold);
    }
    const replay = this.store.after(parsed.streamId, parsed.seq);
    if (!replay) return jsonError(rpcError('UNKNOWN_EVENT_ID', 'its stream is unknown or has been evicted'));
    const live = this.byStream.get(parsed.streamId);
    if (!live?.sse || live.sse.closed) {
      const capped = this.atStreamCap();
      if (capped) return capped;
    }
    const sse = this.newStream(hold);
    for (const e of replay.events) sse.event(e.data, `${parsed.streamId}_${e.seq}`, true);
    const ex = this.byStream.get(parsed.streamId);
    if (replay.done || !ex || ex.state === 'done') {
      sse.close();
    } else {
      ex.sse?.close();
      ex.sse = sse;
      ex.state = 'sse';
      this.watch(ex, sse);
    }
    return new Response(sse.body, { status: 200, headers: SSE_HEADERS });
  }

  /** The 429 for a GET that would open a stream beyond the cap, or undefined. */
  private atStreamCap(): Response | undefined {
    const max = this.opts.maxStreams;
    if (max === undefined || this.openStreams < max) return undefined;
    return jsonError(rpcError('TOO_MANY_STREAMS', `${this.openStreams} are open (limit ${max})`), null, { 'retry-after': '1' });
  }

  private attachStandalone(afterSeq: number, hold: StreamHold | undefined): Response {
    const sse = this.newStream(hold);
    if (this.opts.priming()) sse.prime(this.store.mark(STANDALONE), this.opts.retryMs);
    const missed = this.store.after(STANDALONE, afterSeq);
    for (const e of missed?.events ?? []) {
      sse.event(e.data, `${STANDALONE}_${e.seq}`, true);
      this.standaloneDelivered = Math.max(this.standaloneDelivered, e.seq);
    }
    this.standalone = sse;
    sse.onClose(() => {
      if (this.standalone === sse) this.standalone = undefined;
    });
    return new Response(sse.body, { status: 200, headers: SSE_HEADERS });
  }
}
