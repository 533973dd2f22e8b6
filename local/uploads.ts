/**
 * Uploads build contexts to a running local cloud and follows each to its outcome, the way a user
 * (or the CLI) sees it through the AWS APIs: the upload record the build-trigger function writes,
 * then the CodeBuild build of that object version, both found by `follow/upload.ts`, the module
 * the CLI follows with (one matching rule, one wait loop); contexts are packed and uploaded by the
 * CLI's public module (`cli/index.ts`). Shared by the demo, the end-to-end tests and the build
 * benchmark.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { type Build, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { packContext, planContext, uploadContext } from '../cli/index.ts';
import {
  buildsOfUpload,
  readUploadRecord,
  UploadNotSighted,
  waitForBuildEnd,
  waitForUpload,
} from '../follow/upload.ts';
import { BUILD_EXPORTED_DIGEST } from '../functions/shared/contract.ts';
import type { UploadIdentity, UploadRecord } from '../functions/shared/upload-record.ts';
import { LOCAL_CREDENTIALS } from '../shared/local-cloud.ts';
import { writeStorageConf } from './codebuild/environment.ts';

const execFileAsync = promisify(execFile);
/** How often an upload is polled: the local cloud answers at once. */
const POLL_MS = 200;

/** What a test, the demo or the bench needs of the local cloud. */
export interface CloudEndpoint {
  endpoint: string;
  region: string;
  env: Record<string, string>;
  bucket: string;
  projectName: string;
}

/** An example under examples/: its context folder and what it declares in example.json. */
export interface Example {
  name: string;
  dir: string;
  title: string;
  repository: string;
  tag: string;
  metadata: Record<string, string>;
  expect: 'image' | 'rejected' | 'build-failed' | 'image-then-refused';
  reason?: string;
  logContains?: string;
}

/** An upload as sent: the object version it made and when. */
export interface SentUpload {
  bucket: string;
  key: string;
  versionId?: string;
  eTag?: string;
  uploadedAt: number;
}

/** How an upload ended in the local cloud: refused or failed before a build, or its build completed. */
export type UploadOutcome =
  | { kind: 'rejected' | 'failed'; record: UploadRecord; at: number }
  | { kind: 'built'; record: UploadRecord; build: Build; digest?: string; at: number };

const examplesDir = new URL('../examples/', import.meta.url).pathname;

/** The examples of examples/, in name order. */
export function readExamples(dir = examplesDir): Example[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'example.json')))
    .map((entry) => {
      const spec = JSON.parse(readFileSync(join(dir, entry.name, 'example.json'), 'utf8')) as Omit<
        Example,
        'name' | 'dir' | 'metadata'
      > & { metadata?: Record<string, string> };
      return { ...spec, metadata: spec.metadata ?? {}, name: entry.name, dir: join(dir, entry.name) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A gzipped tarball of a context folder, packed by the command-line tool's own packer (its
 * `.dockerignore` rules), with example.json left out; `extra` files are added or replace files.
 * A context without a Dockerfile is packed too: the build-trigger function is the one to refuse it.
 */
export async function tarballOf(dir: string, extra: Record<string, string> = {}): Promise<Buffer> {
  if (Object.keys(extra).length === 0) return packFolder(dir);
  // Extra files (e.g. a second upload's different content): pack a staged copy.
  const stage = mkdtempSync(join(tmpdir(), 'ecr-pipeline-pack-'));
  try {
    cpSync(dir, stage, { recursive: true });
    for (const [file, text] of Object.entries(extra)) {
      mkdirSync(join(stage, dirname(file)), { recursive: true });
      writeFileSync(join(stage, file), text);
    }
    return await packFolder(stage);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function packFolder(dir: string): Promise<Buffer> {
  const plan = await planContext({ dir, ignore: ['example.json'], dockerfileOptional: true });
  const chunks: Buffer[] = [];
  for await (const chunk of packContext(plan) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const credentials = (cloud: CloudEndpoint) => ({
  accessKeyId: cloud.env.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
  secretAccessKey: cloud.env.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
});

/** AWS clients pointed at the local cloud. */
export function clientsFor(cloud: CloudEndpoint) {
  const config = {
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: credentials(cloud),
    // A read of an object replaced while it streams can stall locally: give up and poll again.
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 5_000 },
  };
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    codebuild: new CodeBuildClient(config),
  };
}

/** Uploads a context object with its upload metadata (x-amz-meta-*), as the command-line tool does. */
export async function sendContext(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  metadata: Record<string, string> = {},
): Promise<SentUpload> {
  const uploadedAt = Date.now();
  const out = await uploadContext({ s3, bucket, key, body: Readable.from([body]), metadata });
  return {
    bucket,
    key,
    uploadedAt,
    ...(out.versionId ? { versionId: out.versionId } : {}),
    ...(out.eTag ? { eTag: out.eTag } : {}),
  };
}

/** The object version an upload is, as the shared follow module names it. */
export function identityOf(upload: SentUpload): UploadIdentity {
  return { bucket: upload.bucket, key: upload.key, versionId: upload.versionId, eTag: upload.eTag };
}

/** The upload record the build-trigger function wrote for this upload, or undefined while there is none. */
export async function readRecord(
  s3: S3Client,
  prefix: string,
  upload: SentUpload,
): Promise<UploadRecord | undefined> {
  return readUploadRecord({ s3 }, prefix, identityOf(upload));
}

/** The builds of this upload, newest first: the CLI's rule (bucket, key, version id or ETag). */
export async function buildsOf(
  codebuild: CodeBuildClient,
  projectName: string,
  upload: SentUpload,
): Promise<Build[]> {
  return buildsOfUpload({ codebuild }, projectName, identityOf(upload));
}

/**
 * Follows one upload to its end with the command-line tool's wait loop (follow/upload.ts): rejected
 * or failed before a build, or its build completed.
 */
export async function waitForOutcome(
  cloud: CloudEndpoint,
  clients: ReturnType<typeof clientsFor>,
  prefix: string,
  upload: SentUpload,
  timeoutMs = 300_000,
): Promise<UploadOutcome> {
  const deadline = Date.now() + timeoutMs;
  const late = () => new Error(`s3://${cloud.bucket}/${upload.key} reached no outcome in ${timeoutMs} ms`);
  const identity = identityOf(upload);
  const options = { project: cloud.projectName, prefix, identity, pollMs: POLL_MS, timeoutMs };
  const sighting = await waitForUpload(clients, options).catch((error: unknown) => {
    throw error instanceof UploadNotSighted ? late() : error;
  });
  if (sighting.kind === 'ended')
    return { kind: sighting.record.status, record: sighting.record, at: Date.now() };
  const build = await waitForBuildEnd(clients, sighting.build, {
    pollMs: POLL_MS,
    onPoll: () => {
      if (Date.now() > deadline) throw late();
    },
  });
  const at = Date.now();
  // The record as it stands once the build is over (the functions rewrite it as the build goes).
  const record = (await readRecord(clients.s3, prefix, upload)) ?? sighting.record;
  if (!record) throw new Error(`s3://${cloud.bucket}/${upload.key}: a build but no upload record`);
  const digest = build.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_DIGEST)?.value;
  return { kind: 'built', record, build, at, ...(digest ? { digest } : {}) };
}

/** The key prefix the build-trigger function of the local deployment watches ('' when none). */
export function keyPrefixOf(cloud: {
  deployment?: { functions: Array<{ key?: string; env: Record<string, string> }> };
}) {
  const fn = cloud.deployment?.functions.find((f) => f.env.KEY_PREFIX !== undefined);
  return fn?.env.KEY_PREFIX ?? '';
}

/** The registry password for user AWS, from GetAuthorizationToken as `docker login` would use it. */
export async function registryPassword(ecr: ECRClient): Promise<string> {
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  return Buffer.from(token.authorizationData?.[0]?.authorizationToken ?? '', 'base64')
    .toString()
    .replace(/^AWS:/, '');
}

/**
 * `skopeo inspect` of an image in the local registry, as a user would read it back; `flags` such as
 * `--raw` go before the reference. Asynchronous on purpose: the registry front may run in this process.
 */
export async function skopeoInspect<T = { Digest: string; Labels: Record<string, string> }>(
  reference: string,
  password: string,
  ...flags: string[]
): Promise<T> {
  const { stdout } = await execFileAsync('skopeo', [
    'inspect',
    ...flags,
    '--tls-verify=false',
    '--creds',
    `AWS:${password}`,
    `docker://${reference}`,
  ]);
  return JSON.parse(stdout) as T;
}

/** An OCI image index (or Docker manifest list) as `podman manifest inspect` prints it. */
export interface InspectedIndex {
  mediaType?: string;
  manifests?: { digest: string; mediaType: string; platform?: { os: string; architecture: string } }[];
}

/**
 * `podman manifest inspect` of an index in the local registry, as a user would read it back.
 * podman 4 takes no TLS or credential flags here: a registries.conf of its own marks the local
 * registry insecure (plain HTTP), an auth file of its own logs in, and an empty image store of its own
 * is looked in first: the machine's are left alone, and a broken image in the machine's store cannot
 * fail the lookup.
 */
export async function podmanManifestInspect(registry: string, reference: string, password: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ecr-pipeline-podman-'));
  try {
    const conf = join(dir, 'registries.conf');
    // podman 4.3's `manifest inspect` does not read REGISTRY_AUTH_FILE: the credentials' lookup
    // reads $XDG_RUNTIME_DIR/containers/auth.json, so the auth file sits there (for root, podman's
    // own state stays in /run and /var/lib/containers whatever XDG_RUNTIME_DIR says).
    mkdirSync(join(dir, 'containers'));
    const auth = join(dir, 'containers', 'auth.json');
    writeFileSync(conf, `[[registry]]\nlocation = "${registry}"\ninsecure = true\n`);
    const token = Buffer.from(`AWS:${password}`).toString('base64');
    writeFileSync(auth, JSON.stringify({ auths: { [registry]: { auth: token } } }));
    const { stdout } = await execFileAsync('podman', ['manifest', 'inspect', reference], {
      env: {
        ...process.env,
        CONTAINERS_REGISTRIES_CONF: conf,
        REGISTRY_AUTH_FILE: auth,
        XDG_RUNTIME_DIR: dir,
        CONTAINERS_STORAGE_CONF: writeStorageConf(dir),
      },
    });
    return JSON.parse(stdout) as InspectedIndex;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
