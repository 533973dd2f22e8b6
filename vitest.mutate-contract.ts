import { defineConfig } from 'vitest/config';

// The tests that state the shared contract's names, for its mutation testing (stryker.config-contract.mjs).
export default defineConfig({
  test: {
    include: [
      'test/unit/shared/contract.test.ts',
      'test/unit/codebuild/buildspec.test.ts',
      'test/unit/build-trigger/{trigger,reject,start-build}.test.ts',
      'test/unit/ecr-events/uploads/record-transition.test.ts',
    ],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
