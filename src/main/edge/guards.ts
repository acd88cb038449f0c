/**
 * Request guards of the Streamable HTTP edge: Host/Origin allowlists (DNS-rebinding protection),
 * Accept and Content-Type negotiation.
 */
import { rpcError, type CodedError } from '../../shared/errors.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface HostPolicy {
  /** Extra allowed Host values: "name" (any port) or "name:port". */
  hosts: ReadonlySet<string>;
  /** Extra allowed Origin values, exact ("https://app.example.com"). */
  origins: ReadonlySet<string>;
}

export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

/** Splits a Host header into name and port; IPv6 literals keep their brackets. */
export function splitHost(host: string): { name: string; port: string | undefined } {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return { name: h, port: undefined };
    const rest = h.slice(end + 1);
    return { name: h.slice(0, end + 1), port: rest.startsWith(':') ? rest.slice(1) : undefined };
  }
  const i = h.lastIndexOf(':');
  if (i < 0) return { name: h, port: undefined };
  return { name: h.slice(0, i), port: h.slice(i + 1) };
}

export function makeHostPolicy(bindHost: string, hosts: readonly string[], origins: readonly string[]): HostPolicy {
  const allowed = new Set(hosts.map((h) => h.toLowerCase()));
  // The address the server was told to bind to is, by definition, a name it is reached by.
  if (bindHost !== '0.0.0.0' && bindHost !== '::' && !isLoopbackAddress(bindHost)) allowed.add(bindHost.toLowerCase());
  return { hosts: allowed, origins: new Set(origins.map((o) => o.toLowerCase().replace(/\/$/, ''))) };
}

export function checkHost(host: string | undefined, policy: HostPolicy): CodedError | undefined {
  if (!host) return rpcError('FORBIDDEN_HOST', 'the request has no Host header');
  const { name } = splitHost(host);
  if (LOOPBACK_NAMES.has(name) || policy.hosts.has(name) || policy.hosts.has(host.trim().toLowerCase())) return undefined;
  return rpcError('FORBIDDEN_HOST', `"${host.slice(0, 100)}" is not an allowed host (see http.allowedHosts)`);
}

export function checkOrigin(origin: string | undefined, policy: HostPolicy): CodedError | undefined {
  if (origin === undefined) return undefined; // not a browser request
  const o = origin.trim().toLowerCase();
  if (policy.origins.has(o)) return undefined;
  try {
    const url = new URL(o);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_NAMES.has(url.hostname)) return undefined;
  } catch {
    // "null" and other opaque origins fall through
  }
  return rpcError('FORBIDDEN_ORIGIN', `"${origin.slice(0, 100)}" is not an allowed origin (see http.allowedOrigins)`);
}

interface MediaRange {
  type: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  return accept.split(',').map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q' && v !== undefined) q = Number(v);
    }
    return { type: (type ?? '').trim(), q: Number.isFinite(q) ? q : 0 };
  });
}

function accepts(ranges: MediaRange[], type: string): boolean {
  const [major] = type.split('/');
  return ranges.some((r) => r.q > 0 && (r.type === type || r.type === `${major}/*` || r.type === '*/*'));
}

/** POST: the client must accept both JSON and SSE, because the server picks per response. */
export function acceptsJsonAndSse(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = parseAccept(accept);
  return accepts(ranges, 'application/json') && accepts(ranges, 'text/event-stream');
}

export function acceptsSse(accept: string | undefined): boolean {
  return !!accept && accepts(parseAccept(accept), 'text/event-stream');
}

export function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const type = ct.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}
