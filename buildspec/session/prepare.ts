/**
 * What a build asks of AWS before it builds: credentials of its own session (AssumeRole with the
 * session policy of policy.ts), then, at once, exactly the uploaded object with its metadata and the
 * registry password of that session. One Node.js process with the AWS SDK instead of one `aws` CLI
 * start-up per call.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SessionScope, sessionName, sessionPolicy } from './policy.ts';

/** Temporary credentials, as AssumeRole gives them and the SDK clients take them. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** The files prepare writes into the work folder (build-image.sh and extract.py read them). */
export const FILES = {
  archive: 'context.archive',
  object: 'object.json',
  password: 'registry-password',
} as const;

export interface PrepareInput extends SessionScope {
  /** Empty when the bucket is not versioned: then the ETag names the object (If-Match). */
  versionId: string;
  eTag: string;
  buildId: string;
  /** How long the session lasts, in seconds (the build's timeout, within the role's maximum). */
  sessionSeconds: number;
  workDir: string;
}

/** STS AssumeRole with a session policy, as the session helpers call it (main.ts wires the SDK in). */
export type AssumeRole = (input: {
  RoleArn: string;
  RoleSessionName: string;
  Policy: string;
  DurationSeconds: number;
}) => Promise<SessionCredentials>;

export interface PrepareDeps {
  assumeRole: AssumeRole;
  clients: (credentials: SessionCredentials) => { s3: S3Client; ecr: ECRClient };
  say: (line: string) => void;
}

/** A step failed; the message names the step and what AWS said. */
export class PrepareError extends Error {
  override name = 'PrepareError';
}

const described = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new PrepareError(`${what} failed (${described(error)})`, { cause: error });
  }
}

/** Exactly the uploaded object: its version, or in an unversioned bucket its ETag. */
async function fetchContext(s3: S3Client, input: PrepareInput): Promise<void> {
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      ...(input.versionId !== ''
        ? { VersionId: input.versionId }
        : input.eTag !== ''
          ? { IfMatch: `"${input.eTag}"` }
          : {}),
    }),
  );
  if (!(out.Body instanceof Readable)) throw new Error('the object has no body stream');
  await pipeline(out.Body, createWriteStream(join(input.workDir, FILES.archive), { mode: 0o600 }));
  // The shape of `aws s3api get-object`'s answer, which extract.py reads.
  const answer = { Metadata: out.Metadata ?? {}, VersionId: out.VersionId, ETag: out.ETag };
  await writeFile(join(input.workDir, FILES.object), JSON.stringify(answer), { mode: 0o600 });
}

/** The registry password of the session (GetAuthorizationToken: base64 of `AWS:<password>`). */
async function registryPassword(ecr: ECRClient, input: PrepareInput): Promise<void> {
  const out = await ecr.send(new GetAuthorizationTokenCommand({}));
  const token = out.authorizationData?.[0]?.authorizationToken;
  if (!token) throw new Error('no authorization token in the answer');
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  if (!decoded.startsWith('AWS:')) throw new Error('the authorization token is not AWS:<password>');
  await writeFile(join(input.workDir, FILES.password), decoded.slice('AWS:'.length), { mode: 0o600 });
}

/** Assumes the build's session, then fetches the context and the registry password at once. */
export async function prepare(deps: PrepareDeps, input: PrepareInput): Promise<void> {
  const policy = sessionPolicy(input);
  const credentials = await step(`assuming ${input.roleArn}`, () =>
    deps.assumeRole({
      RoleArn: input.roleArn,
      RoleSessionName: sessionName(input.buildId),
      Policy: policy,
      DurationSeconds: input.sessionSeconds,
    }),
  );
  deps.say(
    `session ${sessionName(input.buildId)}: ${input.repository} and s3://${input.bucket}/${input.key} only`,
  );
  const { s3, ecr } = deps.clients(credentials);
  const exact = input.versionId !== '' ? ` (version ${input.versionId})` : '';
  await Promise.all([
    step(`fetching s3://${input.bucket}/${input.key}${exact}`, () => fetchContext(s3, input)),
    step('asking ECR for a registry password', () => registryPassword(ecr, input)),
  ]);
  deps.say(`fetched s3://${input.bucket}/${input.key}${exact} and a registry password`);
}
