/**
 * What the edge needs to know of cluster relaying without loading the NATS client (a node that is
 * not in a cluster, or stdio, never loads it).
 */

/** A node answers a relayed request for an actor it no longer owns with this header (and 503, unserved). */
export const MOVED_HEADER = 'mcp-actors-moved';

/** Headers a forwarded request keeps: the MCP ones. Never Authorization, cookies or integration credentials. */
export function forwardableHeaders(all: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (v === undefined) continue;
    if (k === 'accept' || k === 'content-type' || k === 'last-event-id' || k.startsWith('mcp-')) out[k] = v;
  }
  return out;
}
