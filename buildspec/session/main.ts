/**
 * build-session.mjs: the build's AWS calls before it builds (prepare.ts), bundled with the AWS SDK
 * by scripts/build.mjs and embedded in the buildspec; run with the Node.js of the build image.
 *
 * usage: node build-session.mjs <work-dir>
 *        node build-session.mjs --secrets <work-dir>   (the build secrets, secrets.ts; exits 2 on a refusal)
 *        node build-session.mjs --attest <work-dir> <context-dir>   (SBOMs and provenance, attest-run.ts)
 * Environment: BUILD_SESSION_ROLE_ARN, BASE_PULL_PATTERN, PULL_THROUGH_CACHE, BUILD_TIMEOUT_MINUTES (project
 *   variables), CONTEXT_BUCKET,
 *   CONTEXT_KEY, CONTEXT_VERSION_ID, CONTEXT_ETAG, IMAGE_REPOSITORY (build variables),
 *   BUILD_TIMEOUT_MINUTES (the session lasts as long), AWS_REGION, CODEBUILD_BUILD_ID.
 * Exits 1 with one line that starts "ecr-pipeline:" when a call fails.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { ConfigError, integer, text } from '../../functions/shared/env-config.ts';
import { endpointConfigured } from '../../functions/shared/lazy.ts';
import { AttestError } from './attest.ts';
import { runAttest } from './attest-run.ts';
import { ScopeError } from './policy.ts';
import { PrepareError, prepare, type SessionCredentials } from './prepare.ts';
import { fetchSecrets, SecretRefused } from './secrets.ts';

const env = process.env;
const requestHandler = { connectionTimeout: 3000, requestTimeout: 30000 };

function assumer(region: string) {
  // The default chain: CodeBuild's container credentials (the project's service role), or the
  // variables a local build gets. STS's client has no default of its own.
  const sts = new STSClient({ region, requestHandler, credentials: defaultProvider() });
  return async (input: {
    RoleArn: string;
    RoleSessionName: string;
    Policy: string;
    DurationSeconds: number;
  }): Promise<SessionCredentials> => {
    const out = await sts.send(new AssumeRoleCommand(input));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new Error('AssumeRole answered without credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  };
}

const say = (line: string) => console.log(`ecr-pipeline: [${Math.round(process.uptime())}s] ${line}`);
const sessionSeconds = () =>
  // As long as the build may run, within what STS grants (15 minutes to 12 hours).
  Math.min(43200, Math.max(900, integer(env, 'BUILD_TIMEOUT_MINUTES', 60, 5, 2160) * 60));

async function main(): Promise<void> {
  const region = text(env, 'AWS_REGION', env.AWS_DEFAULT_REGION);
  if (process.argv[2] === '--attest') {
    const [workDir, contextDir] = process.argv.slice(3);
    if (!workDir || !contextDir)
      throw new ConfigError('usage: build-session.mjs --attest <work-dir> <context-dir>');
    await runAttest(
      {
        assumeRole: assumer(region),
        ecr: (credentials) => new ECRClient({ region, credentials, requestHandler }),
        say,
      },
      env,
      {
        workDir,
        contextDir,
        region,
        sessionSeconds: sessionSeconds(),
        buildId: text(env, 'CODEBUILD_BUILD_ID', `local-${process.pid}`),
      },
    );
    return;
  }
  if (process.argv[2] === '--secrets') {
    const workDir = process.argv[3];
    if (!workDir) throw new ConfigError('usage: build-session.mjs --secrets <work-dir>');
    await fetchSecrets(
      {
        assumeRole: assumer(region),
        clients: (credentials) => ({
          ssm: new SSMClient({ region, credentials, requestHandler }),
          secrets: new SecretsManagerClient({ region, credentials, requestHandler }),
        }),
        say,
      },
      {
        roleArn: text(env, 'BUILD_SESSION_ROLE_ARN'),
        region,
        buildId: text(env, 'CODEBUILD_BUILD_ID', `local-${process.pid}`),
        sessionSeconds: sessionSeconds(),
        workDir,
      },
    );
    return;
  }
  const workDir = process.argv[2];
  if (!workDir) throw new ConfigError('usage: build-session.mjs <work-dir>');
  await prepare(
    {
      assumeRole: assumer(region),
      clients: (credentials) => ({
        // Emulators (the local cloud's moto) serve buckets by path, not by host name.
        s3: new S3Client({
          region,
          credentials,
          requestHandler,
          forcePathStyle: endpointConfigured('S3', env),
        }),
        ecr: new ECRClient({ region, credentials, requestHandler }),
      }),
      say,
    },
    {
      roleArn: text(env, 'BUILD_SESSION_ROLE_ARN'),
      region,
      bucket: text(env, 'CONTEXT_BUCKET'),
      key: text(env, 'CONTEXT_KEY'),
      versionId: text(env, 'CONTEXT_VERSION_ID', ''),
      eTag: text(env, 'CONTEXT_ETAG', ''),
      repository: text(env, 'IMAGE_REPOSITORY'),
      basePullPattern: text(env, 'BASE_PULL_PATTERN', ''),
      pullThroughCache: text(env, 'PULL_THROUGH_CACHE', ''),
      signingProfileArn: text(env, 'SIGNING_PROFILE_ARN', ''),
      buildId: text(env, 'CODEBUILD_BUILD_ID', `local-${process.pid}`),
      sessionSeconds: sessionSeconds(),
      workDir,
    },
  );
}

main().catch((error: unknown) => {
  const known =
    error instanceof SecretRefused ||
    error instanceof PrepareError ||
    error instanceof ScopeError ||
    error instanceof ConfigError ||
    error instanceof AttestError;
  const message = known
    ? error.message
    : `unexpected failure: ${error instanceof Error ? error.stack : error}`;
  console.error(`ecr-pipeline: ${message.replace(/[\r\n]+/g, ' ')}`);
  // 2: the upload asked for a build secret that cannot be read (a refusal, not a fault).
  process.exit(error instanceof SecretRefused ? 2 : 1);
});
