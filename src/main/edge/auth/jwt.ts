/**
 * OAuth 2.1 resource-server mode (MCP authorization spec, 2025-06-18 and 2025-11-25): JWT access
 * tokens signed by the configured issuer, checked with jose against the issuer's JWKS (fetched
 * and cached, or given inline). Signature, `iss`, `aud` (the token must have been issued for this
 * server), `exp`/`nbf` with a clock tolerance, and the required scopes are all checked; a token
 * that passes names its principal by a claim (`sub` by default).
 */
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, errors, type JWTPayload, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { z } from 'zod';
import type { oauthSchema } from '../../config.js';
import { makePrincipal, type Principal, type PrincipalLimits } from './principal.js';

export type OAuthConfig = z.infer<typeof oauthSchema>;

/** Why a token was refused: `invalid_token` → 401, `insufficient_scope` → 403, `unavailable` → 503. */
export interface AuthFailure {
  kind: 'missing' | 'invalid_token' | 'insufficient_scope' | 'unavailable';
  /** Safe to log and to send in error_description: never contains the token. */
  reason: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_CHARS = 16 * 1024;
const MAX_PRINCIPAL_CHARS = 256;

export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_CHARS && JWT_SHAPE.test(token);
}

/** The key source could not be reached or is broken: not the client's fault. */
class KeySourceUnavailable extends Error {}

/** Key-lookup failures that are the token's fault (unknown `kid`, unsupported `alg`). */
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JOSE_ALG_NOT_ALLOWED']);

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload.scope ?? payload.scp;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the token was not issued for this resource (audience mismatch)';
    if (err.claim === 'iss') return 'the token was not issued by the configured issuer';
    if (err.claim === 'nbf') return 'the token is not valid yet';
    return `the token's "${err.claim.slice(0, 40)}" claim is missing or invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is not signed by a key of the issuer';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'the token is signed with an algorithm this server does not accept';
  return 'the token is malformed';
}

export class JwtVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly audience: string[];

  constructor(
    private readonly cfg: OAuthConfig,
    audience: string | string[],
    private readonly defaults: PrincipalLimits,
  ) {
    this.audience = Array.isArray(audience) ? audience : [audience];
    const source: JWTVerifyGetKey = cfg.jwks
      ? createLocalJWKSet(cfg.jwks as unknown as JSONWebKeySet)
      : createRemoteJWKSet(new URL(cfg.jwksUri!), { timeoutDuration: cfg.jwksTimeoutMs });
    this.keys = async (header, token) => {
      try {
        return await source(header, token);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && TOKEN_KEY_ERRORS.has(code)) throw err;
        throw new KeySourceUnavailable((err as Error).message);
      }
    };
  }

  async verify(token: string): Promise<Principal | AuthFailure> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.cfg.issuer,
        audience: this.audience,
        algorithms: this.cfg.algorithms,
        clockTolerance: this.cfg.clockToleranceSeconds,
        requiredClaims: ['exp', this.cfg.principalClaim],
      }));
    } catch (err) {
      if (err instanceof KeySourceUnavailable) return { kind: 'unavailable', reason: `the issuer's key set could not be loaded: ${err.message.slice(0, 200)}` };
      return { kind: 'invalid_token', reason: describe(err) };
    }
    const name = payload[this.cfg.principalClaim];
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_PRINCIPAL_CHARS || /[\x00-\x1f\x7f]/.test(name)) {
      return { kind: 'invalid_token', reason: `the token's "${this.cfg.principalClaim}" claim is not a usable principal name` };
    }
    const scopes = scopesOf(payload);
    const missing = this.cfg.requiredScopes.filter((s) => !scopes.includes(s));
    if (missing.length > 0) return { kind: 'insufficient_scope', reason: `the token lacks the scope(s) ${missing.join(' ')}` };
    const admin = this.cfg.adminScope !== undefined && scopes.includes(this.cfg.adminScope);
    return makePrincipal('oauth', name, admin, this.defaults, scopes);
  }
}
