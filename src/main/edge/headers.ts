/**
 * Request header access on the hot path. On Node, the incoming message's headers are already
 * parsed into a plain object; reading them there avoids building a Web `Headers` per request.
 * Elsewhere (another Hono adapter, tests with app.request) the Web headers are used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Principal } from './auth/principal.js';

/** `principal` is set by the auth middleware; absent for anonymous requests. */
/**
 * `incoming`/`outgoing`: Node's request and response. `forwarded`: the request came from another
 * node of the cluster, which authenticated `forwardedPrincipal` and read `forwardedBody`.
 */
export type EdgeEnv = {
  Bindings: { incoming?: IncomingMessage; outgoing?: Pick<ServerResponse, 'once'>; forwarded?: boolean; forwardedPrincipal?: Principal; forwardedBody?: Buffer };
  Variables: { principal?: Principal };
};

export function header(c: Context<EdgeEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (incoming) {
    const v = incoming.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  return c.req.header(name);
}
