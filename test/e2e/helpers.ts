/**
 * What the end-to-end tests share around a local cloud they started: the command run through its
 * launcher as a user runs it (`--local`, finding the stack from the state file the local cloud
 * writes), an ECR client of the cloud, and uploads followed to their upload record.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECRClient, type ECRClientConfig } from '@aws-sdk/client-ecr';
import { expect } from 'vitest';
import type { VerifyReport } from '../../cli/verify.ts';
import { contextKey } from '../../functions/shared/naming.ts';
import type { UploadRecord } from '../../functions/shared/upload-record.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { type clientsFor, readRecord, type SentUpload, sendContext, tarballOf } from '../../local/uploads.ts';

/** The repository's root: the command runs from here. */
export const root = new URL('../..', import.meta.url).pathname;

/** What a run of the command printed and how it exited. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a command run against the local cloud sees besides the cloud itself. */
export interface LocalCliOptions {
  /** Variables on top of this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Fields of the state file on top of the cloud's own (e.g. `scanner`, `signingPublicKey`). */
  state?: Record<string, unknown>;
}

/**
 * The environment of a command run against `cloud` with `--local`: the state file the local cloud
 * writes (here into `dir`, with `options.state` on top), `options.env` on top, and none of this
 * machine's AWS variables.
 */
export function localCliEnv(
  cloud: LocalCloud,
  dir: string,
  options: LocalCliOptions = {},
): NodeJS.ProcessEnv {
  const state = join(dir, 'cloud.json');
  writeFileSync(
    state,
    JSON.stringify({
      endpoint: cloud.endpoint,
      region: cloud.region,
      bucket: cloud.bucket,
      registry: cloud.registry,
      projectName: cloud.projectName,
      ...options.state,
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, ECR_PIPELINE_LOCAL_STATE: state, ...options.env };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
    delete env[name];
  return env;
}

/** Runs the command through its launcher without blocking this process (the local cloud lives here). */
export function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'cli/bin/ecr-pipeline.mjs'), ...args], {
      env,
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Submits examples/run-steps as repository:tag with `--local` (and `extra` options), expects it to
 * succeed, and returns the digest it printed.
 */
export async function submitExample(
  env: NodeJS.ProcessEnv,
  repository: string,
  tag: string,
  ...extra: string[]
): Promise<string> {
  const run = await runCli(env, [
    'submit',
    'examples/run-steps',
    '-r',
    repository,
    '-t',
    tag,
    '--local',
    ...extra,
  ]);
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const digest = /@(sha256:[0-9a-f]{64})/.exec(run.stdout)?.[1];
  if (!digest) throw new Error(`no digest in ${run.stdout}`);
  return digest;
}

/** `verify <image> --local --output json`: the run and the report it printed. */
export async function verifyJson(
  env: NodeJS.ProcessEnv,
  image: string,
): Promise<{ run: Run; report: VerifyReport }> {
  const run = await runCli(env, ['verify', image, '--local', '--output', 'json']);
  return { run, report: JSON.parse(run.stdout || '{}') as VerifyReport };
}

/** An ECR client of the local cloud (its default credentials unless others are given). */
export function localEcr(
  cloud: LocalCloud,
  credentials: ECRClientConfig['credentials'] = { accessKeyId: 'test', secretAccessKey: 'test' },
): ECRClient {
  return new ECRClient({ region: cloud.region, endpoint: cloud.endpoint, credentials });
}

/** Where uploads go: the cloud, its clients and the stack's key prefix. */
export interface UploadTarget {
  cloud: LocalCloud;
  clients: ReturnType<typeof clientsFor>;
  prefix: string;
}

/** Packs `dir` (with `extra` files) and uploads it as repository:tag with `metadata`. */
export async function uploadDir(
  target: UploadTarget,
  dir: string,
  image: { repository: string; tag: string },
  metadata: Record<string, string> = {},
  extra: Record<string, string> = {},
): Promise<SentUpload> {
  const body = await tarballOf(dir, extra);
  const key = contextKey(target.prefix, image.repository, image.tag);
  return sendContext(target.clients.s3, target.cloud.bucket, key, body, metadata);
}

/** The statuses after which an upload record changes no more. */
export const FINAL_STATUSES = ['released', 'held', 'failed', 'rejected', 'superseded'];

/** The upload's record once its status is one of `statuses` (read every 200 ms until `timeoutMs`). */
export async function recordOnce(
  target: UploadTarget,
  up: SentUpload,
  statuses: string[],
  timeoutMs: number,
): Promise<UploadRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await readRecord(target.clients.s3, target.prefix, up);
    if (record && statuses.includes(record.status)) return record;
    if (Date.now() > deadline)
      throw new Error(`the record of ${up.key} is not ${statuses.join(' or ')}: ${JSON.stringify(record)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
