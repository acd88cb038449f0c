/**
 * Admission of one 2026-07-28 request in the actor thread, before the SDK dispatches it.
 *
 * The SDK decides what it can: `classifyInboundRequest` checks the JSON-RPC shape, the
 * per-request `_meta` envelope and the cross-checks between body and headers. What the SDK does
 * only inside its own HTTP handler (which runs a new server per request, which we do not) is
 * done here, after the same rules of the spec (basic/transports/streamable-http, SEP-2243):
 * - the revision must be one we serve (-32022, data.supported / data.requested);
 * - on HTTP, MCP-Protocol-Version and Mcp-Method are required on every request, and Mcp-Name on
 *   tools/call, prompts/get and resources/read, equal to the body's name or uri once a
 *   `=?base64?…?=` value is decoded (-32020, data.mismatch);
 * - a tool argument whose schema declares `x-mcp-header` travels in `Mcp-Param-<Name>` too, and
 *   the two must agree (-32020).
 * Over stdio there is no header layer; only the envelope and the revision are checked.
 */
import { classifyInboundRequest, UnsupportedProtocolVersionError } from '@modelcontextprotocol/server';
import type { RequestHeaders } from '../../shared/actor-messages.js';

/** The 2026-era revisions this server serves. */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];

const HEADER_MISMATCH = -32020;

export interface Rejection {
  status: number;
  code: number;
  message: string;
  data?: unknown;
}

function mismatch(header: string, body: string, message: string): Rejection {
  return { status: 400, code: HEADER_MISMATCH, message: `Header mismatch: ${message}`, data: { mismatch: { header, body } } };
}

/** The body field Mcp-Name mirrors, per method. */
const NAME_FIELD: Readonly<Record<string, string>> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** A header value as the sender meant it: `=?base64?…?=` decoded; undefined when that encoding is broken. */
export function decodeHeaderValue(raw: string): string | undefined {
  const value = raw.trim();
  // Only a value both opened and closed by the markers is encoded; anything else is literal.
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value;
  const m = SENTINEL.exec(value);
  if (!m || m[1]!.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(m[1]!, 'base64');
  const text = bytes.toString('utf8');
  // Not canonical base64, or not UTF-8: refuse rather than compare something else.
  if (bytes.toString('base64') !== m[1] || Buffer.from(text, 'utf8').compare(bytes) !== 0) return undefined;
  return text;
}

export interface Admitted {
  method: string;
  /** The revision the request claims. */
  revision: string;
}

/**
 * Checks one parsed 2026-07-28 message. `headers` is undefined on stdio. Returns the rejection to
 * answer, or what was admitted.
 */
export function admit(message: unknown, headers: RequestHeaders | undefined): Rejection | Admitted {
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers?.['mcp-protocol-version'],
    mcpMethodHeader: headers?.['mcp-method'],
    mcpNameHeader: headers?.['mcp-name'],
    body: message,
  });
  if (outcome.kind === 'reject') return { status: outcome.httpStatus, code: outcome.code, message: outcome.message, ...(outcome.data !== undefined && { data: outcome.data }) };
  const body = message as { method: string; id?: unknown; params?: Record<string, unknown> };
  const claimed = (body.params?._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/protocolVersion'];
  const revision = typeof claimed === 'string' ? claimed : outcome.kind === 'modern' ? (outcome.classification.revision ?? '') : '';
  if (outcome.kind === 'legacy' || !MODERN_VERSIONS.includes(revision)) {
    const err = new UnsupportedProtocolVersionError({ supported: [...MODERN_VERSIONS], requested: revision || 'unknown' });
    return { status: 400, code: err.code, message: err.message, data: err.data };
  }
  if (headers && 'id' in body) {
    if (headers['mcp-protocol-version'] === undefined) {
      return mismatch('(absent)', revision, `the MCP-Protocol-Version header is required (the body's envelope names ${revision})`);
    }
    if (headers['mcp-method'] === undefined) return mismatch('(absent)', body.method, `the Mcp-Method header is required (the body's method is ${body.method})`);
    const field = NAME_FIELD[body.method];
    const bodyName = field ? body.params?.[field] : undefined;
    if (typeof bodyName === 'string') {
      const raw = headers['mcp-name'];
      if (raw === undefined) return mismatch('(absent)', bodyName, `the Mcp-Name header is required for ${body.method} (the body's ${field} is "${bodyName}")`);
      const decoded = decodeHeaderValue(raw);
      if (decoded === undefined) return mismatch(raw, bodyName, 'the Mcp-Name header is not a valid =?base64?…?= value');
      if (decoded !== bodyName) return mismatch(raw, bodyName, `the Mcp-Name header names "${decoded}" but the body's ${field} is "${bodyName}"`);
    }
  }
  return { method: body.method, revision };
}

/** A tool argument that also travels as an `Mcp-Param-<Name>` header. */
export interface ParamHeader {
  /** Property names from the arguments object down to the value. */
  path: string[];
  header: string;
  type: 'string' | 'integer' | 'boolean' | 'number';
}

/** The x-mcp-header declarations of a tool's input JSON Schema (only through `properties` chains). */
export function paramHeadersOf(schema: unknown): ParamHeader[] {
  const out: ParamHeader[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const name = n['x-mcp-header'];
    if (typeof name === 'string' && path.length > 0 && ['string', 'integer', 'boolean', 'number'].includes(n.type as string)) {
      out.push({ path, header: name, type: n.type as ParamHeader['type'] });
    }
    const props = n.properties;
    if (props && typeof props === 'object') for (const [k, child] of Object.entries(props)) visit(child, [...path, k]);
  };
  visit(schema, []);
  return out;
}

function valueAt(root: unknown, path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Checks a tools/call's Mcp-Param-* headers against its arguments; undefined when they agree. */
export function checkParamHeaders(declared: readonly ParamHeader[], args: unknown, headers: RequestHeaders): Rejection | undefined {
  for (const d of declared) {
    const name = `Mcp-Param-${d.header}`;
    const raw = headers[name.toLowerCase()];
    const value = valueAt(args, d.path);
    const where = `arguments.${d.path.join('.')}`;
    if (value === undefined || value === null) {
      if (raw !== undefined) return mismatch(raw, String(value), `${name} is sent but ${where} is absent`);
      continue;
    }
    const bodyText = typeof value === 'string' ? value : JSON.stringify(value);
    if (raw === undefined) return mismatch('(absent)', bodyText, `${where} is ${bodyText.slice(0, 200)} but the ${name} header is absent`);
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) return mismatch(raw, bodyText, `the ${name} header is not a valid =?base64?…?= value`);
    const agrees =
      typeof value === 'number' ? decoded.trim() !== '' && Number(decoded) === value
      : typeof value === 'boolean' ? decoded === String(value)
      : decoded === value;
    if (!agrees) return mismatch(raw, bodyText, `the ${name} header says "${decoded.slice(0, 200)}" but ${where} is ${bodyText.slice(0, 200)}`);
  }
  return undefined;
}
