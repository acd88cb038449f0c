/**
 * One HTTP client call of the Messages API (global fetch, no SDK), with retries of transient
 * failures. Failures become ModelError with a message that names the status, Anthropic's error
 * type and message — never the API key.
 */
import { CodedError } from '../../../../shared/errors.js';
import { sleep } from './sleep.js';
import type { ModelConfig } from './types.js';
import { ANTHROPIC_VERSION, type ContentBlock, type MessagesRequest, type MessagesResponse } from './wire.js';

/** The model API failed (code MODEL_ERROR; retryable: 408, 409, 429, 5xx, 529, or no answer at all). */
export class ModelError extends CodedError<'MODEL_ERROR'> {
  constructor(
    message: string,
    /** HTTP status, if the server answered. */
    readonly status: number | undefined,
    retryable: boolean,
    /** The server's retry-after, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super('MODEL_ERROR', message, { retryable });
    this.name = 'ModelError';
  }
}

export interface ModelCallOptions {
  /** Aborts the request (and any backoff between retries). */
  signal: AbortSignal;
  /** `anthropic-beta` value; '' sends none. */
  betaHeader: string;
}

const MAX_RETRY_AFTER_MS = 60_000;
const SNIPPET = 300;

/** Replaces every occurrence of `secret` in `text`. */
export function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > SNIPPET ? `${t.slice(0, SNIPPET)}…` : t;
}

function endpoint(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/messages`;
}

/** The origin only: a base URL may carry credentials or tokens in its userinfo or query. */
function where(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return 'the model API';
  }
}

function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_MS);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function errorFromStatus(status: number, text: string, headers: Headers): ModelError {
  let detail = snippet(text) || '(empty body)';
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body) && isObject(body.error)) {
      const type = typeof body.error.type === 'string' ? body.error.type : 'error';
      const message = typeof body.error.message === 'string' ? body.error.message : '';
      detail = `${type}: ${snippet(message)}`;
    }
  } catch {
    // not JSON: keep the snippet
  }
  const requestId = headers.get('request-id');
  const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
  return new ModelError(
    `model API answered HTTP ${status} (${detail})${requestId ? ` [request-id ${requestId}]` : ''}`,
    status,
    retryable,
    retryAfterMs(headers),
  );
}

function parseResponse(text: string): MessagesResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ModelError(`model API answered HTTP 200 with a body that is not JSON: ${snippet(text) || '(empty)'}`, 200, false);
  }
  const bad = (why: string) => new ModelError(`model API answered HTTP 200 with an unexpected message: ${why}`, 200, false);
  if (!isObject(body)) throw bad('not a JSON object');
  if (!Array.isArray(body.content)) throw bad('no content array');
  for (const [i, block] of body.content.entries()) {
    if (!isObject(block) || typeof block.type !== 'string') throw bad(`content[${i}] has no type`);
    if (block.type === 'text' && typeof block.text !== 'string') throw bad(`content[${i}] (text) has no text`);
    if (block.type === 'tool_use' && (typeof block.id !== 'string' || typeof block.name !== 'string' || !isObject(block.input))) {
      throw bad(`content[${i}] (tool_use) needs a string id and name and an input object`);
    }
  }
  if (body.stop_reason !== null && body.stop_reason !== undefined && typeof body.stop_reason !== 'string') throw bad('stop_reason is not a string');
  return {
    id: typeof body.id === 'string' ? body.id : '',
    type: 'message',
    role: 'assistant',
    model: typeof body.model === 'string' ? body.model : '',
    content: body.content as ContentBlock[],
    stop_reason: typeof body.stop_reason === 'string' ? body.stop_reason : null,
  };
}

/** One POST /v1/messages. Rejects with ModelError, or with the signal's reason once it aborts. */
export async function postMessages(config: ModelConfig, request: MessagesRequest, options: ModelCallOptions): Promise<MessagesResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-api-key': config.apiKey,
    'anthropic-version': ANTHROPIC_VERSION,
  };
  if (options.betaHeader !== '') headers['anthropic-beta'] = options.betaHeader;
  let res: Response;
  let text: string;
  try {
    res = await fetch(endpoint(config.baseUrl), { method: 'POST', headers, body: JSON.stringify(request), signal: options.signal });
    text = await res.text();
  } catch (err) {
    if (options.signal.aborted) throw options.signal.reason;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ModelError(`cannot reach ${where(config.baseUrl)}: ${why}`, undefined, true);
  }
  if (res.status < 200 || res.status > 299) throw errorFromStatus(res.status, text, res.headers);
  return parseResponse(text);
}

function backoffMs(attempt: number): number {
  return Math.min(8000, 500 * 2 ** attempt) * (1 - Math.random() * 0.25);
}

/** postMessages with up to `config.maxRetries` (default 2) retries of retryable failures. */
export async function postMessagesWithRetries(config: ModelConfig, request: MessagesRequest, options: ModelCallOptions): Promise<MessagesResponse> {
  const maxRetries = config.maxRetries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      return await postMessages(config, request, options);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      if (!err.retryable || attempt >= maxRetries) {
        if (attempt === 0) throw err;
        throw new ModelError(`${err.message}; gave up after ${attempt + 1} attempts`, err.status, err.retryable, err.retryAfterMs);
      }
      await sleep(err.retryAfterMs ?? backoffMs(attempt), options.signal);
    }
  }
}
