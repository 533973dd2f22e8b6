/**
 * `submit --wait-scan` / `--fail-on` of a multi-platform upload, through `main` with mocked AWS
 * clients: it waits for the scan of every leg's image (the children of the index, which is what
 * scanners scan), prints one line per leg, carries each leg's scan in `--output json`, and applies
 * the gate to the worst of them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  type ScanStatus,
} from '@aws-sdk/client-ecr';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../cli/exit-codes.ts';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/submit.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const ecr = mockClient(ECRClient);
const lambda = mockClient(LambdaClient);

const work = mkdtempSync(join(tmpdir(), 'cli-submit-scan-'));
const dir = join(work, 'app');
mkdirSync(dir);
writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TARGET = ['--bucket', 'contexts', '--project', 'p', '--region', 'us-east-1'];
const PLATFORMS = ['--platform', 'linux/amd64,linux/arm64'];
const AMD = `sha256:${'a'.repeat(64)}`;
const ARM = `sha256:${'b'.repeat(64)}`;
const INDEX = `sha256:${'f'.repeat(64)}`;
const URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api';
const named = (name: string) => Object.assign(new Error(name), { name });
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) }) as never;

function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    git: () => undefined,
    now: () => new Date('2026-12-01T00:00:00Z'),
    out: () => out,
    err: () => err,
  };
}

/** The followed build: the first leg's, which pushed the amd64 image. */
const amdBuild: Build = {
  id: 'p:11111111-1111-1111-1111-111111111111',
  buildComplete: true,
  buildStatus: 'SUCCEEDED',
  environment: {
    type: 'LINUX_CONTAINER',
    image: 'x',
    computeType: 'BUILD_GENERAL1_SMALL',
    environmentVariables: Object.entries({
      CONTEXT_BUCKET: 'contexts',
      CONTEXT_KEY: 'team/api/v1.tar.gz',
      CONTEXT_VERSION_ID: 'v1',
      IMAGE_REPOSITORY: 'team/api',
      IMAGE_REPOSITORY_URI: URI,
      IMAGE_TAG: 'v1',
      BUILD_PLATFORM: 'linux/amd64',
    }).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' as const })),
  },
  exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: AMD }],
};

/** The record once the release joined both legs into one index and moved the tag onto it. */
const released: UploadRecord = {
  status: 'released',
  bucket: 'contexts',
  key: 'team/api/v1.tar.gz',
  versionId: 'v1',
  repository: 'team/api',
  tag: 'v1',
  digest: INDEX,
  release: { gate: 'none', verdict: 'released' },
  at: '2026-12-01T00:00:00.000Z',
  legs: [
    {
      platform: 'linux/amd64',
      emulated: false,
      environmentType: 'LINUX_CONTAINER',
      buildId: amdBuild.id,
      digest: AMD,
      finishedAt: '2026-12-01T00:02:00.000Z',
    },
    {
      platform: 'linux/arm64',
      emulated: false,
      environmentType: 'ARM_CONTAINER',
      buildId: 'p:2',
      digest: ARM,
      finishedAt: '2026-12-01T00:03:00.000Z',
    },
  ],
};

/** ECR's scan of one image: basic scanning, complete, with these counts. */
function scanned(digest: string, counts: Record<string, number>, status: ScanStatus = 'COMPLETE') {
  ecr.on(DescribeImagesCommand, { imageIds: [{ imageDigest: digest }] }).resolves({
    imageDetails: [
      {
        imageDigest: digest,
        imageScanStatus: { status },
        imageScanFindingsSummary: { findingSeverityCounts: counts },
      },
    ],
  });
}

const submit = async (...extra: string[]) => {
  const io = capture();
  const code = await main(['submit', dir, '-r', 'team/api', '-t', 'v1', ...TARGET, ...extra], io);
  return { code, io };
};

beforeEach(() => {
  s3.reset();
  codebuild.reset();
  ecr.reset();
  lambda.reset();
  ecr.on(DescribeImagesCommand).rejects(named('ImageNotFoundException'));
  // Basic scanning, scan on push for the repository: what most registries have.
  ecr.on(GetRegistryScanningConfigurationCommand).resolves({ scanningConfiguration: { scanType: 'BASIC' } });
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: [{ repositoryName: 'team/api', imageScanningConfiguration: { scanOnPush: true } }],
  });
  lambda.on(GetFunctionConfigurationCommand).rejects(named('AccessDeniedException'));
  s3.on(PutObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"' });
  s3.on(GetObjectCommand).resolves({ Body: body(released) });
  codebuild
    .on(ListBuildsForProjectCommand)
    .resolvesOnce({ ids: [] })
    .resolves({ ids: [amdBuild.id ?? ''] });
  codebuild.on(BatchGetBuildsCommand).resolves({ builds: [amdBuild] });
});

describe('submit --fail-on of a multi-platform upload', () => {
  it("exits 4 when a finding is in the image of a leg other than the followed build's", async () => {
    scanned(AMD, { LOW: 1 });
    scanned(ARM, { CRITICAL: 1, HIGH: 2 });
    const { code, io } = await submit(...PLATFORMS, '--fail-on', 'HIGH', '-q');
    expect(code, io.err()).toBe(EXIT.scanGate);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/api',
      imageIds: [{ imageDigest: ARM }],
    });
    expect(io.err()).toContain(
      'scan gate: findings at or above HIGH in linux/arm64 (CRITICAL, HIGH); exit 4',
    );
  });

  it('prints one scan line per leg, in the platform order, and what it waited for', async () => {
    scanned(AMD, {});
    scanned(ARM, { MEDIUM: 3 });
    const { code, io } = await submit(...PLATFORMS, '--wait-scan', '-q');
    expect(code, io.err()).toBe(EXIT.success);
    const lines = io.err().split('\n');
    const scans = lines.filter((line) => line.startsWith('scan '));
    expect(scans).toEqual(['scan linux/amd64 (basic): no findings', 'scan linux/arm64 (basic): MEDIUM 3']);
    expect(lines).toContain(`waiting for the scan of team/api@${ARM} (linux/arm64)...`);
    expect(lines).not.toContain(`waiting for the scan of team/api@${INDEX}...`);
    expect(io.out()).toBe(`${URI}:v1@${INDEX}\n`);
  });

  it("carries each leg's scan in --output json, and the worst one as the scan the gate judged", async () => {
    scanned(AMD, { HIGH: 1 });
    scanned(ARM, { CRITICAL: 1 });
    const { code, io } = await submit(...PLATFORMS, '--fail-on', 'critical', '-q', '--output', 'json');
    expect(code, io.err()).toBe(EXIT.scanGate);
    const result = JSON.parse(io.out());
    expect(result.exitCode).toBe(EXIT.scanGate);
    expect(result.digest).toBe(INDEX);
    expect(result.scan).toEqual({
      scanner: 'basic',
      counts: { CRITICAL: 1 },
      failOn: 'CRITICAL',
      gate: 'failed',
      platform: 'linux/arm64',
      legs: [
        { platform: 'linux/amd64', digest: AMD, scanner: 'basic', counts: { HIGH: 1 }, gate: 'passed' },
        { platform: 'linux/arm64', digest: ARM, scanner: 'basic', counts: { CRITICAL: 1 }, gate: 'failed' },
      ],
    });
  });

  it('exits 0 when every leg is below the severity, and says each', async () => {
    scanned(AMD, { MEDIUM: 1 });
    scanned(ARM, { HIGH: 4, UNDEFINED: 9 });
    const { code, io } = await submit(...PLATFORMS, '--fail-on', 'CRITICAL', '-q', '--output', 'json');
    expect(code, io.err()).toBe(EXIT.success);
    const result = JSON.parse(io.out());
    expect(result.scan).toMatchObject({ gate: 'passed', platform: 'linux/arm64', counts: { HIGH: 4 } });
    expect(result.scan.legs.map((leg: { gate: string }) => leg.gate)).toEqual(['passed', 'passed']);
    expect(io.err()).not.toContain('scan gate');
  });

  it('ends with an error naming the leg whose scan will never complete, even after a clean one', async () => {
    scanned(AMD, {});
    scanned(ARM, {}, 'UNSUPPORTED_IMAGE');
    const { code, io } = await submit(...PLATFORMS, '--fail-on', 'HIGH', '-q');
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain(`the scan of team/api@${ARM} ended UNSUPPORTED_IMAGE`);
  });

  it('uploads under basic scanning: each leg pushes a plain image, which basic scanning scans', async () => {
    scanned(AMD, {});
    scanned(ARM, {});
    const { code, io } = await submit(...PLATFORMS, '--fail-on', 'HIGH', '--async');
    expect(code, io.err()).toBe(EXIT.success);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });
});

describe('submit --fail-on of one platform', () => {
  it('waits for the pushed image only, and prints its line without a platform', async () => {
    const single = { ...released, digest: AMD, legs: undefined };
    s3.on(GetObjectCommand).resolves({ Body: body(single) });
    scanned(AMD, { HIGH: 2 });
    const { code, io } = await submit('--fail-on', 'HIGH', '-q', '--output', 'json');
    expect(code, io.err()).toBe(EXIT.scanGate);
    expect(io.err()).toContain('scan (basic): HIGH 2\nscan gate: findings at or above HIGH (HIGH); exit 4');
    expect(JSON.parse(io.out()).scan).toEqual({
      scanner: 'basic',
      counts: { HIGH: 2 },
      failOn: 'HIGH',
      gate: 'failed',
    });
    expect(ecr).toHaveReceivedCommandTimes(DescribeImagesCommand, 2);
  });
});
