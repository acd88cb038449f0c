/**
 * The official MCP conformance suite (pinned 0.1.13) against the real server — `mcp-actors serve
 * --toolsets everything`, a child process on loopback — so CI keeps "0 failed" true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanDefaultSuite, runConformance } from './support/conformance.js';
import { startServer, type ServerProcess } from './support/server.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ toolsets: ['everything'] });
});
afterAll(async () => {
  await server?.stop();
});

describe('MCP conformance suite 0.1.13', () => {
  it('passes the whole default suite: 0 failed, no warnings', async () => {
    expectCleanDefaultSuite(await runConformance(server.url, []));
  }, 180_000);

  it('passes the pending scenarios too (SSE polling with priming, retry and resume; JSON Schema 2020-12)', async () => {
    const { output, scenarios } = await runConformance(server.url, ['--suite', 'pending']);
    expect(/Total: \d+ passed, 0 failed/.test(output), output).toBe(true);
    const polling = scenarios.get('server-sse-polling') ?? [];
    const byId = new Map(polling.map((c) => [c.id, c.status]));
    expect(byId.get('server-sse-priming-event')).toBe('SUCCESS');
    expect(byId.get('server-sse-retry-field')).toBe('SUCCESS');
    expect(byId.get('server-sse-disconnect-resume')).toBe('SUCCESS');
    expect((scenarios.get('json-schema-2020-12') ?? []).every((c) => c.status !== 'FAILURE')).toBe(true);
  }, 120_000);

  it('still serves after the suite (nothing it sent broke the server)', async () => {
    const res = await fetch(`${server.origin}/health`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('ok');
    expect(server.proc.exitCode).toBeNull();
  });
});
