/**
 * MCP protocol revisions, as the edge needs them without loading the SDK on the main thread (it
 * costs startup time): the 2025-era revisions sessions negotiate, and the 2026-era revisions
 * served per request. test/protocol/versions.test.ts holds them equal to the SDK's own lists.
 */

/** 2025-era revisions a session may negotiate, newest first (the SDK's SUPPORTED_PROTOCOL_VERSIONS). */
export const SUPPORTED_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];

/** What an initialize naming no revision we know gets (the SDK's LATEST_PROTOCOL_VERSION). */
export const LATEST_VERSION = SUPPORTED_VERSIONS[0]!;

/** The first revision of the stateless era: it and anything that sorts after it name the 2026 era. */
export const FIRST_MODERN_VERSION = '2026-07-28';

/** 2026-era revisions served per request. */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];

const supported = new Set(SUPPORTED_VERSIONS);

export function isSupportedVersion(v: string): boolean {
  return supported.has(v);
}

/** Whether a revision names the per-request (2026) era, supported or not — as the SDK decides it. */
export function isModernVersion(v: string): boolean {
  return v >= FIRST_MODERN_VERSION;
}

/**
 * SEP-1699 (2025-11-25): servers send a priming event (an id with empty data) when an SSE stream
 * opens, so the client can resume it. Older clients may not tolerate an empty data field.
 */
export function supportsPrimingEvents(negotiated: string | undefined): boolean {
  return negotiated !== undefined && negotiated >= '2025-11-25' && !isModernVersion(negotiated);
}
