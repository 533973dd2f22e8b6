/**
 * The upload half of `ecr-pipeline submit` against a bare moto S3 (no build trigger): what lands in
 * the bucket, multipart uploads, interruption, and the errors people meet before any build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { list } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/submit.ts';
import { UploadInterrupted, uploadContext } from '../../cli/upload.ts';
import { freePort, type Service, startMoto } from '../../local/processes.ts';

// Ports the kernel picks: a fixed one in the ephemeral range can be held by another program.
const PORT = await freePort();
const UNUSED_PORT = await freePort();
const endpoint = `http://127.0.0.1:${PORT}`;
const BUCKET = 'contexts';
const work = mkdtempSync(join(tmpdir(), 'submit-upload-'));
const env = {
  ...process.env,
  AWS_ENDPOINT_URL: endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
let moto: Service | undefined;

function capture(extraEnv: NodeJS.ProcessEnv = {}): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { ...env, ...extraEnv },
    out: () => out,
    err: () => err,
  };
}

function context(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

beforeAll(async () => {
  moto = await startMoto(PORT, work);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  // The SDK reads credentials from the process environment.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
});

afterAll(async () => {
  await moto?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('submit --async', () => {
  it('uploads the filtered context under the key convention with the build metadata', async () => {
    const dir = context('app', {
      Dockerfile: 'FROM busybox\n',
      '.dockerignore': 'secrets/\n*.log\n',
      'secrets/key.pem': 'private',
      'debug.log': 'noise',
      'src/main.sh': 'echo hi\n',
    });
    const io = capture();
    const code = await main(
      [
        'submit',
        dir,
        '-r',
        'team-a/api',
        '-t',
        'v1.0.0',
        '--bucket',
        BUCKET,
        '--prefix',
        'in/',
        '--async',
        '--build-arg',
        'MODE=prod',
        '--target',
        'final',
        '--platform',
        'linux/arm64',
      ],
      io,
    );
    expect(io.err()).toContain('uploaded s3://contexts/in/team-a/api/v1.0.0.tar.gz');
    expect(code).toBe(0);
    expect(io.out()).toBe('in/team-a/api/v1.0.0.tar.gz\n');
    expect(io.err()).toContain(
      'ecr-pipeline status in/team-a/api/v1.0.0.tar.gz --bucket contexts --prefix in/',
    );

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'in/team-a/api/v1.0.0.tar.gz' }));
    expect(head.Metadata).toEqual({
      dockerfile: 'Dockerfile',
      'build-args': '{"MODE":"prod"}',
      target: 'final',
      platforms: 'linux/arm64',
    });
    const object = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'in/team-a/api/v1.0.0.tar.gz' }),
    );
    const paths: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const parser = list({ onReadEntry: (entry) => paths.push(entry.path) });
      (object.Body as Readable).pipe(parser as unknown as NodeJS.WritableStream);
      parser.on('end', resolve);
      parser.on('error', reject);
    });
    expect(paths.sort()).toEqual(['.dockerignore', 'Dockerfile', 'src/', 'src/main.sh']);
  });

  it('uploads a context larger than one part as a multipart upload, through the launcher', () => {
    // Random bytes do not compress: 20 MiB is three 8 MiB parts.
    const dir = context('big', {
      Dockerfile: 'FROM busybox\n',
      'blob.bin': randomBytes(20 * 1024 * 1024),
    });
    const result = spawnSync(
      process.execPath,
      ['cli/bin/ecr-pipeline.mjs', 'submit', dir, '-r', 'big', '-t', 'v1', '--bucket', BUCKET, '--async'],
      { env, encoding: 'utf8' },
    );
    expect(result.stderr).toContain('uploading');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('big/v1.tar.gz');
    return s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/v1.tar.gz' })).then((head) => {
      // A multipart ETag ends in -<parts>.
      expect(head.ETag).toMatch(/-3"$/);
      expect(head.ContentLength).toBeGreaterThan(20 * 1024 * 1024);
    });
  });
});

describe('interruption', () => {
  it('aborts the multipart upload: no object and no pending upload remain', async () => {
    const controller = new AbortController();
    let parts = 0;
    // A body that yields two parts' worth, then never ends: the interruption comes mid-upload.
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 18; i++) yield Buffer.alloc(1024 * 1024, i);
        await new Promise(() => undefined);
      })(),
    );
    const done = uploadContext({
      s3,
      bucket: BUCKET,
      key: 'interrupted/v1.tar.gz',
      body,
      metadata: {},
      signal: controller.signal,
      onProgress: () => {
        parts += 1;
        if (parts === 1) controller.abort();
      },
    });
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadInterrupted);
    expect((error as UploadInterrupted).completed).toBe(false);
    const pending = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'interrupted/' }),
    );
    expect(pending.Uploads ?? []).toEqual([]);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'interrupted/v1.tar.gz' })),
    ).rejects.toMatchObject({
      name: 'NotFound',
    });
  });
});

describe('Ctrl-C on the command', () => {
  it('stops the upload, exits 130 and leaves neither object nor pending upload', async () => {
    const dir = context('huge', { Dockerfile: 'FROM busybox\n', 'blob.bin': randomBytes(96 * 1024 * 1024) });
    const child = spawn(
      process.execPath,
      ['cli/bin/ecr-pipeline.mjs', 'submit', dir, '-r', 'huge', '-t', 'v1', '--bucket', BUCKET, '--async'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // Interrupt half a second into the upload: parts are in flight (96 MiB of random bytes take
      // several seconds to gzip); the upload-level test above pins the exact moment.
      if (stderr.includes('packing') && !timer) timer = setTimeout(() => child.kill('SIGINT'), 500);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toContain('interrupted: the upload was stopped and nothing was stored');
    expect(code).toBe(130);
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'huge/' }));
    expect(pending.Uploads ?? []).toEqual([]);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'huge/v1.tar.gz' })),
    ).rejects.toMatchObject({
      name: 'NotFound',
    });
  });
});

describe('errors before any build', () => {
  it('refuses a bad tag before uploading anything', async () => {
    const io = capture();
    const code = await main(
      ['submit', join(work, 'app'), '-r', 'team-a/api', '-t', 'bad tag', '--bucket', BUCKET],
      io,
    );
    expect(code).toBe(2);
    expect(io.err()).toContain('tag "bad tag" contains " "');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'team-a/api/bad tag.tar.gz' })),
    ).rejects.toThrow();
  });

  it('says the bucket does not exist and how to fix it', async () => {
    const io = capture();
    const code = await main(
      ['submit', join(work, 'app'), '-r', 'api', '-t', 'v1', '--bucket', 'no-such-bucket', '--async'],
      io,
    );
    expect(code).toBe(EXIT.aws);
    expect(io.err()).toContain('error: the contexts bucket no-such-bucket does not exist');
    expect(io.err()).toContain('npm run deploy');
  });

  it('says the local cloud is not running when nothing answers on its endpoint', async () => {
    const state = join(work, 'cloud.json');
    writeFileSync(
      state,
      JSON.stringify({ endpoint: `http://127.0.0.1:${UNUSED_PORT}`, bucket: BUCKET, projectName: 'p' }),
    );
    const io = capture({ ECR_PIPELINE_LOCAL_STATE: state });
    const code = await main(['submit', join(work, 'app'), '-r', 'api', '-t', 'v1', '--local'], io);
    expect(code).toBe(EXIT.aws);
    expect(io.err()).toContain(
      `the local cloud is not running: nothing answers at http://127.0.0.1:${UNUSED_PORT}`,
    );
    expect(io.err()).toContain('npm start');
  });

  it('says there is no bucket to upload to when none is given or found', async () => {
    const io = capture({ ECR_PIPELINE_STACK: 'no-such-stack' });
    const code = await main(['submit', join(work, 'app'), '-r', 'api', '-t', 'v1'], io);
    expect(code).toBe(1);
    expect(io.err()).toContain('no contexts bucket given or found');
    expect(io.err()).toContain('--bucket');
  });

  it('asks for the project before uploading when it would have no build to follow', async () => {
    const io = capture({ ECR_PIPELINE_STACK: 'no-such-stack' });
    const code = await main(
      ['submit', join(work, 'app'), '-r', 'api', '-t', 'unfollowed', '--bucket', BUCKET],
      io,
    );
    expect(code).toBe(1);
    expect(io.err()).toContain('the CodeBuild project to follow is not known');
    expect(io.err()).toContain('--async');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'api/unfollowed.tar.gz' })),
    ).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('refuses a context without a Dockerfile', async () => {
    const dir = context('nodockerfile', { 'app.js': '1' });
    const io = capture();
    expect(await main(['submit', dir, '-r', 'api', '-t', 'v1', '--bucket', BUCKET], io)).toBe(1);
    expect(io.err()).toContain('no Dockerfile');
  });
});
