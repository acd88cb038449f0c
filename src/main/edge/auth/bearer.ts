/**
 * Bearer credentials (RFC 6750 §2.1, header only) and static tokens from config. A presented
 * token is hashed and compared against every configured token's hash with timingSafeEqual,
 * without stopping at a match: the time taken does not depend on which token (if any) matched,
 * nor on how much of one did.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { staticTokenSchema } from '../../config.js';
import { makePrincipal, type Principal, type PrincipalLimits } from './principal.js';

export type StaticTokenConfig = z.infer<typeof staticTokenSchema>;

/** The principal the legacy `admin.token` authenticates as. */
export const ADMIN_PRINCIPAL = 'admin';

const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([\x21-\x7e]+) *$/;

/**
 * The token of an `Authorization: Bearer <token>` header: undefined when there is no header,
 * null when there is one but it carries no bearer token (another scheme, or malformed).
 */
export function bearerToken(authorization: string | undefined): string | undefined | null {
  if (authorization === undefined) return undefined;
  if (authorization.length > 8192) return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

interface Entry {
  digest: Buffer;
  principal: Principal;
}

export class StaticTokens {
  private readonly entries: Entry[] = [];

  constructor(tokens: readonly StaticTokenConfig[], adminToken: string | undefined, defaults: PrincipalLimits) {
    for (const t of tokens) {
      const limits = { ...defaults, ...t.limits };
      this.entries.push({ digest: digest(t.token), principal: makePrincipal('token', t.principal, t.roles.includes('admin'), limits) });
    }
    if (adminToken) this.entries.push({ digest: digest(adminToken), principal: makePrincipal('token', ADMIN_PRINCIPAL, true, defaults) });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal a token belongs to, compared in constant time against every configured token. */
  lookup(token: string): Principal | undefined {
    const d = digest(token);
    let found: Principal | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(d, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }
}
