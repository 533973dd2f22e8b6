/**
 * Where the command talks to: region, endpoint, the contexts bucket, the key prefix and the CodeBuild
 * project. From flags first, then ECR_PIPELINE_* variables, then the local cloud's state file
 * (--local) or the deployed stack's outputs.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient, ListProjectsCommand } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
// The local cloud's public constants (values only, shared with local/): the --local target's defaults.
import { DEFAULT_BASE_PORT, DEFAULT_REGION, LOCAL_CREDENTIALS } from '../shared/local-cloud.ts';
import { AwsError, CliError, type ErrorScene, explain } from './errors.ts';

/** Environment variables the command reads, besides the AWS SDK's own (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL...). */
export const ENV = {
  bucket: 'ECR_PIPELINE_BUCKET',
  prefix: 'ECR_PIPELINE_PREFIX',
  project: 'ECR_PIPELINE_PROJECT',
  stack: 'ECR_PIPELINE_STACK',
  localState: 'ECR_PIPELINE_LOCAL_STATE',
} as const;

/** Serverless names the stack `<service>-<stage>`; the default stage is dev. */
export const DEFAULT_STACK = 'ecr-pipeline-dev';
/** The local cloud's default gateway (`npm start`, base port 4566). */
export const DEFAULT_LOCAL_ENDPOINT = `http://127.0.0.1:${DEFAULT_BASE_PORT}`;

/** What the local cloud writes to `.local/cloud.json` when it is up. */
export interface LocalCloudState {
  endpoint?: string;
  region?: string;
  bucket?: string;
  registry?: string;
  projectName?: string;
  prefix?: string;
  env?: Record<string, string>;
  /** The scanner the local registry scans with (trivy, grype), or null: it scans nothing. */
  scanner?: string | null;
  /** The public key of the local cloud's managed signing (PEM file). */
  signingPublicKey?: string;
}

export interface TargetFlags {
  bucket?: string | undefined;
  prefix?: string | undefined;
  project?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  stack?: string | undefined;
  local?: boolean | undefined;
}

export interface Clients {
  s3: S3Client;
  codebuild: CodeBuildClient;
  logs: CloudWatchLogsClient;
  ecr: ECRClient;
  /** `release --override` invokes the release function; `doctor` reads the functions' settings. */
  lambda: LambdaClient;
  /** `doctor`: the roles (policy simulator), the Slack webhook's parameter or secret, the SNS topic. */
  iam: IAMClient;
  ssm: SSMClient;
  secrets: SecretsManagerClient;
  sns: SNSClient;
  /** `doctor`: the EventBridge rule that sends succeeded builds to the release function. */
  events: EventBridgeClient;
}

/** A resolved target: every name the commands need, and clients configured for it. */
export interface Target {
  region: string;
  endpoint?: string | undefined;
  local: boolean;
  bucket: string;
  prefix: string;
  /** Unknown only when neither flag, variable, state file nor stack gives it; following then needs it. */
  project?: string | undefined;
  /** The AWS profile in use, for error messages. */
  profile?: string | undefined;
  /** The local cloud's registry (`host:port`); on AWS, the account's ECR registry (GetAuthorizationToken). */
  registry?: string | undefined;
  /** The local cloud's scanner (null: none); undefined on AWS or when the state file does not say. */
  localScanner?: string | null | undefined;
  /** The local cloud's signing public key (PEM file); undefined on AWS. */
  localSigningKey?: string | undefined;
  clients: Clients;
}

/** Where a command works, as its error messages name it (explain's scene); `key` when one object is meant. */
export function sceneOf(target: Target, key?: string): ErrorScene {
  return {
    bucket: target.bucket,
    ...(key !== undefined ? { key } : {}),
    endpoint: target.endpoint,
    local: target.local,
    profile: target.profile,
  };
}

/** The folder of package.json above this file: the same from cli/ (tsx) and from dist/cli/ (bundle). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Reads the local cloud's state file; undefined when there is none. */
export async function readLocalState(env: NodeJS.ProcessEnv): Promise<LocalCloudState | undefined> {
  const path = env[ENV.localState] ?? join(projectRoot(), '.local', 'cloud.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LocalCloudState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(
      `cannot read the local cloud state ${path}: ${(error as Error).message}`,
      'restart the local cloud',
    );
  }
}

export interface ClientSettings {
  region: string;
  endpoint?: string | undefined;
  profile?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/** The configuration every SDK client of one target shares. */
function clientConfig(settings: ClientSettings) {
  return {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.profile ? { profile: settings.profile } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
  };
}

/** Creates the SDK clients for one target (path-style S3 when an endpoint is set, as emulators need). */
export function createClients(settings: ClientSettings): Clients {
  const common = clientConfig(settings);
  return {
    s3: new S3Client({ ...common, forcePathStyle: Boolean(settings.endpoint) }),
    codebuild: new CodeBuildClient(common),
    logs: new CloudWatchLogsClient(common),
    ecr: new ECRClient(common),
    lambda: new LambdaClient(common),
    iam: new IAMClient(common),
    ssm: new SSMClient(common),
    secrets: new SecretsManagerClient(common),
    sns: new SNSClient(common),
    events: new EventBridgeClient(common),
  };
}

/** The outputs of the stack (empty when there is no such stack). */
export async function stackOutputs(
  settings: ClientSettings,
  stackName: string,
): Promise<Record<string, string>> {
  const cloudformation = new CloudFormationClient(clientConfig(settings));
  try {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs: Record<string, string> = {};
    for (const output of Stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
    }
    return outputs;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'ValidationError') return {}; // no such stack
    throw error;
  } finally {
    cloudformation.destroy();
  }
}

function pickOutput(outputs: Record<string, string>, pattern: RegExp): string | undefined {
  const key = Object.keys(outputs).find((name) => pattern.test(name));
  return key ? outputs[key] : undefined;
}

/** Resolves the target; `needProject` is false for commands that only upload. */
export async function resolveTarget(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target> {
  const state = flags.local ? await readLocalState(env) : undefined;
  const local = Boolean(flags.local);
  const endpoint = local
    ? (state?.endpoint ?? (env.AWS_ENDPOINT_URL || DEFAULT_LOCAL_ENDPOINT))
    : env.AWS_ENDPOINT_URL || undefined;
  const region =
    flags.region ??
    (local ? state?.region : undefined) ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    DEFAULT_REGION;
  const credentials = local
    ? {
        accessKeyId: state?.env?.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
        secretAccessKey: state?.env?.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
      }
    : undefined;
  const settings: ClientSettings = {
    region,
    endpoint,
    profile: local ? undefined : flags.profile,
    credentials,
  };

  let bucket = flags.bucket ?? env[ENV.bucket] ?? state?.bucket;
  let project = flags.project ?? env[ENV.project] ?? state?.projectName;
  const prefix = flags.prefix ?? env[ENV.prefix] ?? state?.prefix ?? '';

  const clients = createClients(settings);
  const scene = { endpoint, local, profile: local ? undefined : (flags.profile ?? env.AWS_PROFILE) };
  if (!bucket || !project) {
    try {
      if (local) {
        // No state file: the local cloud deploys one contexts bucket; find it by listing.
        const { Buckets } = await clients.s3.send(new ListBucketsCommand({}));
        const names = (Buckets ?? []).map((b) => b.Name ?? '').filter((name) => /context/i.test(name));
        if (!bucket && names.length === 1) bucket = names[0];
        if (!project) {
          const { projects } = await clients.codebuild.send(new ListProjectsCommand({}));
          if (projects?.length === 1) project = projects[0];
        }
      } else {
        const outputs = await stackOutputs(settings, flags.stack ?? env[ENV.stack] ?? DEFAULT_STACK);
        bucket ??= outputs.ContextBucketName ?? pickOutput(outputs, /bucket/i);
        project ??= outputs.BuildProjectName ?? pickOutput(outputs, /project/i);
      }
    } catch (error) {
      const explained = explain(error, scene);
      if (!local && /^access denied/.test(explained.message)) {
        throw new AwsError(
          `cannot read the stack's outputs to find the bucket and project: ${explained.message}`,
          `pass --bucket and --project (or ${ENV.bucket} / ${ENV.project}), or allow cloudformation:DescribeStacks`,
          { cause: error },
        );
      }
      throw explained;
    }
  }
  if (!bucket) {
    throw new CliError(
      local ? 'the local cloud has no contexts bucket to upload to' : 'no contexts bucket given or found',
      local
        ? 'start the local cloud with `npm start` (it writes .local/cloud.json), or pass --bucket'
        : `pass --bucket or set ${ENV.bucket}, or deploy the stack (\`npm run deploy\`) so its outputs name the bucket (stack ${flags.stack ?? env[ENV.stack] ?? DEFAULT_STACK}; --stack to choose another)`,
    );
  }
  return {
    region,
    endpoint,
    local,
    bucket,
    prefix,
    project,
    clients,
    profile: scene.profile,
    ...(state?.registry ? { registry: state.registry } : {}),
    ...(local && state?.scanner !== undefined ? { localScanner: state.scanner } : {}),
    ...(local
      ? {
          localSigningKey:
            state?.signingPublicKey ?? join(projectRoot(), '.local', 'signing', 'signing-key.pub'),
        }
      : {}),
  };
}
