import { defineConfig } from 'vitest/config';

// ecr-events' tests without the sweep's, for the mutation testing of stryker.config-ecr-events.mjs.
export default defineConfig({
  test: {
    include: ['test/unit/ecr-events/**/*.test.ts'],
    exclude: ['test/unit/ecr-events/sweep/{act,discover,judge,model,read,report,sweep,throttling}.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
  },
});
