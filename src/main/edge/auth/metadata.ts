/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata, as the MCP authorization spec asks a resource
 * server to publish it. The document for resource `https://host/mcp` lives at
 * `https://host/.well-known/oauth-protected-resource/mcp` (the well-known segment is inserted
 * between the host and the path, §3.1) and its `resource` must equal that URI (§3.3). Clients
 * that fall back to the root `/.well-known/oauth-protected-resource` get the same document.
 */
import type { Config } from '../../config.js';

export const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The canonical URI of this MCP endpoint: auth.resource, else derived from the request's Host. */
export function resourceUri(config: Config, host: string | undefined): string {
  if (config.auth.resource) return config.auth.resource;
  return `http://${host ?? `${config.host}:${config.port}`}${config.http.path}`;
}

/** Where the metadata for a resource URI lives (RFC 9728 §3.1). */
export function metadataUri(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}${WELL_KNOWN}${path}`;
}

/** The paths this server answers metadata on. */
export function metadataPaths(config: Config): string[] {
  const paths = new Set([WELL_KNOWN, `${WELL_KNOWN}${config.http.path}`]);
  if (config.auth.resource) paths.add(new URL(metadataUri(config.auth.resource)).pathname);
  return [...paths];
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers?: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name: string;
}

export function protectedResourceMetadata(config: Config, resource: string): ProtectedResourceMetadata {
  const oauth = config.auth.oauth;
  const scopes = [...new Set([...config.auth.scopesSupported, ...(oauth?.requiredScopes ?? []), ...(oauth?.adminScope ? [oauth.adminScope] : [])])];
  return {
    resource,
    ...(oauth ? { authorization_servers: oauth.authorizationServers ?? [oauth.issuer] } : {}),
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    // Tokens are accepted in the Authorization header only (never in a query string or body).
    bearer_methods_supported: ['header'],
    resource_name: 'mcp-actors',
  };
}
