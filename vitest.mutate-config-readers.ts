import { defineConfig } from 'vitest/config';

// The config readers' own tests, for their mutation testing (stryker.config-readers.mjs).
export default defineConfig({
  test: {
    include: ['test/unit/**/config.test.ts', 'test/unit/shared/env-config.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
