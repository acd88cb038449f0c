/**
 * How actor threads boot (issue 15): from the one-file worker bundle with a V8 code cache, through
 * the real server. A first server finds no cache and writes one; a second server with the same
 * directory boots every thread from it; an unsafe directory is refused with a warning; the module
 * graph still works when asked for. Every variant serves both eras.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, startServer, type ServerProcess } from '../support/server.js';
import { callTool, modernTool, openSession, structured } from '../support/mcp-http.js';
import { metric, waitFor } from '../support/wait.js';

const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(warmPool: Record<string, unknown>): Promise<ServerProcess> {
  const s = await startServer({ toolsets: ['diagnostics'], config: { warmPool: { min: 2, ...warmPool } } });
  servers.push(s);
  return s;
}

/** Both eras answer an echo. */
async function answers(s: ServerProcess): Promise<void> {
  const sid = await openSession(s.url);
  const legacy = await callTool(s.url, sid, 'echo', { text: 'legacy' });
  expect(structured(legacy)?.text ?? JSON.stringify(legacy.json)).toBe('legacy');
  const modern = await modernTool(s.url, 'echo', { text: 'modern' });
  expect(modern.json?.result?.structuredContent?.text).toBe('modern');
}

const boots = (s: ServerProcess, kind: string) => metric(s, 'mcp_actors_actor_boot_seconds_count', `boot="${kind}"`);

describe('actor thread boot', () => {
  it('bundles the built-in toolsets with the SDK, and never ccxt (it runs only in exchange-host threads)', () => {
    const inputs = JSON.parse(readFileSync(join(ROOT, 'dist/workers/session.bundle.inputs.json'), 'utf8')) as string[];
    for (const t of ['actor/toolsets/everything/index.js', 'actor/toolsets/diagnostics/index.js', 'integrations/ccxt/actor/index.js', 'integrations/cua/actor/index.js'])
      expect(inputs.some((i) => i.endsWith(`dist/src/${t}`))).toBe(true);
    expect(inputs.some((i) => i.includes('node_modules/@modelcontextprotocol/server/'))).toBe(true);
    expect(inputs.filter((i) => /node_modules\/ccxt\//.test(i))).toEqual([]);
  });

  it('writes a code cache when there is none, and a later server boots every thread from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-cache-'));
    const first = await serve({ codeCacheDir: dir });
    await answers(first);
    expect(await boots(first, 'missing')).toBeGreaterThan(0);
    const file = await waitFor('the code cache file', () => readdirSync(dir).find((f) => f.endsWith('.v8cache')), 20_000);
    await first.stop();

    const second = await serve({ codeCacheDir: dir });
    await answers(second);
    await waitFor('threads booted from the cache', async () => (await boots(second, 'used')) >= 2);
    expect(await boots(second, 'missing')).toBe(0);
    expect(await boots(second, 'rejected')).toBe(0);
    expect(existsSync(join(dir, file))).toBe(true);
  }, 60_000);

  it('keeps the cache directory bounded: older caches of other builds and abandoned temporary files are removed at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-cache-'));
    const stale = Array.from({ length: 6 }, (_, i) => `session-${'a'.repeat(19)}${i}.v8cache`);
    stale.forEach((f, i) => {
      writeFileSync(join(dir, f), 'stale');
      utimesSync(join(dir, f), 1_000 + i, 1_000 + i); // the last one is the newest
    });
    writeFileSync(join(dir, 'notes.txt'), 'not a cache');
    // Temporary files of writes that never finished: an old one goes, a recent one (a write that
    // may be under way) stays.
    const abandoned = `session-${'b'.repeat(20)}.v8cache.123.abc.tmp`;
    const recent = `session-${'b'.repeat(20)}.v8cache.456.def.tmp`;
    writeFileSync(join(dir, abandoned), 'half');
    utimesSync(join(dir, abandoned), Date.now() / 1000 - 3_600, Date.now() / 1000 - 3_600);
    writeFileSync(join(dir, recent), 'half');
    const s = await serve({ codeCacheDir: dir });
    await answers(s);
    const left = readdirSync(dir);
    expect(left.filter((f) => stale.includes(f)).sort()).toEqual(stale.slice(3).sort());
    expect(left).toContain('notes.txt');
    expect(left).not.toContain(abandoned);
    expect(left).toContain(recent);
  }, 30_000);

  it('refuses a cache directory others may write, says why, and still serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-cache-'));
    chmodSync(dir, 0o777);
    const s = await serve({ codeCacheDir: dir });
    await answers(s);
    expect(s.logs().some((l) => String(l.msg).includes('not using this code cache directory') && String(l.why).includes('writable by group or others'))).toBe(true);
    expect(await boots(s, 'off')).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);

  it('boots from the module graph when the bundle is turned off', async () => {
    const s = await serve({ bundle: false });
    await answers(s);
    expect(await boots(s, 'graph')).toBeGreaterThan(0);
    expect(await boots(s, 'used')).toBe(0);
  }, 30_000);
});
