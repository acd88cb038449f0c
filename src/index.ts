/**
 * mcp-actors as a library: start the HTTP server or the stdio server from code, and the types a
 * toolset module needs.
 */
import { parseConfig, type Config, type ConfigInput } from './main/config.js';
import { startHttp, type HttpServer } from './main/edge/http.js';
import { createLogger, type Logger } from './main/observability/log.js';
import { Runtime } from './main/runtime.js';

export { defineToolset } from './actor/toolsets/types.js';
export type { Toolset, ToolsetContext, SessionState, RequestInfo, HandlerContext, HandleSpec, ActorIdentity, ActorKind } from './actor/toolsets/types.js';
export type { LeaseService, ResourceLease } from './actor/lease-client.js';
export type { Config, ConfigInput } from './main/config.js';
export { parseConfig } from './main/config.js';
export { Runtime } from './main/runtime.js';

export interface RunningServer extends HttpServer {
  runtime: Runtime;
}

/** Starts the Streamable HTTP server with the given configuration (defaults for the rest). */
export async function startServer(input: ConfigInput = {}, log?: Logger): Promise<RunningServer> {
  const config: Config = parseConfig(input);
  const logger = log ?? createLogger(config.logLevel);
  const runtime = await Runtime.start(config, logger);
  const http = await startHttp(runtime);
  return { ...http, runtime };
}
