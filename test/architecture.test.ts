/**
 * The shape of the code (.dependency-cruiser.cjs): no import cycles, nothing outside test/ imports
 * test/, and no file imports code of another thread (src/main, src/actor, src/host, src/shared and
 * the same split inside each integration).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/server.js';

describe('architecture', () => {
  it('has no import cycle, no import of test code outside test/, and no import across thread boundaries', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), 'src', 'workers', 'bench', 'test', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/no dependency violations found/);
  });
});
