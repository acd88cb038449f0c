/**
 * Real MCP clients of each generation against the real server: the SDK v2 client negotiates
 * MCP 2026-07-28 (not a fallback) over HTTP and over stdio, and its input_required rounds are
 * answered by its own handlers; the SDK v1 client still gets a 2025-11-25 session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, ROOT, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ toolsets: ['everything', 'diagnostics'] });
});

afterAll(async () => {
  await server?.stop();
});

function v2Client(): Client {
  const client = new Client({ name: 'mcp-actors-v2-test', version: '1.0.0' }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: 'auto' } });
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ann' } }));
  return client;
}

describe('the SDK v2 client', () => {
  it('negotiates 2026-07-28 over HTTP, calls tools statelessly, and answers input_required rounds with its handler', async () => {
    const client = v2Client();
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('whoami');
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect((who.structuredContent as { actor: string }).actor).toBe('stateless');
      const hello = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
      expect(JSON.stringify(hello.content)).toContain('Hello, Ann!');
      // A handle workflow through the client.
      const opened = await client.callTool({ name: 'open_handle', arguments: {} });
      const handle = (opened.structuredContent as { handle: string }).handle;
      const w1 = await client.callTool({ name: 'whoami', arguments: { handle } });
      const w2 = await client.callTool({ name: 'whoami', arguments: { handle } });
      expect((w1.structuredContent as { actor: string }).actor).toBe('handle');
      expect((w2.structuredContent as { executed: number }).executed).toBe((w1.structuredContent as { executed: number }).executed + 1);
    } finally {
      await client.close();
    }
  });

  it('negotiates 2026-07-28 over stdio', async () => {
    const client = v2Client();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'stdio', '--toolsets', 'everything,diagnostics'],
      cwd: ROOT,
      stderr: 'pipe',
      env: { ...process.env, MCP_TOOLSETS: '' } as Record<string, string>,
    });
    await client.connect(transport);
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const echo = await client.callTool({ name: 'echo', arguments: { text: 'over stdio' } });
      expect((echo.structuredContent as { text: string }).text).toBe('over stdio');
      const hello = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
      expect(JSON.stringify(hello.content)).toContain('Hello, Ann!');
    } finally {
      await client.close();
    }
  });
});

describe('the SDK v1 client', () => {
  it('still gets a 2025-11-25 session', async () => {
    const client = new ClientV1({ name: 'mcp-actors-v1-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransportV1(new URL(server.url));
    await client.connect(transport);
    try {
      expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(transport.protocolVersion).toBe('2025-11-25');
      const who = await client.callTool({ name: 'whoami', arguments: {} });
      expect((who.structuredContent as { actor: string }).actor).toBe('session');
    } finally {
      await client.close();
    }
  });
});
