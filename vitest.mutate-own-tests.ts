import { defineConfig } from 'vitest/config';

// The own tests of the modules stryker.config-own-tests.mjs mutates.
export default defineConfig({
  test: {
    include: [
      'test/unit/ecr-events/log-excerpt.test.ts',
      'test/unit/codebuild/cloudwatch-logs.test.ts',
      'test/unit/ecr-events/in-use.test.ts',
      'test/unit/ecr-events/sweep/index.test.ts',
    ],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
