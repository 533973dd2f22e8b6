// Mutation testing of the config readers: `node scripts/pinned-node.mjs npx stryker run stryker.config-readers.mjs`.
// Every handler test loads a function's config at module load, so Stryker counts these mutants as
// static and would run some 160 tests for each; the config tests are the ones that state the rules,
// so only they run here (a mutant they miss counts as survived, whatever other tests might notice).
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['functions/shared/env-config.ts', 'functions/*/config.ts'],
  vitest: { configFile: 'vitest.mutate-config-readers.ts', related: true },
  incrementalFile: 'reports/mutation/config-readers-incremental.json',
  jsonReporter: { fileName: 'reports/mutation/config-readers.json' },
};
