#!/usr/bin/env node
// Packages the stack offline into .serverless/ (CloudFormation template and one zip per function),
// with the open-source Serverless Framework (osls). No AWS account or login is needed: packaging
// never calls AWS, so placeholder credentials only satisfy the framework's credential check.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(`${root}dist`)) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}
const env = {
  AWS_ACCESS_KEY_ID: 'packaging-needs-no-credentials',
  AWS_SECRET_ACCESS_KEY: 'packaging-needs-no-credentials',
  AWS_REGION: 'us-east-1',
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
};
const result = spawnSync('npx', ['--no-install', 'serverless', 'package', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
