import { defineConfig } from 'vitest/config';

// The unit tests alone, for mutation testing (`npm run mutate`): they run in seconds with no network
// and are the tests that must notice a wrong line in what is deployed.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
