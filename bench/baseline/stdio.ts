#!/usr/bin/env node
/**
 * The stdio baseline: one `McpServer` from the SDK on its `StdioServerTransport`, serving the same
 * toolsets in-process (what a developer writes for a stdio MCP server).
 *
 *   node dist/bench/baseline/stdio.js [--toolsets diagnostics] [--log-level warn]
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { BaselineSession, type LogLevel } from './context.js';
import { flags, loadToolsets } from './toolsets.js';

const f = flags(process.argv.slice(2));
const toolsets = await loadToolsets((f.toolsets ?? 'diagnostics').split(',').filter(Boolean));
const context = new BaselineSession((f['log-level'] ?? 'warn') as LogLevel);
context.bind('stdio');
const instructions = toolsets.map((t) => t.instructions).filter((s): s is string => Boolean(s));
const server = new McpServer(
  { name: 'mcp-actors-baseline', version: '0.1.0' },
  instructions.length > 0 ? { instructions: instructions.join('\n\n') } : undefined,
);
for (const t of toolsets) await t.register(server, context.contextFor(t, {}));
const transport = new StdioServerTransport();
await server.connect(transport);
context.stampArrivals(transport);
process.stdin.once('end', () => {
  void server.close().then(() => process.exit(0));
});
