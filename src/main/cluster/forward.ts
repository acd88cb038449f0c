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
}

/** Headers a forwarded request keeps: the MCP ones. Never Authorization, cookies or integration credentials. */
export function forwardableHeaders(all: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (v === undefined) continue;
    if (k === 'accept' || k === 'content-type' || k === 'last-event-id' || k.startsWith('mcp-')) out[k] = v;
  }
  return out;
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

export interface ForwardOptions {
  nc: NatsConnection;
  /** The cluster's inbox prefix (the NATS permissions name it). */
  inboxPrefix: string;
  /** The owner's request subject and ping subject. */
  subject: string;
  pingSubject: string;
  node: string;
  log: Logger;
  /** How often the owner is pinged while an exchange is open, and how long a ping may take. */
  pingMs: number;
  maxBufferedBytes: number;
  onDropped: () => void;
  /** The JSON-RPC id of the forwarded request (for the error that ends a broken exchange). */
  requestId: JsonRpcId | null | undefined;
  /** Resolved when the asking client went away before a response began. */
  clientGone?: (fn: () => void) => void;
}

/** Relays one exchange to its owner; resolves with the Response to give the client, or rejects with OwnerGone. */
export function forward(req: ForwardedRequest, o: ForwardOptions): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const inbox = createInbox(o.inboxPrefix);
    let control: string | undefined;
    let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
    let started = false;
    let finished = false;
    let pingTimer: NodeJS.Timeout | undefined;
    let misses = 0;
    let sub: Subscription | undefined;

    const cleanup = () => {
      finished = true;
      clearInterval(pingTimer);
      sub?.unsubscribe();
    };
    const cancelOwner = () => {
      if (control && !finished) o.nc.publish(control, 'cancel');
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

    sub = o.nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err || finished) return;
        if (isNoResponders(msg)) {
          cleanup();
          reject(new OwnerGone(o.node));
          return;
        }
        const kind = kindOf(msg);
        if (kind === 'head') {
          const head = msg.json<{ s: number; h: Record<string, string>; c: string }>();
          control = head.c;
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
      },
    });
    o.clientGone?.(() => {
      if (started || finished) return;
      // Tell the owner once it has said where (its head); until then there is nothing to cancel.
      const wait = setInterval(() => {
        if (finished) clearInterval(wait);
        else if (control) {
          clearInterval(wait);
          cancelOwner();
        }
      }, 50);
    });
    pingTimer = setInterval(() => {
      o.nc.request(o.pingSubject, undefined, { timeout: o.pingMs }).then(
        () => (misses = 0),
        (err: Error) => {
          const gone = /no responders/i.test(err.message) || (err as { isNoResponders?: () => boolean }).isNoResponders?.() === true;
          if (gone || ++misses >= 3) fail();
        },
      );
    }, o.pingMs);
    pingTimer.unref();
    try {
      o.nc.publish(o.subject, JSON.stringify(req), { reply: inbox });
    } catch (err) {
      cleanup();
      reject(err as Error);
    }
  });
}

/** What serves a forwarded request on the owner: its own edge. `closed` fires when the asking client went away. */
export type ForwardedHandler = (req: Request, env: { outgoing: EventEmitter; principal: Principal | undefined }) => Promise<Response>;

/** Serves the forwarded requests sent to `subject` (and answers pings on `pingSubject`). */
export function serveForwarded(nc: NatsConnection, inboxPrefix: string, subject: string, pingSubject: string, handler: ForwardedHandler, log: Logger): Subscription[] {
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
      void relay(nc, inboxPrefix, msg, handler, log);
    },
  });
  return [sub, ping];
}

async function relay(nc: NatsConnection, inboxPrefix: string, msg: Msg, handler: ForwardedHandler, log: Logger): Promise<void> {
  const reply = msg.reply;
  if (!reply) return;
  const send = (kind: string, data?: Uint8Array | string) => {
    const h = natsHeaders();
    h.set('k', kind);
    nc.publish(reply, data ?? '', { headers: h });
  };
  const outgoing = new EventEmitter();
  const control = createInbox(inboxPrefix);
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    outgoing.emit('close');
    void reader?.cancel().catch(() => {});
  };
  const ctl = nc.subscribe(control, { callback: () => close() });
  try {
    const req = msg.json<ForwardedRequest>();
    const request = new Request(`http://cluster.invalid${req.p}`, { method: req.m, headers: req.h, ...(req.b !== undefined && { body: req.b }) });
    const res = await handler(request, { outgoing, principal: req.pr });
    const hdrs: Record<string, string> = {};
    res.headers.forEach((v, k) => (hdrs[k] = v));
    send('head', JSON.stringify({ s: res.status, h: hdrs, c: control }));
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
    ctl.unsubscribe();
    close();
  }
}
