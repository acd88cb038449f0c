import { defineConfig } from 'vitest/config';

// Tests start real servers, real worker threads, real Xvfb displays, and several assert (generous)
// latency bounds for isolation: on a 2-core machine, test files run one at a time so one file's
// load never decides another file's verdict.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
