/**
 * Who is calling: the result of authentication. Sessions are bound to `id`; limits are counted
 * per `id`. Anonymous traffic (authentication off, loopback) has no principal at all.
 */
import type { z } from 'zod';
import type { principalLimitsSchema } from '../../config.js';

export type PrincipalLimits = z.infer<typeof principalLimitsSchema>;

export type PrincipalSource = 'token' | 'oauth';

export interface Principal {
  /** Stable key: `<source>:<name>` (a static token's principal and a JWT subject never collide). */
  readonly id: string;
  readonly name: string;
  readonly source: PrincipalSource;
  /** May list sessions and end other principals' sessions. */
  readonly admin: boolean;
  /** Granted scopes (OAuth); empty for static tokens. */
  readonly scopes: readonly string[];
  readonly limits: PrincipalLimits;
}

export function makePrincipal(source: PrincipalSource, name: string, admin: boolean, limits: PrincipalLimits, scopes: readonly string[] = []): Principal {
  return { id: `${source}:${name}`, name, source, admin, scopes, limits };
}
