// Binance SIGNED-endpoint authentication, checked for real:
//   signature = HMAC-SHA256(secret, totalParams) as hex, where totalParams is the raw query
//   string followed directly (no separator) by the raw request body, both exactly as sent and
//   without the `signature=` parameter itself (which may sit in either part).
// Plus the X-MBX-APIKEY header and the timestamp / recvWindow freshness rule.

import { createHmac, timingSafeEqual } from 'node:crypto';

import { errors } from './errors.js';

export interface SignedPayload {
  /** The exact bytes Binance signs. */
  payload: string;
  /** The `signature` parameter value, if one was sent. */
  signature: string | undefined;
}

function stripSignature(raw: string): { rest: string; signature: string | undefined } {
  if (raw === '') return { rest: '', signature: undefined };
  let signature: string | undefined;
  const kept: string[] = [];
  for (const part of raw.split('&')) {
    if (part.startsWith('signature=')) signature = decodeURIComponent(part.slice('signature='.length));
    else kept.push(part);
  }
  return { rest: kept.join('&'), signature };
}

export function signedPayload(rawQuery: string, rawBody: string): SignedPayload {
  const q = stripSignature(rawQuery);
  const b = stripSignature(rawBody);
  return { payload: q.rest + b.rest, signature: b.signature ?? q.signature };
}

export function hmacSha256Hex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/** Constant-time comparison of the expected and received hex signatures. */
export function signatureMatches(secret: string, p: SignedPayload): boolean {
  if (p.signature === undefined || !/^[0-9a-fA-F]{64}$/.test(p.signature)) return false;
  const expected = Buffer.from(hmacSha256Hex(secret, p.payload), 'hex');
  const got = Buffer.from(p.signature, 'hex');
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/**
 * Binance's timing rule: reject if timestamp is more than 1 s in the future or older than
 * recvWindow (default 5000 ms, max 60000).
 */
export function checkTimestamp(params: ReadonlyMap<string, string>, now: number): void {
  const ts = params.get('timestamp');
  if (ts === undefined || !/^\d+$/.test(ts)) throw errors.mandatory('timestamp');
  const rwRaw = params.get('recvWindow');
  let recvWindow = 5000;
  if (rwRaw !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(rwRaw)) throw errors.illegal('recvWindow');
    recvWindow = Number(rwRaw);
    if (recvWindow > 60000) throw errors.recvWindowTooLarge();
  }
  const t = Number(ts);
  if (t > now + 1000 || now - t > recvWindow) throw errors.outsideRecvWindow();
}
