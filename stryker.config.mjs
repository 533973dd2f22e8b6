// Mutation testing of what is deployed (functions/) and of the CLI's packing and validation:
// `npm run mutate` (slow on two cores: not part of `npm test`). Incremental: a rerun after a small
// change tests only the mutants the change touched. Reports under reports/mutation/.
//
// Narrower runs are chosen on the command line, not by another config file:
// - MUTATION_SET=<name> picks one of the sets below (what is mutated, which tests may kill it, where
//   the reports go): `MUTATION_SET=contract node scripts/pinned-node.mjs npx stryker run`;
// - Stryker's own arguments narrow further: `--mutate <file>[:<lines>]`, `--testFiles <glob>`,
//   `--concurrency 1 --checkers ''` (no type check), `--force` (ignore the incremental report).
// Tests run with the root vitest.config.ts; `testFiles` keeps a set to its unit tests (the end-to-end
// project is never run). The type checker reads tsconfig.json: a mutant that breaks the types of the
// code or of its tests counts as a compile error, as `tsc --noEmit` in `npm test` would report it.

/**
 * The mutation runs, by name. Each names the files it mutates, the test files that may kill its
 * mutants (a mutant they miss counts as survived, whatever other tests might notice) and the stem
 * of its report files.
 */
const SETS = {
  // Everything deployed, against every unit test.
  all: {
    mutate: ['functions/**/*.ts', '!functions/**/sdk/**', 'cli/context.ts', 'cli/args.ts', 'cli/secrets.ts'],
    testFiles: ['test/unit/**/*.test.ts'],
    reports: { incremental: 'stryker-incremental', json: 'mutation' },
  },
  // The shared contract. Its names are constants read at module load, so Stryker counts every mutant
  // as static and would run each against every test that imports the contract (hundreds); the tests
  // that hold the names to their readers outside TypeScript (templates, buildspec, README) and to the
  // wire are run instead.
  contract: {
    mutate: ['functions/shared/contract.ts'],
    testFiles: [
      'test/unit/shared/contract.test.ts',
      'test/unit/codebuild/buildspec.test.ts',
      'test/unit/build-trigger/{trigger,reject,start-build}.test.ts',
      'test/unit/ecr-events/uploads/record-transition.test.ts',
    ],
  },
  // The config readers. Every handler test loads a function's config at module load, so Stryker counts
  // these mutants as static and would run some 160 tests for each; the config tests state the rules.
  'config-readers': {
    mutate: ['functions/shared/env-config.ts', 'functions/*/config.ts'],
    testFiles: ['test/unit/**/config.test.ts', 'test/unit/shared/env-config.test.ts'],
  },
  // ecr-events' routing, upload records and notifications (`--mutate <file>`). Module-scope code (the
  // phase and month tables, the console links) makes static mutants, which run every related test;
  // with the sweep's stage tests among them (some 20 s a run) a pass took hours, so only the tests of
  // the other jobs run here. The sweep's stages have their own run (own-tests).
  'ecr-events': {
    mutate: [
      'functions/ecr-events/*.ts',
      'functions/ecr-events/{notify,uploads,scans,replication,release,origin}/*.ts',
      'functions/ecr-events/sweep/{run,sweep,running-builds,in-use,stale-mark}.ts',
    ],
    testFiles: [
      'test/unit/ecr-events/*.test.ts',
      'test/unit/ecr-events/{notify,uploads,scans,replication,release,origin}/*.test.ts',
      'test/unit/ecr-events/sweep/{running-builds,in-use,stale-mark}.test.ts',
    ],
  },
  // ecr-events modules against their own unit tests: the handler tests run the whole pipeline, reach
  // nearly every line of these modules and made a run of them cost more than an hour on two shared
  // cores. Run with `--concurrency 1 --checkers ''`.
  // The command's small modules, each by its own tests (MUTATION_SET=cli; --mutate narrows further).
  // `doctor`, `status` and the scan plan are also run through `main` by the exit-code tests.
  cli: {
    mutate: [
      'cli/{suggest,failure,log-filter,context-hash}.ts',
      'cli/{doctor,doctor-settings,doctor-roles,status,scan-plan,scan-gate,leg-progress}.ts',
    ],
    testFiles: [
      'test/unit/cli/{suggest,failure,log-filter,context-hash}.test.ts',
      'test/unit/cli/{doctor,doctor-settings,doctor-roles,status,scan-plan,scan-gate,submit-scan,legs,exit-codes}.test.ts',
    ],
  },
  // The registry-settings custom resource's merges (replication, scanning, signing) and blob mounting,
  // each by its own tests (the handler and the clients are glue).
  'registry-settings': {
    mutate: ['functions/registry-settings/{merge,rules,signing,blob-mounting,respond,apply}.ts'],
    testFiles: ['test/unit/registry-settings/{merge,rules,signing,blob-mounting,respond,apply}.test.ts'],
  },
  // Base images through ECR's pull-through cache: the packaging-time rules, creation templates and IAM
  // statements (resources/pull-through-cache.cjs) and the build session's policy, which reads the
  // rules' prefixes, each by its own unit tests. The .cjs is loaded with require(), outside Vite's
  // module graph, so Vitest cannot relate tests to it: the set's test files run as listed.
  'pull-through': {
    mutate: ['resources/pull-through-cache.cjs', 'buildspec/session/policy.ts'],
    testFiles: [
      'test/unit/resources/pull-through-cache.test.ts',
      'test/unit/codebuild/build-session.test.ts',
    ],
    related: false,
  },
  // The release function's domain modules, by their own tests (the handler and the clients are glue).
  release: {
    mutate: ['functions/release/*.ts', '!functions/release/{handler,clients,deps}.ts'],
    testFiles: ['test/unit/release/*.test.ts'],
  },
  // The supply chain's referrers, provenance and verify, each against its own tests (which start the
  // distribution registry: `--concurrency 1 --checkers ''`).
  'supply-chain': {
    mutate: ['shared/oci/*.ts', 'buildspec/session/{attest,provenance}.ts', 'cli/verify.ts'],
    testFiles: [
      'test/unit/shared/oci/*.test.ts',
      'test/unit/codebuild/attest.test.ts',
      'test/unit/cli/verify.test.ts',
    ],
  },
  'own-tests': {
    mutate: [
      'functions/ecr-events/replication/check.ts',
      'functions/ecr-events/replication/watch.ts',
      'functions/ecr-events/scans/memory.ts',
      'functions/ecr-events/notify/deliver.ts',
      'functions/ecr-events/notify/webhook-secret.ts',
      'functions/ecr-events/notify/log-excerpt.ts',
      'functions/ecr-events/sweep/in-use.ts',
      'functions/ecr-events/sweep/stale-mark.ts',
      'functions/ecr-events/sweep/sweep.ts',
      'functions/ecr-events/sweep/read.ts',
      'functions/ecr-events/sweep/report.ts',
      'functions/ecr-events/sweep/model.ts',
    ],
    testFiles: [
      'test/unit/ecr-events/replication/check.test.ts',
      'test/unit/ecr-events/scans/memory.test.ts',
      'test/unit/ecr-events/notify/{deliver,webhook-secret,log-excerpt}.test.ts',
      'test/unit/codebuild/cloudwatch-logs.test.ts',
      'test/unit/ecr-events/sweep/*.test.ts',
    ],
  },
};

const name = process.env.MUTATION_SET || 'all';
const set = SETS[name];
if (!set) {
  throw new Error(`MUTATION_SET must be one of ${Object.keys(SETS).join(', ')}, not "${name}"`);
}
const reports = set.reports ?? { incremental: `${name}-incremental`, json: name };

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: set.mutate,
  testFiles: set.testFiles,
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: set.related ?? true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  incremental: true,
  incrementalFile: `reports/mutation/${reports.incremental}.json`,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${reports.json}.json` },
  clearTextReporter: { reportTests: false, reportMutants: false, reportScoreTable: true },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
