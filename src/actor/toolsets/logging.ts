/**
 * MCP logging for toolsets: the `logging` capability, one `logging/setLevel` handler per session's
 * server (whichever toolset asks first installs it; the level is shared by all), and a SessionLog
 * that sends `notifications/message` — on the stream of the request being served, or outside any
 * request — honouring that level. A toolset that sends log messages calls `sessionLogging` in its
 * `register`, so the capability is declared whatever other toolsets are loaded.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LoggingLevelSchema, SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { HandlerExtra, ToolsetContext } from './types.js';

const LEVEL_KEY = 'logLevel';
const SEVERITY: ReadonlyMap<LoggingLevel, number> = new Map(LoggingLevelSchema.options.map((level, i) => [level, i]));

export interface SessionLog {
  /** Sends `notifications/message` related to `extra`'s request unless below the session's level. */
  send(extra: Pick<HandlerExtra, 'sendNotification'>, level: LoggingLevel, data: unknown): Promise<void>;
  /** Sends `notifications/message` outside any request (the standalone stream) unless below the level. */
  notify(level: LoggingLevel, data: unknown): Promise<void>;
}

/** The level of each server's session, read by every toolset's SessionLog. */
const levels = new WeakMap<McpServer, () => LoggingLevel | undefined>();

export function sessionLogging(server: McpServer, ctx: ToolsetContext, logger: string): SessionLog {
  server.server.registerCapabilities({ logging: {} });
  if (!levels.has(server)) {
    let canInstall = true;
    try {
      // The SDK installs its own handler when the server was constructed with the capability.
      server.server.assertCanSetRequestHandler('logging/setLevel');
    } catch {
      canInstall = false;
    }
    if (canInstall) {
      server.server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
        ctx.state.set(LEVEL_KEY, request.params.level);
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger, data: `Log level set to: ${request.params.level}` } });
        return {};
      });
      levels.set(server, () => ctx.state.get<LoggingLevel>(LEVEL_KEY));
    } else {
      levels.set(server, () => undefined); // someone else's handler: its level is not visible, send unfiltered
    }
  }
  const below = (level: LoggingLevel) => {
    const min = levels.get(server)?.();
    return min !== undefined && (SEVERITY.get(level) ?? 0) < (SEVERITY.get(min) ?? 0);
  };
  return {
    async send(extra, level, data) {
      if (below(level)) return;
      await extra.sendNotification({ method: 'notifications/message', params: { level, logger, data } });
    },
    async notify(level, data) {
      if (below(level)) return;
      await server.server.notification({ method: 'notifications/message', params: { level, logger, data } });
    },
  };
}
