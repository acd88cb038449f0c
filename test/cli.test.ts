/**
 * The CLI as a user runs it: flags, env fallbacks, config file, toolset names and paths.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/main/config.js';
import { CLI, ROOT, startServer } from './support/server.js';
import { callTool, modernTool, openSession, send, request, structured } from './support/mcp-http.js';

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
}

describe('CLI', () => {
  it('--help names every built-in toolset', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const name of ['everything', 'diagnostics', 'session', 'ccxt', 'cua']) expect(r.stdout).toContain(name);
  });

  it("the README's greeter works as written, from a file outside the package (ctx.z), in both eras; one importing zod itself fails the start with exit 2 and says what to do", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-outside-'));
    try {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const code = /```js\n(\/\/ greeter\.mjs\n[\s\S]*?)```/.exec(readme)?.[1];
      expect(code, 'the README has a greeter.mjs block').toBeDefined();
      const good = join(dir, 'greeter.mjs');
      writeFileSync(good, code!);
      const server = await startServer({ args: ['--toolsets', good] });
      try {
        // 2025: the session is the state.
        const s = await openSession(server.url);
        expect((await callTool(server.url, s, 'greet', { name: 'there' })).json.result.content[0].text).toBe('hello there (#1)');
        expect((await callTool(server.url, s, 'greet', { name: 'again' })).json.result.content[0].text).toBe('hello again (#2)');
        // 2026-07-28: a handle carries it.
        const id = (await modernTool(server.url, 'open_greeter')).json.result.structuredContent.greeter_id;
        expect((await modernTool(server.url, 'greet', { name: 'ada', greeter_id: id })).json.result.content[0].text).toBe('hello ada (#1)');
        expect((await modernTool(server.url, 'greet', { name: 'bob', greeter_id: id })).json.result.content[0].text).toBe('hello bob (#2)');
        const without = await modernTool(server.url, 'greet', { name: 'eve' });
        expect(without.json.result.structuredContent.code).toBe('HANDLE_REQUIRED');
        expect(without.json.result.content[0].text).toMatch(/open_greeter/);
      } finally {
        await server.stop();
      }
      const bad = join(dir, 'imports-zod.mjs');
      writeFileSync(bad, `import { z } from 'zod';\nexport default { name: 'z', register() { void z; } };\n`);
      const r = run(['serve', '--port', '0', '--toolsets', bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/Cannot find package 'zod'/);
      expect(r.stderr).toMatch(/ctx\.z/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at start with a clear message for an unknown toolset name', () => {
    const r = run(['serve', '--port', '0', '--toolsets', 'everything,nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown toolset "nope"/);
    expect(r.stderr).toMatch(/everything, diagnostics/);
    expect(r.stdout).toBe('');
  });

  it('fails clearly for a toolset path that does not exist, and for a module that is not a toolset', () => {
    expect(run(['serve', '--port', '0', '--toolsets', './no/such/toolset.js']).stderr).toMatch(/no such file/);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-cli-'));
    const bad = join(dir, 'bad.mjs');
    writeFileSync(bad, 'export const nothing = 1;\n');
    const r = run(['serve', '--port', '0', '--toolsets', bad]);
    expect(r.status).toBe(2); // a bad setting
    expect(r.stderr).toMatch(/does not export a Toolset/);
  });

  it('rejects an invalid config file with the offending key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-cli-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ sessions: { mailboxDepth: -1 }, nonsense: true }));
    const r = run(['serve', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sessions\.mailboxDepth/);
    expect(r.stderr).toMatch(/nonsense/);
  });

  it('prints usage for --help and the version for --version', () => {
    expect(run(['--help']).stdout).toMatch(/mcp-actors serve/);
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run(['frobnicate']).status).toBe(2);
  });

  it('loads a user toolset module by path and serves its tools', async () => {
    // Inside the project tree, so the module's `import 'zod'` resolves to the project's node_modules.
    const local = join(ROOT, 'test', 'support', `.greeter-${process.pid}.mjs`);
    writeFileSync(
      local,
      `import { z } from 'zod';
export default {
  name: 'greeter',
  register(server, ctx) {
    server.registerTool('greet', { description: 'Greets.', inputSchema: z.object({ name: z.string() }), outputSchema: z.object({ greeting: z.string(), thread: z.number() }) },
      async ({ name }) => ({ content: [{ type: 'text', text: 'hi ' + name }], structuredContent: { greeting: 'hi ' + name + (ctx.config.suffix ?? ''), thread: ctx.threadId } }));
  },
};\n`,
    );
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      server = await startServer({ args: ['--toolsets', `${local},diagnostics`], config: { toolsetConfig: { greeter: { suffix: '!' } } } });
      const s = await openSession(server.url);
      const greeting = structured(await callTool(server.url, s, 'greet', { name: 'ada' }));
      expect(greeting.greeting).toBe('hi ada!');
      expect(greeting.thread).toBeGreaterThan(0);
      const list = await send(server.url, request('tools/list'), { session: s });
      expect(list.json.result.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['greet', 'echo']));
    } finally {
      await server?.stop();
      rmSync(local, { force: true }); // even when the server did not start
    }
  });

  it('uses HOST, PORT and MCP_TOOLSETS as fallbacks, with flags winning', () => {
    const env = { HOST: '127.0.0.2', PORT: '4100', MCP_TOOLSETS: 'diagnostics' };
    expect(resolveConfig({ env })).toMatchObject({ host: '127.0.0.2', port: 4100, toolsets: ['diagnostics'] });
    expect(resolveConfig({ env, flags: { port: '4200', toolsets: 'everything' } })).toMatchObject({ host: '127.0.0.2', port: 4200, toolsets: ['everything'] });
    expect(resolveConfig({ file: { port: 1234, sessions: { requestTimeoutMs: 500 } }, env: {} })).toMatchObject({ port: 1234, sessions: { requestTimeoutMs: 500, mailboxDepth: 256 } });
    expect(() => resolveConfig({ env: { PORT: 'abc' } })).toThrow(/PORT/);
  });

  it('serves with defaults on `npm start`-style invocation (serve, no flags but a port)', async () => {
    const server = await startServer({});
    try {
      const s = await openSession(server.url);
      const list = await send(server.url, request('tools/list'), { session: s });
      expect(list.json.result.tools.some((t: { name: string }) => t.name === 'test_simple_text')).toBe(true);
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    } finally {
      await server.stop();
    }
  });
});
