/**
 * MCP protocol revisions the edge accepts in the MCP-Protocol-Version header, and the features
 * that depend on the revision a session negotiated.
 */
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

export const SUPPORTED_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

const supported = new Set(SUPPORTED_VERSIONS);

export function isSupportedVersion(v: string): boolean {
  return supported.has(v);
}

/**
 * SEP-1699 (2025-11-25): servers send a priming event (an id with empty data) when an SSE stream
 * opens, so the client can resume it. Older clients may not tolerate an empty data field.
 */
export function supportsPrimingEvents(negotiated: string | undefined): boolean {
  return negotiated !== undefined && negotiated >= '2025-11-25';
}
