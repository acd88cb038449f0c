/**
 * `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1, MCP authorization spec):
 * every 401 names the protected-resource metadata; a refused token adds `error="invalid_token"`
 * and a description; a token without a required scope gets 403 `error="insufficient_scope"`.
 */
export interface ChallengeParams {
  resourceMetadata?: string;
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
  scope?: readonly string[];
  realm?: string;
}

/** Quoted-string content: no quotes, backslashes or control characters. */
function quote(s: string): string {
  return `"${s.replace(/[\\"\x00-\x1f\x7f]/g, ' ').slice(0, 300)}"`;
}

export function bearerChallenge(p: ChallengeParams): string {
  const parts: string[] = [];
  if (p.realm) parts.push(`realm=${quote(p.realm)}`);
  if (p.resourceMetadata) parts.push(`resource_metadata=${quote(p.resourceMetadata)}`);
  if (p.error) parts.push(`error=${quote(p.error)}`);
  if (p.description) parts.push(`error_description=${quote(p.description)}`);
  if (p.scope && p.scope.length > 0) parts.push(`scope=${quote(p.scope.join(' '))}`);
  return parts.length > 0 ? `Bearer ${parts.join(', ')}` : 'Bearer';
}
