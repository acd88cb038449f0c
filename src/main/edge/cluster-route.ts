/**
 * Cluster mode at the edge: a request for a session or handle this node does not hold goes to the
 * node that owns it (relayed whole, its response streamed back), or the actor is revived here
 * when its owner is gone. One path for both eras; stateless requests never come here.
 */
import type { Context } from 'hono';
import { CodedError, type JsonRpcId } from '../../shared/errors.js';
import type { ActorKey } from '../directory.js';
import type { StoredRecord } from '../cluster/cluster.js';
import { MOVED_HEADER, forwardableHeaders } from '../cluster/protocol.js';
import type { Runtime } from '../runtime.js';
import type { SessionSink } from '../sessions/session-actor.js';
import { jsonError } from './session-streams.js';
import type { EdgeEnv } from './headers.js';

/** A request's headers, lower-case names (Node's parsed headers, or the Web ones). */
export function requestHeaders(c: Context<EdgeEnv>): Record<string, string | undefined> {
  const incoming = c.env?.incoming;
  if (incoming) {
    const out: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(incoming.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
    return out;
  }
  return Object.fromEntries(c.req.raw.headers.entries());
}

/**
 * Undefined: serve the request here (the actor is local now, or exists nowhere — the caller's
 * usual "not found" answers). A Response: the owner's answer, or why there is none (503).
 */
export async function routeToOwner(
  rt: Runtime,
  c: Context<EdgeEnv>,
  key: ActorKey,
  body: string | undefined,
  requestId: JsonRpcId | null,
  sinkFor: (stored: StoredRecord) => SessionSink,
): Promise<Response | undefined> {
  const cluster = rt.cluster;
  if (!cluster) return undefined;
  const outgoing = c.env?.outgoing;
  try {
    const placed = await cluster.place(
      key,
      (stored) => void rt.adopt(stored, sinkFor(stored)),
      (node) =>
        cluster.forward(node, {
          method: c.req.method,
          path: rt.config.http.path,
          headers: forwardableHeaders(requestHeaders(c)),
          principal: c.get('principal'),
          body,
          requestId,
          clientGone: outgoing ? (fn) => outgoing.once('close', fn) : undefined,
        }),
      c.env?.forwarded ? 1 : 0,
    );
    if (placed.at === 'forwarded') rt.metrics.forwarded.inc({ outcome: String(placed.response.status) });
    return placed.at === 'forwarded' ? placed.response : undefined;
  } catch (err) {
    if (!(err instanceof CodedError)) throw err;
    rt.metrics.httpRejected.inc({ status: String(err.http), code: err.code });
    const headers: Record<string, string> = err.http === 503 ? { 'retry-after': String(rt.config.http.retryAfterSeconds) } : {};
    if (err.code === 'ACTOR_MOVED') headers[MOVED_HEADER] = '1';
    return jsonError(err, requestId, headers);
  }
}
