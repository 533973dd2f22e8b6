// Mutation testing of ecr-events modules against their own unit tests: the handler tests run the
// whole pipeline, reach nearly every line of these modules and made a run of them cost more than an
// hour on two shared cores. Here each module is held to its own tests (vitest.mutate-own-tests.ts);
// a mutant they miss counts as survived, whatever the handler tests might notice.
// `node scripts/pinned-node.mjs npx stryker run stryker.config-own-tests.mjs --concurrency 1 --checkers '' [--mutate <file>]`
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: [
    'functions/ecr-events/replication-check.ts',
    'functions/ecr-events/replication-watch.ts',
    'functions/ecr-events/scan-memory.ts',
    'functions/ecr-events/notify.ts',
    'functions/ecr-events/secret.ts',
    'functions/ecr-events/log-excerpt.ts',
    'functions/ecr-events/in-use.ts',
    'functions/ecr-events/stale-mark.ts',
    'functions/ecr-events/sweep.ts',
    'functions/ecr-events/sweep/read.ts',
    'functions/ecr-events/sweep/report.ts',
    'functions/ecr-events/sweep/model.ts',
  ],
  vitest: { configFile: 'vitest.mutate-own-tests.ts', related: true },
  incrementalFile: 'reports/mutation/own-tests-incremental.json',
  jsonReporter: { fileName: 'reports/mutation/own-tests.json' },
};
