/**
 * `submit --fail-on` / `--wait-scan` against the local cloud when no scan will come: it stops before
 * uploading, with the reason and what to do, instead of waiting for the scan until its timeout; and
 * uploads a multi-platform build under basic scanning, whose legs push plain images it scans.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { clientsFor } from '../../local/uploads.ts';
import { localCliEnv, localEcr, runCli } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'submit-no-scan-e2e-'));
const app = join(work, 'app');
let cloud: LocalCloud;

/** Runs the command with `state` on top of the local cloud's state file. */
const cli = (state: Record<string, unknown>, ...args: string[]) =>
  runCli(localCliEnv(cloud, work, { state }), args);

async function uploads(): Promise<string[]> {
  const { s3 } = clientsFor(cloud);
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: cloud.bucket }));
  return Contents.map((object) => object.Key ?? '').filter((key) => !key.startsWith('.ecr-pipeline/'));
}

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud'), log: () => undefined });
  mkdirSync(app);
  writeFileSync(join(app, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('submit --fail-on when no scan will come', () => {
  it('stops before uploading when the local cloud has no scanner', async () => {
    const run = await cli(
      { scanner: null },
      'submit',
      app,
      '-r',
      'team/noscan',
      '-t',
      'v1',
      '--local',
      '--fail-on',
      'HIGH',
    );
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain(
      'error: --wait-scan / --fail-on: no scan will come for team/noscan: the local cloud has no scanner (trivy or grype is not installed): it scans no image; nothing was uploaded',
    );
    expect(run.stderr).toContain(
      '-> install trivy or grype and restart `npm start`, or leave out --wait-scan / --fail-on',
    );
    expect(await uploads()).toEqual([]);
  });

  it('stops before uploading when scan on push is off for the repository', async () => {
    await localEcr(cloud).send(
      new CreateRepositoryCommand({
        repositoryName: 'team/unscanned',
        imageScanningConfiguration: { scanOnPush: false },
      }),
    );
    const run = await cli({}, 'submit', app, '-r', 'team/unscanned', '-t', 'v1', '--local', '--wait-scan');
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain(
      'no scan will come for team/unscanned: scan on push is off for the repository team/unscanned, and no registry rule scans it: no scan will come; nothing was uploaded',
    );
    expect(run.stderr).toContain(
      '-> aws ecr put-image-scanning-configuration --repository-name team/unscanned --image-scanning-configuration scanOnPush=true',
    );
    expect(await uploads()).toEqual([]);
  });

  it('uploads a multi-platform build under basic scanning: each leg pushes an image it scans', async () => {
    const run = await cli(
      {},
      'submit',
      app,
      '-r',
      'team/multi',
      '-t',
      'v1',
      '--local',
      '--platform',
      'linux/amd64,linux/arm64',
      '--fail-on',
      'CRITICAL',
      '--async',
    );
    expect(run.code, run.stderr).toBe(EXIT.success);
    expect(run.stderr).not.toContain('no scan will come');
    expect(await uploads()).toEqual(['team/multi/v1.tar.gz']);
  });
});
