/**
 * Picks the HTTP client for a URL: the raw-socket client for http: (cheapest per request, the
 * default), node:http for https: or when asked for.
 */
import { NodeHttpClient } from './http-node.js';
import { RawHttpClient } from './http-raw.js';
import type { HttpClient } from './reply.js';

export type HttpClientKind = 'raw' | 'node';

export function createHttpClient(url: URL, opts: { kind?: HttpClientKind; maxSockets: number }): HttpClient {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported URL protocol ${url.protocol} (use http: or https:)`);
  }
  if (url.protocol === 'https:' || opts.kind === 'node') return new NodeHttpClient(url, opts.maxSockets);
  return new RawHttpClient(url, opts.maxSockets);
}
