// Route table types and parameter helpers shared by the public and private endpoint modules.

import { errors } from './errors.js';
import type { MarketData } from './marketdata.js';
import { parseDecimal } from './numbers.js';
import type { Engine } from './orders.js';
import type { Account, Accounts } from './state.js';

/**
 * Binance endpoint security types: NONE (public), API_KEY (needs X-MBX-APIKEY, e.g.
 * historicalTrades) and SIGNED (API key + HMAC signature + timestamp).
 */
export type Security = 'NONE' | 'API_KEY' | 'SIGNED';

export interface Ctx {
  readonly params: ReadonlyMap<string, string>;
  /** The caller's account; always set for API_KEY and SIGNED routes. */
  readonly account: Account | undefined;
  readonly now: number;
  readonly data: MarketData;
  readonly engine: Engine;
  readonly accounts: Accounts;
}

/** A handler returns a JSON-serialisable value, or `{ raw }` for a pre-serialised body. */
export type Reply = unknown;
export interface RawReply {
  raw: string;
}

export interface Route {
  security: Security;
  handle(ctx: Ctx): Reply;
}

export type RouteTable = Record<string, Partial<Record<string, Route>>>;

export function account(ctx: Ctx): Account {
  if (ctx.account === undefined) throw new Error('fake-exchange: route needs an account');
  return ctx.account;
}

/** Integer parameter; -1100 when malformed. */
export function intParam(ctx: Ctx, name: string): number | undefined {
  const raw = ctx.params.get(name);
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw errors.illegal(name);
  return Number(raw);
}

/** `limit`-style parameter: default when absent, clamped to [1, max]. */
export function limitParam(ctx: Ctx, def: number, max: number): number {
  const v = intParam(ctx, 'limit');
  if (v === undefined) return def;
  return Math.max(1, Math.min(max, v));
}

/** Decimal parameter ("0.001"); -1100 when malformed. */
export function decimalParam(ctx: Ctx, name: string): number | undefined {
  const raw = ctx.params.get(name);
  if (raw === undefined || raw === '') return undefined;
  const v = parseDecimal(raw);
  if (v === undefined) throw errors.illegal(name);
  return v;
}

export function stringParam(ctx: Ctx, name: string): string | undefined {
  const raw = ctx.params.get(name);
  return raw === undefined || raw === '' ? undefined : raw;
}
