/**
 * HTTP exchanges relayed between the nodes of a cluster over NATS.
 *
 * A request for an actor another node owns is sent whole to that node's subject; the owner runs
 * it through its own edge (so JSON, SSE, progress, server-to-client requests, the GET stream and
 * DELETE all behave exactly as on a single node) and streams the response back to the asking
 * node's inbox as a head, data chunks and an end. The asker relays them to its client.
 *
 * - No one subscribed to the owner's subject ("no responders"): the owner is gone; the caller
 *   learns it at once (OwnerGone) and may claim the actor.
 * - The owner dies mid-exchange: the asker pings it while the exchange is open; an owner that
 *   stops answering ends the exchange with a clear JSON-RPC error (an SSE event or a 503).
 * - The client goes away: the asker tells the owner (its control subject), whose edge sees its
 *   response closed, as with a local client.
 * - Bounded: a client that does not read more than `maxBufferedBytes` has its stream dropped.
 */
import { EventEmitter } from 'node:events';
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { rpcError, type CodedError, type JsonRpcId } from '../../shared/errors.js';
import type { Logger } from '../observability/log.js';
import type { Principal } from '../edge/auth/principal.js';

/** What travels from the asking node to the owner. */
export interface ForwardedRequest {
  /** HTTP method. */
  m: string;
  /** Path and query. */
  p: string;
  /** Request headers (lower-case names), secrets already removed. */
  h: Record<string, string>;
  /** The principal the asking node authenticated (undefined: anonymous). */
  pr?: Principal;
  /** The body (UTF-8 JSON), for POST. */
  b?: string;
  /** The asking node (the owner watches it: a stream for a node that died is closed). */
  n: string;
  /** The exchange's id at the asking node: a cancellation names it (with `n`). */
  c: string;
}

/**
 * Liveness of other nodes, shared by every exchange with them: `watch(node, lost)` calls `lost`
 * once the node stops answering pings; the returned function stops watching.
 */
export class NodeWatch {
  private readonly watched = new Map<string, { listeners: Set<() => void>; timer: NodeJS.Timeout; misses: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly pingSubject: (node: string) => string,
    private readonly pingMs: number,
  ) {}

  watch(node: string, lost: () => void): () => void {
    let w = this.watched.get(node);
    if (!w) {
      const entry = { listeners: new Set<() => void>(), misses: 0, timer: setInterval(() => this.ping(node), this.pingMs) };
      entry.timer.unref();
      this.watched.set(node, entry);
      w = entry;
    }
    w.listeners.add(lost);
    const entry = w;
    return () => {
      entry.listeners.delete(lost);
      if (entry.listeners.size === 0 && this.watched.get(node) === entry) {
        clearInterval(entry.timer);
        this.watched.delete(node);
      }
    };
  }

  private ping(node: string): void {
    const w = this.watched.get(node);
    if (!w) return;
    this.nc.request(this.pingSubject(node), undefined, { timeout: this.pingMs }).then(
      () => (w.misses = 0),
      (err: Error) => {
        const gone = /no responders/i.test(err.message);
        // Three missed pings in a row while connected count as gone too (a node that hangs).
        if (!gone && (++w.misses < 3 || this.nc.isClosed())) return;
        clearInterval(w.timer);
        if (this.watched.get(node) === w) this.watched.delete(node);
        for (const lost of w.listeners) lost();
      },
    );
  }
}

/** The owner is not subscribed any more (its process is gone): claim the actor. */
export class OwnerGone extends Error {
  constructor(readonly node: string) {
    super(`node ${node} does not answer`);
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);
const CHUNK = 256 * 1024;

function kindOf(msg: Msg): string | undefined {
  return msg.headers?.get('k') || undefined;
}

function isNoResponders(msg: Msg): boolean {
  return msg.headers !== undefined && msg.headers.code === 503 && !kindOf(msg);
}

/**
 * One subscription for the replies of every exchange this node relays (a wildcard under one
 * inbox), rather than a subscribe and unsubscribe per request.
 */
export class ReplyMux {
  private readonly prefix: string;
  private readonly handlers = new Map<string, (msg: Msg) => void>();
  private readonly sub: Subscription;
  private next = 0;

  constructor(nc: NatsConnection, inboxPrefix: string) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (!err) this.handlers.get(msg.subject.slice(this.prefix.length))?.(msg);
      },
    });
  }

  /** A reply subject of its own for one exchange, until close(). */
  open(handler: (msg: Msg) => void): { token: string; subject: string; close(): void } {
    const token = (++this.next).toString(36);
    this.handlers.set(token, handler);
    return { token, subject: this.prefix + token, close: () => this.handlers.delete(token) };
  }

  close(): void {
    this.sub.unsubscribe();
    this.handlers.clear();
  }
}

export interface ForwardOptions {
  nc: NatsConnection;
  mux: ReplyMux;
  /** The owner's request subject, and where it takes cancellations. */
  subject: string;
  cancelSubject: string;
  node: string;
  watch: NodeWatch;
  log: Logger;
  maxBufferedBytes: number;
  onDropped: () => void;
  /** The JSON-RPC id of the forwarded request (for the error that ends a broken exchange). */
  requestId: JsonRpcId | null | undefined;
  /** Resolved when the asking client went away before a response began. */
  clientGone?: (fn: () => void) => void;
}

/** Relays one exchange to its owner; resolves with the Response to give the client, or rejects with OwnerGone. */
export function forward(req: Omit<ForwardedRequest, 'c'>, o: ForwardOptions): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
    let started = false;
    let finished = false;
    let unwatch: (() => void) | undefined;
    let replies: { token: string; subject: string; close(): void } | undefined;

    const cleanup = () => {
      finished = true;
      unwatch?.();
      replies?.close();
    };
    const cancelOwner = () => {
      if (!finished && replies) o.nc.publish(o.cancelSubject, `${req.n}:${replies.token}`);
    };
    const brokenError = (): CodedError => rpcError('NODE_LOST', `node ${o.node}, which served this request, stopped answering; the request's outcome is unknown — retry it`);
    const fail = () => {
      if (finished) return;
      const err = brokenError();
      const body = JSON.stringify({ jsonrpc: '2.0', id: o.requestId ?? null, error: err.toRpcError() });
      if (!started) {
        cleanup();
        resolve(new Response(body, { status: err.http, headers: { 'content-type': 'application/json', 'retry-after': '1' } }));
        return;
      }
      // An SSE stream: its last event answers the request (a GET stream just ends).
      if (o.requestId !== undefined && o.requestId !== null) ctrl?.enqueue(new TextEncoder().encode(`event: message\ndata: ${body}\n\n`));
      cleanup();
      ctrl?.close();
    };

    replies = o.mux.open((msg) => {
        if (finished) return;
        if (isNoResponders(msg)) {
          cleanup();
          reject(new OwnerGone(o.node));
          return;
        }
        const kind = kindOf(msg);
        if (kind === 'full') {
          // A complete answer (a JSON response, a 202, an error) in one message.
          cleanup();
          const head = JSON.parse(msg.headers!.get('h')) as { s: number; h: Record<string, string> };
          const hdrs = new Headers();
          for (const [k, v] of Object.entries(head.h)) if (!HOP_BY_HOP.has(k)) hdrs.set(k, v);
          resolve(new Response(msg.data.byteLength > 0 ? msg.data : null, { status: head.s, headers: hdrs }));
          return;
        }
        if (kind === 'head') {
          const head = msg.json<{ s: number; h: Record<string, string> }>();
          started = true;
          const hdrs = new Headers();
          for (const [k, v] of Object.entries(head.h)) if (!HOP_BY_HOP.has(k)) hdrs.set(k, v);
          const body = new ReadableStream<Uint8Array>(
            {
              start: (c) => {
                ctrl = c;
              },
              cancel: () => {
                cancelOwner();
                cleanup();
              },
            },
            new ByteLengthQueuingStrategy({ highWaterMark: o.maxBufferedBytes }),
          );
          resolve(new Response(head.s === 204 || head.s === 202 || head.s === 304 ? null : body, { status: head.s, headers: hdrs }));
          return;
        }
        if (kind === 'data') {
          if (!ctrl) return;
          ctrl.enqueue(msg.data);
          if ((ctrl.desiredSize ?? 0) < 0) {
            // The client stopped reading: drop its stream like a local one.
            o.onDropped();
            cancelOwner();
            cleanup();
            ctrl.error(new Error('the client does not read its stream'));
          }
          return;
        }
        if (kind === 'end' || kind === 'err') {
          if (kind === 'err') o.log.warn({ node: o.node, err: msg.string().slice(0, 300) }, 'a forwarded request failed on its owner');
          cleanup();
          if (!started) {
            const err = rpcError('INTERNAL', 'the node that owns this session could not serve the request');
            resolve(new Response(JSON.stringify({ jsonrpc: '2.0', id: o.requestId ?? null, error: err.toRpcError() }), { status: 500, headers: { 'content-type': 'application/json' } }));
            return;
          }
          try {
            ctrl?.close();
          } catch {
            // already errored (dropped)
          }
        }
    });
    o.clientGone?.(() => {
      if (started || finished) return;
      cancelOwner();
      cleanup();
      resolve(new Response(null, { status: 499 }));
    });
    unwatch = o.watch.watch(o.node, fail);
    try {
      o.nc.publish(o.subject, JSON.stringify({ ...req, c: replies.token }), { reply: replies.subject });
    } catch (err) {
      cleanup();
      reject(err as Error);
    }
  });
}

/** What serves a forwarded request on the owner: its own edge. `closed` fires when the asking client went away. */
export type ForwardedHandler = (req: Request, env: { outgoing: EventEmitter; principal: Principal | undefined; body: Buffer | undefined }) => Promise<Response>;

/** Serves the forwarded requests sent to `subject` (and answers pings on `pingSubject`). */
export function serveForwarded(nc: NatsConnection, subject: string, pingSubject: string, cancelSubject: string, handler: ForwardedHandler, watch: NodeWatch, log: Logger): Subscription[] {
  // The exchanges being served here, by "<asking node>:<its exchange id>": a cancellation closes one.
  const open = new Map<string, () => void>();
  const cancels = nc.subscribe(cancelSubject, {
    callback: (err, msg) => {
      if (!err) open.get(msg.string())?.();
    },
  });
  const ping = nc.subscribe(pingSubject, {
    callback: (err, msg) => {
      if (!err) msg.respond();
    },
  });
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        log.error({ err: err.message }, 'the cluster request subscription failed');
        return;
      }
      void relay(nc, msg, handler, watch, open, log);
    },
  });
  return [sub, ping, cancels];
}

async function relay(nc: NatsConnection, msg: Msg, handler: ForwardedHandler, watch: NodeWatch, open: Map<string, () => void>, log: Logger): Promise<void> {
  const reply = msg.reply;
  if (!reply) return;
  const send = (kind: string, data?: Uint8Array | string, head?: string) => {
    const h = natsHeaders();
    h.set('k', kind);
    if (head !== undefined) h.set('h', head);
    nc.publish(reply, data ?? '', { headers: h });
  };
  const outgoing = new EventEmitter();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    outgoing.emit('close');
    void reader?.cancel().catch(() => {});
  };
  let id: string | undefined;
  let unwatch: (() => void) | undefined;
  try {
    const req = msg.json<ForwardedRequest>();
    if (typeof req.c !== 'string' || typeof req.p !== 'string' || typeof req.m !== 'string') throw new Error('a malformed forwarded request');
    id = `${req.n}:${req.c}`;
    open.set(id, close);
    // The asking node dies: its client is gone too (a GET stream must not stay open for no one).
    if (typeof req.n === 'string') unwatch = watch.watch(req.n, close);
    const request = new Request(`http://cluster.invalid${req.p}`, { method: req.m, headers: req.h });
    const res = await handler(request, { outgoing, principal: req.pr, body: req.b === undefined ? undefined : Buffer.from(req.b, 'utf8') });
    const hdrs: Record<string, string> = {};
    res.headers.forEach((v, k) => (hdrs[k] = v));
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      // Not a stream: the whole answer in one message when it fits.
      const body = new Uint8Array(await res.arrayBuffer());
      if (body.byteLength <= CHUNK) {
        send('full', body, JSON.stringify({ s: res.status, h: hdrs }));
        return;
      }
      send('head', JSON.stringify({ s: res.status, h: hdrs }));
      for (let i = 0; i < body.byteLength; i += CHUNK) send('data', body.subarray(i, Math.min(body.byteLength, i + CHUNK)));
      send('end');
      return;
    }
    send('head', JSON.stringify({ s: res.status, h: hdrs }));
    if (res.body) {
      reader = res.body.getReader();
      if (closed) void reader.cancel().catch(() => {});
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (let i = 0; i < value.byteLength; i += CHUNK) send('data', value.subarray(i, Math.min(value.byteLength, i + CHUNK)));
      }
    }
    send('end');
  } catch (err) {
    if (!closed) {
      log.error({ err: (err as Error).message }, 'serving a forwarded request failed');
      send('err', (err as Error).message);
    }
  } finally {
    unwatch?.();
    if (id !== undefined) open.delete(id);
    close();
  }
}
