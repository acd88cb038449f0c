/**
 * Authentication is off by default on loopback and required anywhere else: a server bound to a
 * non-loopback address without tokens or OAuth configured refuses to start.
 */
import type { Config } from '../../config.js';
import { isLoopbackAddress } from '../guards.js';

/** Whether every request to the MCP endpoint must authenticate. */
export function authRequired(config: Config): boolean {
  return config.auth.tokens.length > 0 || config.auth.oauth !== undefined;
}

/** Why this configuration must not serve, or undefined when it may. */
export function unsafeBindProblem(config: Config): string | undefined {
  if (isLoopbackAddress(config.host) || authRequired(config) || config.auth.allowUnauthenticatedRemote) return undefined;
  const adminOnly = config.admin.token ? ' (admin.token alone protects only the admin endpoints, not /mcp)' : '';
  return [
    `refusing to serve on ${config.host}, a non-loopback address, without authentication${adminOnly}. Either:`,
    '  - configure static bearer tokens: auth.tokens [{"token": "<at least 16 chars>", "principal": "<name>"}] in the config file, or env MCP_ACTORS_TOKENS="principal=token,…";',
    '  - or OAuth: auth.oauth {"issuer": "…", "jwksUri": "…", "audience": "…"} (and auth.resource, this endpoint\'s public URL);',
    '  - or bind to loopback (--host 127.0.0.1);',
    '  - or, only behind a proxy that authenticates every request itself, set auth.allowUnauthenticatedRemote: true.',
  ].join('\n');
}
