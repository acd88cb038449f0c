/**
 * Authentication at the edge: a Hono middleware that turns the Authorization header into
 * `c.var.principal` (or refuses the request), then charges the principal's request bucket.
 *
 * - Authentication required (auth.tokens or auth.oauth configured): no or bad credentials → 401
 *   with a `WWW-Authenticate: Bearer resource_metadata="…"` challenge; a token without a
 *   required scope → 403; the issuer's keys unreachable → 503.
 * - Not required (the loopback default): requests are anonymous; a bearer token that matches a
 *   configured one (the admin token) still names its principal, anything else is ignored.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../../config.js';
import { rpcError } from '../../../shared/errors.js';
import type { Runtime } from '../../runtime.js';
import { header, type EdgeEnv } from '../headers.js';
import { jsonError } from '../session-streams.js';
import { audit } from './audit.js';
import { bearerToken, StaticTokens } from './bearer.js';
import { authRequired } from './bind-policy.js';
import { bearerChallenge } from './challenge.js';
import { JwtVerifier, looksLikeJwt, type AuthFailure } from './jwt.js';
import { metadataUri, resourceUri } from './metadata.js';
import type { Principal } from './principal.js';
import type { PrincipalLimiter } from './limits.js';

export type AuthOutcome = { principal: Principal | undefined; failure?: undefined } | { failure: AuthFailure; principal?: undefined };

const ANONYMOUS: AuthOutcome = { principal: undefined };

export class Authenticator {
  /** Every request must carry valid credentials. */
  readonly required: boolean;
  /** There is anything to check at all (required, or an admin token to recognise). */
  readonly active: boolean;
  private readonly tokens: StaticTokens;
  private readonly jwt: JwtVerifier | undefined;

  constructor(private readonly config: Config) {
    const auth = config.auth;
    this.required = authRequired(config);
    this.tokens = new StaticTokens(auth.tokens, config.admin.token, auth.limits);
    this.jwt = auth.oauth ? new JwtVerifier(auth.oauth, auth.oauth.audience ?? auth.resource!, auth.limits) : undefined;
    this.active = this.required || this.tokens.size > 0;
    this.hasAdmin = !!config.admin.token || auth.tokens.some((t) => t.roles.includes('admin')) || !!auth.oauth?.adminScope;
  }

  /** Some credential can act as admin (an admin token, a token with the admin role, an OAuth admin scope). */
  readonly hasAdmin: boolean;

  /** Authenticates an Authorization header value; synchronous unless a JWT must be verified. */
  check(authorization: string | undefined): AuthOutcome | Promise<AuthOutcome> {
    const token = bearerToken(authorization);
    if (token === undefined || token === null) {
      if (!this.required) return ANONYMOUS;
      return { failure: { kind: 'missing', reason: token === undefined ? 'no credentials' : 'the Authorization header carries no bearer token' } };
    }
    const principal = this.tokens.lookup(token);
    if (principal) return { principal };
    if (this.jwt && looksLikeJwt(token)) {
      return this.jwt.verify(token).then((r) => ('kind' in r ? { failure: r } : { principal: r }));
    }
    return this.required ? { failure: { kind: 'invalid_token', reason: 'the token is not valid for this server' } } : ANONYMOUS;
  }

  /** Scopes named in 401 challenges: the required ones, else the supported ones. */
  private challengeScopes(): string[] {
    const required = this.config.auth.oauth?.requiredScopes ?? [];
    return required.length > 0 ? required : this.config.auth.scopesSupported;
  }

  /** The response refusing a request whose credentials failed. */
  refusal(c: Context<EdgeEnv>, failure: AuthFailure): Response {
    const resourceMetadata = metadataUri(resourceUri(this.config, header(c, 'host')));
    switch (failure.kind) {
      case 'missing':
        return jsonError(rpcError('UNAUTHORIZED', 'send Authorization: Bearer <token>'), null, {
          'www-authenticate': bearerChallenge({ resourceMetadata, scope: this.challengeScopes() }),
        });
      case 'invalid_token':
        return jsonError(rpcError('UNAUTHORIZED', failure.reason), null, {
          'www-authenticate': bearerChallenge({ resourceMetadata, error: 'invalid_token', description: failure.reason, scope: this.challengeScopes() }),
        });
      case 'insufficient_scope':
        return jsonError(rpcError('INSUFFICIENT_SCOPE', failure.reason), null, {
          'www-authenticate': bearerChallenge({ resourceMetadata, error: 'insufficient_scope', description: failure.reason, scope: this.config.auth.oauth?.requiredScopes ?? [] }),
        });
      case 'unavailable':
        return jsonError(rpcError('AUTH_UNAVAILABLE'), null, { 'retry-after': String(this.config.http.retryAfterSeconds) });
    }
  }
}

function clientIp(c: Context<EdgeEnv>): string | undefined {
  return c.env?.incoming?.socket.remoteAddress;
}

export function logAuthFailure(rt: Runtime, c: Context<EdgeEnv>, failure: AuthFailure, msg = 'authentication failed'): void {
  audit(rt.log, 'auth.failure', { kind: failure.kind, reason: failure.reason, clientIp: clientIp(c), method: c.req.method, path: c.req.path }, msg);
}

/**
 * The MCP endpoint's authentication and request-rate middleware. DELETE is never rate-limited
 * (ending a session must always be possible); OPTIONS (CORS preflights carry no credentials) is
 * left to the CORS middleware.
 */
export function authMiddleware(rt: Runtime, auth: Authenticator, limiter: PrincipalLimiter): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'OPTIONS') return next();
    const checked = auth.check(header(c, 'authorization'));
    const outcome = checked instanceof Promise ? await checked : checked;
    if (outcome.failure) {
      logAuthFailure(rt, c, outcome.failure);
      const res = auth.refusal(c, outcome.failure);
      rt.metrics.httpRejected.inc({ status: String(res.status), code: outcome.failure.kind });
      return res;
    }
    const principal = outcome.principal;
    if (principal) {
      c.set('principal', principal);
      if (method !== 'DELETE') {
        const admitted = limiter.takeRequest(principal);
        if (!admitted.ok) {
          rt.metrics.httpRejected.inc({ status: '429', code: 'RATE_LIMITED' });
          return jsonError(rpcError('RATE_LIMITED', `at most ${principal.limits.requestsPerSecond} requests per second (burst ${principal.limits.burst}) per principal`), null, {
            'retry-after': String(admitted.retryAfterSeconds),
          });
        }
      }
    }
    return next();
  };
}
