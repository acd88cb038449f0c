/**
 * MCP logging for toolsets. The SDK does the work: a server that declares the `logging`
 * capability answers `logging/setLevel` (2025 sessions; the level is replayed when a session's
 * actor restarts) and `hctx.mcpReq.log(level, data, logger)` sends `notifications/message` on the
 * request's own stream only at or above the level in force — the session's, or on 2026-07-28 the
 * request's `_meta` logLevel (no logLevel there: nothing is sent).
 *
 * A toolset that logs to its client calls `declareLogging(server)` in its `register`, so the
 * capability is declared whatever other toolsets are loaded.
 */
import type { LoggingLevel, McpServer } from '@modelcontextprotocol/server';

export function declareLogging(server: McpServer): void {
  server.server.registerCapabilities({ logging: {} });
}

/**
 * Sends `notifications/message` outside any request (a 2025 session's GET stream), at or above
 * the session's level. A 2026-07-28 request has no such stream: there it sends nothing.
 */
export function notifySession(server: McpServer, sessionId: string | undefined, level: LoggingLevel, logger: string, data: unknown): Promise<void> {
  return server.server.sendLoggingMessage({ level, logger, data }, sessionId);
}
