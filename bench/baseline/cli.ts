#!/usr/bin/env node
/**
 * The benchmark baseline as a process of its own: the SDK v2's own Streamable HTTP serving
 * (`startBaselineServer`: 2025-era sessions and MCP 2026-07-28 requests, one thread) on a port,
 * with toolsets loaded by name (or path).
 *
 *   node dist/bench/baseline/cli.js [--host 127.0.0.1] [--port 0] [--toolsets diagnostics] [--log-level warn]
 *
 * Logs `{"msg":"listening","url":…}` on stderr when ready (the same line mcp-actors logs).
 * SIGTERM/SIGINT close it — unless a tool has blocked its only thread, which is the point.
 */
import { startBaselineServer } from './server.js';
import type { LogLevel } from './context.js';
import { flags, loadToolsets } from './toolsets.js';

const f = flags(process.argv.slice(2));
const toolsets = await loadToolsets((f.toolsets ?? 'diagnostics').split(',').filter(Boolean));
const server = await startBaselineServer({
  host: f.host ?? '127.0.0.1',
  port: Number(f.port ?? 0),
  toolsets,
  logLevel: (f['log-level'] ?? 'warn') as LogLevel,
});
process.stderr.write(`${JSON.stringify({ level: 'info', time: Date.now(), msg: 'listening', url: server.url })}\n`);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
