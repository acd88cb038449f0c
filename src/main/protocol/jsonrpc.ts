/**
 * JSON-RPC 2.0 message validation and classification, as the edge needs it: one message per body
 * (no batches), ids that are strings or integers, params that are objects.
 *
 * What passes here must also pass the MCP SDK's own (strict) message schemas in the actor: a
 * message the SDK does not recognise is dropped there without an answer, so its request would
 * wait for its deadline. Hence no members beyond the JSON-RPC ones, and a well-formed `_meta`.
 */
import type { ModernDelivery } from '../../shared/actor-messages.js';
import { CodedError, rpcError, type JsonRpcId } from '../../shared/errors.js';


export interface ParsedRequest {
  kind: 'request';
  /**
   * The id the runtime knows the request by: the client's own in a 2025 session; for a
   * 2026-07-28 request one the edge makes unique in this process (many clients share a server).
   */
  id: JsonRpcId;
  /** The client's id of a 2026-07-28 request (its answer carries it); undefined in 2025 sessions. */
  clientId?: JsonRpcId;
  /** How a 2026-07-28 request is delivered to its actor (headers, principal, handle verdict). */
  delivery?: ModernDelivery;
  method: string;
  params: Record<string, unknown> | undefined;
  raw: string;
}
export interface ParsedNotification {
  kind: 'notification';
  method: string;
  params: Record<string, unknown> | undefined;
  raw: string;
}
export interface ParsedResponse {
  kind: 'response';
  id: JsonRpcId;
  isError: boolean;
  raw: string;
}
export type ParsedMessage = ParsedRequest | ParsedNotification | ParsedResponse;

export const MAX_ID_LENGTH = 256;
export const MAX_METHOD_LENGTH = 256;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);
const ERROR_OBJECT_KEYS = new Set(['code', 'message', 'data']);
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** The first member of `o` not in `allowed`, if any. */
function extraMember(o: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  for (const k in o) if (!allowed.has(k)) return k;
  return undefined;
}

/** What is wrong with a `_meta` member (of params or of a result), if anything. */
function badMeta(holder: Record<string, unknown> | undefined): string | undefined {
  if (holder === undefined || !('_meta' in holder) || holder._meta === undefined) return undefined;
  const meta = holder._meta;
  if (!isPlainObject(meta)) return '"_meta" must be an object';
  const token = meta.progressToken;
  if (token !== undefined && typeof token !== 'string' && !Number.isSafeInteger(token)) return '"_meta.progressToken" must be a string or an integer';
  const task = meta[RELATED_TASK];
  if (task !== undefined && (!isPlainObject(task) || typeof task.taskId !== 'string')) return `"_meta.${RELATED_TASK}" must be an object with a string "taskId"`;
  return undefined;
}

function validId(id: unknown): id is JsonRpcId {
  if (typeof id === 'string') return id.length <= MAX_ID_LENGTH;
  return typeof id === 'number' && Number.isSafeInteger(id);
}

/** Maximum bracket nesting, counted on the raw text (strings skipped) before JSON.parse runs. */
export function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/**
 * Parses and validates one JSON-RPC message. Throws CodedError (PARSE_ERROR,
 * BATCH_NOT_SUPPORTED, INVALID_REQUEST, TOO_DEEP) with the request id when it could be read.
 */
export function parseMessage(text: string, maxDepth = 64): ParsedMessage {
  if (nestingDepth(text, maxDepth) > maxDepth) throw rpcError('TOO_DEEP', `limit is ${maxDepth} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw rpcError('PARSE_ERROR', (err as Error).message);
  }
  return classify(value, text);
}

export function classify(value: unknown, raw: string): ParsedMessage {
  if (Array.isArray(value)) throw rpcError('BATCH_NOT_SUPPORTED');
  if (!isPlainObject(value)) throw rpcError('INVALID_REQUEST', 'a JSON-RPC message must be an object');
  const idForError = validId(value.id) ? value.id : undefined;
  const fail = (why: string): CodedError => {
    const e = rpcError('INVALID_REQUEST', why);
    (e as { requestId?: JsonRpcId }).requestId = idForError;
    return e;
  };
  if (value.jsonrpc !== '2.0') throw fail('"jsonrpc" must be "2.0"');
  const hasMethod = 'method' in value;
  if (hasMethod) {
    const method = value.method;
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
      throw fail('"method" must be a non-empty string');
    }
    const params = value.params;
    if (params !== undefined && !isPlainObject(params)) throw fail('"params" must be an object');
    const metaProblem = badMeta(params);
    if (metaProblem) throw fail(metaProblem);
    if ('id' in value) {
      if (!validId(value.id)) {
        throw fail(`"id" must be a string (at most ${MAX_ID_LENGTH} characters) or a safe integer`);
      }
      const extra = extraMember(value, REQUEST_KEYS);
      if (extra !== undefined) throw fail(`a request has no "${extra.slice(0, 40)}" member`);
      return { kind: 'request', id: value.id, method, params, raw };
    }
    const extra = extraMember(value, NOTIFICATION_KEYS);
    if (extra !== undefined) throw fail(`a notification has no "${extra.slice(0, 40)}" member`);
    return { kind: 'notification', method, params, raw };
  }
  if (!validId(value.id)) throw fail('a response needs a string or integer "id"');
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  if (hasResult === hasError) throw fail('a response has exactly one of "result" and "error"');
  if (hasResult) {
    if (!isPlainObject(value.result)) throw fail('"result" must be an object');
    const metaProblem = badMeta(value.result);
    if (metaProblem) throw fail(metaProblem);
  }
  if (hasError) {
    const e = value.error;
    if (!isPlainObject(e) || !Number.isSafeInteger(e.code) || typeof e.message !== 'string') {
      throw fail('"error" must be an object with an integer "code" and a string "message"');
    }
    const extraInError = extraMember(e, ERROR_OBJECT_KEYS);
    if (extraInError !== undefined) throw fail(`"error" has no "${extraInError.slice(0, 40)}" member`);
  }
  const extra = extraMember(value, hasResult ? RESULT_KEYS : ERROR_KEYS);
  if (extra !== undefined) throw fail(`a response has no "${extra.slice(0, 40)}" member`);
  return { kind: 'response', id: value.id, isError: hasError, raw };
}

/** The request id an error thrown by parseMessage refers to, when it could be read. */
export function requestIdOf(err: unknown): JsonRpcId | null {
  const id = (err as { requestId?: JsonRpcId } | null)?.requestId;
  return id === undefined ? null : id;
}
