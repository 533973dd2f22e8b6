// Mutation testing of the shared contract: `node scripts/pinned-node.mjs npx stryker run stryker.config-contract.mjs`.
// Its names are constants read at module load, so Stryker counts every mutant as static and would
// run each against every test that imports the contract (hundreds); the tests that hold the names
// to their readers outside TypeScript (templates, buildspec, README) and to the wire are run instead.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['functions/shared/contract.ts'],
  vitest: { configFile: 'vitest.mutate-contract.ts', related: true },
  incrementalFile: 'reports/mutation/contract-incremental.json',
  jsonReporter: { fileName: 'reports/mutation/contract.json' },
};
