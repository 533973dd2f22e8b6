import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/template/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // The end-to-end suites share one local cloud per file and real ports: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
