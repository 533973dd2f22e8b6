// Mutation testing of ecr-events' routing, upload records and notifications:
// `node scripts/pinned-node.mjs npx stryker run stryker.config-ecr-events.mjs --mutate <file>`. Module-scope code (the phase and
// month tables, the console links) makes static mutants, which run every related test; with the
// sweep's tests among them (some 20 s a run) a pass took hours, so only the tests beside the modules
// run here (vitest.mutate-ecr-events.ts). The sweep's own modules have their own runs.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['functions/ecr-events/*.ts'],
  vitest: { configFile: 'vitest.mutate-ecr-events.ts', related: true },
  incrementalFile: 'reports/mutation/ecr-events-incremental.json',
  jsonReporter: { fileName: 'reports/mutation/ecr-events.json' },
};
