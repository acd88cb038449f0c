// Tests run the real server from dist/: build once (tsc, then the worker bundle) before any test file (incremental, fast when
// nothing changed), so `npx vitest run <file>` works on its own too. SKIP_BUILD=1 skips it when
// you have just built.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  if (process.env.SKIP_BUILD === '1') return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/bundle-workers.mjs'], { stdio: 'inherit' });
}
