// Bodies in the Messages API's shapes: a message, an error, and the canned faults.
import { randomBytes } from 'node:crypto';

import type { CustomFault, FakeToolInput, FaultKind } from './script.js';

export interface FakeMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Array<{ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: 'computer'; input: FakeToolInput }>;
  stop_reason: string;
  stop_sequence: null;
  usage: { input_tokens: number; output_tokens: number };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomId(prefix: string): string {
  const bytes = randomBytes(24);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}01${s}`;
}

export const newRequestId = () => randomId('req_');

export function message(model: string, text: string | undefined, uses: readonly FakeToolInput[], stopReason: string, inputBytes: number): FakeMessage {
  const content: FakeMessage['content'] = [];
  if (text !== undefined && text !== '') content.push({ type: 'text', text });
  for (const input of uses) content.push({ type: 'tool_use', id: randomId('toolu_'), name: 'computer', input });
  return {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: Math.ceil(inputBytes / 4), output_tokens: 10 + 20 * uses.length + Math.ceil((text?.length ?? 0) / 4) },
  };
}

export function errorBody(type: string, messageText: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message: messageText }, request_id: requestId });
}

/** Status, content type and body of a canned fault. */
export function faultResponse(fault: FaultKind | CustomFault, requestId: string): { status: number; body: string; errorType?: string; message?: string } {
  if (typeof fault === 'object') return { status: fault.status, body: errorBody(fault.type, fault.message, requestId), errorType: fault.type, message: fault.message };
  const canned: Record<Exclude<FaultKind, 'bad_json' | 'bad_shape'>, CustomFault> = {
    rate_limit: { status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' },
    overloaded: { status: 529, type: 'overloaded_error', message: 'Overloaded' },
    server: { status: 500, type: 'api_error', message: 'Internal server error' },
    invalid_request: { status: 400, type: 'invalid_request_error', message: 'messages: the request was rejected' },
    auth: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
  };
  if (fault === 'bad_json') return { status: 200, body: '{"type":"message","content":[{"type":"text","te' };
  if (fault === 'bad_shape') return { status: 200, body: JSON.stringify({ type: 'message', role: 'assistant', stop_reason: 'end_turn' }) };
  return faultResponse(canned[fault], requestId);
}
