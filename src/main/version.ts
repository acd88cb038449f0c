/** The package version, read once from package.json (dist/src/main → the package root). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const VERSION = packageVersion();
