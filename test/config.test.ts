/**
 * The configuration reference in README.md is generated from the one schema; this keeps it true.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, parseConfig } from '../src/main/config.js';
import { ROOT } from './support/server.js';

describe('configuration reference', () => {
  it('README.md lists every setting exactly as the schema defines it (npm run config-docs -- --write)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/config-docs.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('documents every top-level section and every default with a meaning', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('<!-- config:start -->'), readme.indexOf('<!-- config:end -->'));
    for (const key of Object.keys(configSchema.shape)) expect(table, key).toContain(`| \`${key}`);
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) expect(row.split('|')[4]!.trim(), row).not.toBe('');
  });

  it('the defaults parse and are what the README says for a few load-bearing keys', () => {
    const c = parseConfig({});
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(3000);
    expect(c.http.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(c.sessions.requestTimeoutMs).toBe(15_000);
  });
});
