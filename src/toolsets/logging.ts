/**
 * MCP logging for the `everything` toolset: the `logging` capability, a `logging/setLevel` handler
 * that keeps the session's level in `ctx.state`, and a helper that sends `notifications/message`
 * on the stream of the request being served, honouring that level.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LoggingLevelSchema, SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { HandlerExtra, ToolsetContext } from '../types.js';

const LEVEL_KEY = 'everything.logLevel';
const SEVERITY: ReadonlyMap<LoggingLevel, number> = new Map(LoggingLevelSchema.options.map((level, i) => [level, i]));

export const LOGGER_NAME = 'everything';

export interface SessionLog {
  /** Sends `notifications/message` related to `extra`'s request unless below the session's level. */
  send(extra: Pick<HandlerExtra, 'sendNotification'>, level: LoggingLevel, data: unknown): Promise<void>;
}

export function registerLogging(server: McpServer, ctx: ToolsetContext): SessionLog {
  server.server.registerCapabilities({ logging: {} });

  // The SDK installs its own `logging/setLevel` handler only when the server was constructed with
  // the logging capability. Install ours when nobody did; if one exists, keep it (and send
  // unfiltered, since the level it records is not visible to us).
  let ownHandler = true;
  try {
    server.server.assertCanSetRequestHandler('logging/setLevel');
  } catch {
    ownHandler = false;
  }

  const log: SessionLog = {
    async send(extra, level, data) {
      const min = ctx.state.get<LoggingLevel>(LEVEL_KEY);
      if (min !== undefined && (SEVERITY.get(level) ?? 0) < (SEVERITY.get(min) ?? 0)) return;
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level, logger: LOGGER_NAME, data },
      });
    },
  };

  if (ownHandler) {
    server.server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
      ctx.state.set(LEVEL_KEY, request.params.level);
      await log.send(extra, 'info', `Log level set to: ${request.params.level}`);
      return {};
    });
  }
  return log;
}
