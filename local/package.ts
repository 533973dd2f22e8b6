/**
 * The stack the local cloud deploys, packaged with the parameters a user of the local cloud would
 * pass (`serverless deploy --param=...`): the base images it installs live in private repositories
 * the build must be allowed to pull from. Packaged apart from `.serverless/` (the default package,
 * which the template tests read), from a copy of the service folder, because `serverless package`
 * empties `.serverless/` of the folder it runs in.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REGION } from '../shared/local-cloud.ts';
import { BASE_IMAGE_REPOSITORY } from './base-image.ts';

const root = new URL('..', import.meta.url).pathname;

/** `--param` values of the local cloud's stack. */
export const LOCAL_STACK_PARAMS: Readonly<Record<string, string>> = {
  // installBaseImage pushes library/busybox; FROM busybox resolves to it.
  basePullPattern: `${BASE_IMAGE_REPOSITORY.split('/')[0]}/*`,
};

/** Where the local cloud's packaged template is kept. */
export const LOCAL_TEMPLATE = join(root, '.local', 'package', 'cloudformation-template-update-stack.json');

/**
 * Packages the stack with LOCAL_STACK_PARAMS, and `params` over them (`npm start -- --param`), into
 * `out` (atomically: concurrent starts are safe).
 */
export function packageLocalStack(
  log: (line: string) => void,
  params: Readonly<Record<string, string>> = {},
  out: string = LOCAL_TEMPLATE,
): string {
  const args = Object.entries({ ...LOCAL_STACK_PARAMS, ...params }).map(
    ([name, value]) => `--param=${name}=${value}`,
  );
  log(`prepare: serverless package ${args.join(' ')}`);
  mkdirSync(join(root, '.local', 'package'), { recursive: true });
  const dir = mkdtempSync(join(root, '.local', 'package', 'work-'));
  try {
    copyFileSync(join(root, 'serverless.yml'), join(dir, 'serverless.yml'));
    for (const name of ['resources', 'buildspec', 'dist', 'node_modules', 'package.json']) {
      symlinkSync(join(root, name), join(dir, name));
    }
    const run = spawnSync(join(root, 'node_modules', '.bin', 'serverless'), ['package', ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        AWS_ACCESS_KEY_ID: 'packaging-needs-no-credentials',
        AWS_SECRET_ACCESS_KEY: 'packaging-needs-no-credentials',
        AWS_REGION: DEFAULT_REGION,
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
    });
    if (run.status !== 0) throw new Error(`serverless package failed:\n${run.stdout}${run.stderr}`);
    renameSync(join(dir, '.serverless', 'cloudformation-template-update-stack.json'), out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
