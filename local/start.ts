/**
 * `npm start`: installs what is missing (scripts/setup.mjs), brings the local cloud up, prints how to
 * use it and stays up until Ctrl-C, then stops every process it started.
 *
 * Options (local/start-options.ts; `npm start -- --help` lists them): --base-port N, --data-dir DIR,
 * --region R, --schedule-interval MS, --skip-setup, --iam on|off, and --param name=value, the stack
 * parameters `serverless deploy --param` takes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BASE_PORT } from '../shared/local-cloud.ts';
import { installBaseImage } from './base-image.ts';
import { preparePackage, startLocalCloud } from './cloud.ts';
import { packageLocalStack } from './package.ts';
import { findScanner } from './scanner.ts';
import {
  parseStartOptions,
  type StartOptions,
  StartUsageError,
  stackParameters,
  startHelp,
} from './start-options.ts';

const parameters = stackParameters();
let options: StartOptions;
try {
  options = parseStartOptions(process.argv.slice(2), Object.keys(parameters));
} catch (error) {
  if (!(error instanceof StartUsageError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(2);
}
if (options.help) {
  console.log(startHelp(parameters));
  process.exit(0);
}

const root = new URL('..', import.meta.url).pathname;
if (!options.skipSetup) {
  const setup = spawnSync('node', ['scripts/setup.mjs'], { cwd: root, stdio: 'inherit' });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}

// Ctrl-C while it comes up: stop as soon as it is up (startLocalCloud cleans up itself if it fails).
let interrupted: string | undefined;
const early = (signal: string) => {
  interrupted = signal;
};
process.on('SIGINT', early);
process.on('SIGTERM', early);

const started = Date.now();
const log = (line: string) => console.log(line);
// With --param, the stack is packaged with those values, as `serverless deploy --param` would.
let templatePath: string | undefined;
if (Object.keys(options.params).length > 0) {
  preparePackage(log);
  const name = createHash('sha256').update(JSON.stringify(options.params)).digest('hex').slice(0, 12);
  try {
    templatePath = packageLocalStack(
      log,
      options.params,
      join(root, '.local', 'package', `params-${name}.json`),
    );
  } catch (error) {
    console.error(
      `npm start: the stack does not package with these parameters:\n${(error as Error).message}`,
    );
    process.exit(2);
  }
}
const cloud = await startLocalCloud({
  basePort: Number(options.basePort ?? process.env.LOCAL_CLOUD_BASE_PORT ?? DEFAULT_BASE_PORT),
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  ...(options.region ? { region: options.region } : {}),
  ...(options.scheduleInterval !== undefined ? { scheduleIntervalMs: Number(options.scheduleInterval) } : {}),
  ...(templatePath ? { templatePath } : {}),
  iam: options.iam,
  log,
});

// The base image the examples build FROM (there is no Docker Hub here), and the state file that
// `ecr-pipeline submit --local` reads to find the endpoint, the bucket and the build project.
const base = await installBaseImage(cloud);
const statePath = join(root, '.local', 'cloud.json');
mkdirSync(join(root, '.local'), { recursive: true });
writeFileSync(
  statePath,
  JSON.stringify(
    {
      endpoint: cloud.endpoint,
      region: cloud.region,
      bucket: cloud.bucket,
      registry: cloud.registry,
      projectName: cloud.projectName,
      env: cloud.env,
      scanner: findScanner()?.name ?? null,
      signingPublicKey: cloud.signingPublicKey,
    },
    null,
    2,
  ),
);

const exports = Object.entries(cloud.env)
  .map(([name, value]) => `export ${name}=${value}`)
  .join('\n  ');
console.log(`
The local cloud is up (${((Date.now() - started) / 1000).toFixed(1)} s). Data: ${cloud.dataDir}

  AWS endpoint   ${cloud.endpoint}   (S3, ECR, SQS, SNS, EventBridge, SSM, Secrets Manager, Logs, CodeBuild)
  registry       ${cloud.registry}   (ECR repositoryUri hosts point here; plain HTTP)
  bucket         ${cloud.bucket}
  build project  ${cloud.projectName}
  base image     ${base.reference}@${base.digest}   (FROM it in your Dockerfiles)
  state file     ${statePath}   (read by \`npx ecr-pipeline submit --local\`)
  Slack sink     http://127.0.0.1:${cloud.ports.slack}/services/local/webhook
  functions      ${cloud.deployment.functions.map((f) => f.key).join(', ')} (logs in ${cloud.dataDir}/logs)
  parameters     ${
    Object.entries(options.params)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ') || 'the defaults (npm start -- --help lists them)'
  }
  IAM            ${options.iam ? `enforced; usage report at Ctrl-C in ${cloud.dataDir}/iam-report.txt` : 'off (--iam off)'}

In another shell:
  ${exports}

Upload a build context (the key names repository and tag, see "Uploading a build context"):
  aws s3 cp context.tar.gz s3://${cloud.bucket}/my-project/my-app/v1.tar.gz

With the AWS SDK for JavaScript: the variables above are enough (the SDK reads AWS_ENDPOINT_URL;
the endpoint is an IP address, so S3 uses path-style requests).

Log in to the registry and pull what was built:
  aws ecr get-login-password | podman login --username AWS --password-stdin --tls-verify=false ${cloud.registry}
  podman pull --tls-verify=false ${cloud.registry}/my-project/my-app:v1

Ctrl-C stops everything.`);

let stopping = false;
process.off('SIGINT', early);
process.off('SIGTERM', early);
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the local cloud`);
  rmSync(statePath, { force: true });
  await cloud.stop();
  console.log('stopped; all ports are free');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
if (interrupted) void shutdown(interrupted);
// A parent that dies without a signal to its group (npm killed with SIGKILL, a runner's timeout)
// leaves this process to init: stop then as on Ctrl-C. (The services also watch this process.)
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown('parent process gone');
}, 500).unref();
