import { defineConfig } from 'vitest/config';

// Tests start real servers, real worker threads, real Xvfb displays: give them room, and keep
// file-level parallelism modest on a 2-core machine so timing-sensitive assertions stay honest.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    reporters: ['default'],
  },
});
