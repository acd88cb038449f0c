/**
 * The cua toolset for MCP 2026-07-28 clients, through the real server with real Xvfb computers:
 * `create_session` starts a handle (session_id, as trycua names it); the handle's actor holds its
 * computer across calls; two handles have two computers; get_session_stats and cleanup_session
 * work on handles, and ending a handle gives its computer back; a computer tool called without a
 * session_id says which tool to call first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server.js';
import { modern, modernTool, type RawResponse } from '../support/mcp-http.js';
import { metric, waitFor } from '../support/wait.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    args: ['--toolsets', 'cua'],
    env: { ANTHROPIC_API_KEY: '', CUA_API_KEY: '' },
    timeoutMs: 30_000,
    config: { warmPool: { min: 1, max: 8 }, cua: { maxComputers: 3, waitTimeoutMs: 15_000 } },
  });
});

afterAll(async () => {
  await server?.stop();
});

function ok(r: RawResponse): any {
  expect(r.status, r.text).toBe(200);
  if (r.json?.error || r.json?.result?.isError) throw new Error(`call failed: ${JSON.stringify(r.json).slice(0, 500)}`);
  return r.json.result.structuredContent;
}

const call = (name: string, args: Record<string, unknown> = {}) => modernTool(server.url, name, args);
const leases = () => metric(server, 'mcp_actors_pool_leases', 'kind="computer"');

describe('cua with state handles (MCP 2026-07-28)', () => {
  it("keeps each handle's computer across calls, one computer per handle", async () => {
    const a = ok(await call('create_session')).session_id as string;
    const b = ok(await call('create_session')).session_id as string;
    expect(a).not.toBe(b);
    ok(await call('computer_move', { x: 101, y: 123, session_id: a }));
    ok(await call('computer_move', { x: 307, y: 211, session_id: b }));
    expect(ok(await call('computer_cursor_position', { session_id: a }))).toEqual({ x: 101, y: 123 });
    expect(ok(await call('computer_cursor_position', { session_id: b }))).toEqual({ x: 307, y: 211 });
    expect(await leases()).toBe(2);

    const stats = ok(await call('get_session_stats', { session_id: a }));
    expect(stats.session.active_tasks).toBe(1);

    // Ending a handle gives its computer back; its session_id is then unknown.
    expect(ok(await call('cleanup_session', { session_id: a }))).toMatchObject({ ended: true });
    await waitFor('the computer of the ended handle to be released', async () => (await leases()) === 1);
    const gone = await call('computer_cursor_position', { session_id: a });
    expect(gone.json.result.isError).toBe(true);
    expect(gone.json.result.structuredContent.code).toBe('UNKNOWN_HANDLE');
    expect(ok(await call('computer_cursor_position', { session_id: b }))).toEqual({ x: 307, y: 211 });
    ok(await call('cleanup_session', { session_id: b }));
    await waitFor('every computer to be released', async () => (await leases()) === 0);
  });

  it('asks for a session_id when a computer tool is called without one (no computer is leased)', async () => {
    const r = await call('screenshot_cua');
    expect(r.status).toBe(200);
    expect(r.json.result.isError).toBe(true);
    expect(r.json.result.structuredContent.code).toBe('HANDLE_REQUIRED');
    expect(r.json.result.content[0].text).toMatch(/create_session/);
    expect(await leases()).toBe(0);
  });

  it('says in create_session how long a session lives', async () => {
    const tools = (await modern(server.url, 'tools/list')).json.result.tools as Array<{ name: string; description: string }>;
    const create = tools.find((t) => t.name === 'create_session')!;
    expect(create.description).toMatch(/session_id/);
    expect(create.description).toMatch(/expires after 30 minutes/);
  });
});
