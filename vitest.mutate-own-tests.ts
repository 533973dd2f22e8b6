import { defineConfig } from 'vitest/config';

// The own tests of the modules stryker.config-own-tests.mjs mutates.
export default defineConfig({
  test: {
    include: [
      'test/unit/ecr-events/replication/check.test.ts',
      'test/unit/ecr-events/scans/memory.test.ts',
      'test/unit/ecr-events/notify/{deliver,webhook-secret,log-excerpt}.test.ts',
      'test/unit/codebuild/cloudwatch-logs.test.ts',
      'test/unit/ecr-events/sweep/*.test.ts',
    ],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
