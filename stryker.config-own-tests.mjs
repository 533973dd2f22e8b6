// Mutation testing of modules whose code at module load (patterns, constants) Stryker counts as
// static: it runs every related test for each such mutant, and for the build-log excerpt and the
// image-reference parser that is every ecr-events handler test. Here each module is held to its own
// tests (vitest.mutate-own-tests.ts); a mutant they miss counts as survived.
// `npx stryker run stryker.config-own-tests.mjs --concurrency 1 --checkers ''`
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['functions/ecr-events/log-excerpt.ts', 'functions/ecr-events/in-use.ts'],
  vitest: { configFile: 'vitest.mutate-own-tests.ts', related: true },
  incrementalFile: 'reports/mutation/own-tests-incremental.json',
  jsonReporter: { fileName: 'reports/mutation/own-tests.json' },
};
