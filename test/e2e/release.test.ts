import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import type { UploadRecord } from '../../functions/shared/upload-record.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, preparePackage, startLocalCloud } from '../../local/cloud.ts';
import { packageLocalStack } from '../../local/package.ts';
import { findScanner } from '../../local/scanner.ts';
import { slackText } from '../../local/sinks.ts';
import {
  clientsFor,
  keyPrefixOf,
  readExamples,
  registryPassword,
  type SentUpload,
  skopeoInspect,
  waitForOutcome,
} from '../../local/uploads.ts';
import {
  FINAL_STATUSES,
  localCliEnv,
  localEcr,
  recordOnce as recordWhen,
  runCli,
  uploadDir,
} from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'release-e2e-'));
const lines: string[] = [];
const site = readExamples().find((example) => example.name === 'copy-files');
let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;
let ecr: ECRClient;
let prefix: string;
let password: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const log = (line: string) => lines.push(line);
  preparePackage(log);
  const templatePath = packageLocalStack(
    log,
    { releaseGate: 'scan', releaseMaxSeverity: 'CRITICAL' },
    join(work, 'template.json'),
  );
  cloud = await startLocalCloud({
    basePort: 0,
    dataDir: join(work, 'cloud'),
    templatePath,
    prepare: false,
    log,
  });
  await installBaseImage(cloud);
  clients = clientsFor(cloud);
  prefix = keyPrefixOf(cloud);
  ecr = localEcr(cloud, clients.s3.config.credentials);
  password = await registryPassword(ecr);
  env = localCliEnv(cloud, work, { env: { ECR_PIPELINE_OPERATOR: 'e2e-operator' } });
}, 600_000);

afterAll(async () => {
  ecr?.destroy();
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(env, args);

const upload = (repository: string, metadata: Record<string, string> = {}) => {
  if (!site) throw new Error('no example copy-files');
  return uploadDir({ cloud, clients, prefix }, site.dir, { repository, tag: 'v1' }, metadata);
};

/** The upload's record once its status is one of `statuses`. */
const recordOnce = (up: SentUpload, statuses: string[], timeoutMs = 120_000) =>
  recordWhen({ cloud, clients, prefix }, up, statuses, timeoutMs);

const tagged = (repository: string) =>
  ecr
    .send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: 'v1' }] }))
    .then((out) => out.imageDetails?.[0]?.imageDigest)
    .catch((error: Error) => error.name);

const slackTexts = () => cloud.sinks.slack.map((message) => slackText(message.body));
/** The Slack message whose text has all of `parts`, whole (blocks and all), once it arrived. */
const slackMessage = (...parts: string[]) =>
  cloud.sinks.waitFor(
    () =>
      cloud.sinks.slack
        .map((message) => ({ text: slackText(message.body), whole: JSON.stringify(message.body) }))
        .find(({ text }) => parts.every((part) => text.includes(part)))?.whole,
    30_000,
  );

describe('the scan gate on the local cloud', () => {
  let released: SentUpload;
  let held: SentUpload;
  let heldRecord: UploadRecord;

  it('releases an image whose scan found nothing at or above the gate, and holds one that asked for a stricter gate', async () => {
    [released, held] = await Promise.all([
      upload('e2e/gate-pass'),
      upload('e2e/gate-held', { 'release-max-severity': 'HIGH' }),
    ]);
    const outcomes = await Promise.all(
      [released, held].map((up) => waitForOutcome(cloud, clients, prefix, up)),
    );
    for (const outcome of outcomes)
      expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('SUCCEEDED');

    const pass = await recordOnce(released, FINAL_STATUSES);
    expect(pass).toMatchObject({
      status: 'released',
      release: { gate: 'scan', maxSeverity: 'CRITICAL', verdict: 'released' },
    });
    heldRecord = await recordOnce(held, FINAL_STATUSES);
    expect(heldRecord).toMatchObject({
      status: 'held',
      release: { gate: 'scan', maxSeverity: 'HIGH', verdict: 'held' },
    });

    // The scan result the local cloud has: a real scanner's, or moto's, labelled as moto's.
    const scanner = findScanner();
    if (scanner) {
      expect(lines.some((line) => line.includes(`${scanner.name} scanned e2e/gate-held@`))).toBe(true);
    } else {
      expect(
        lines.filter((line) => line.includes("moto's reported result, not a scan of the image")),
      ).toEqual([expect.stringContaining('e2e/gate-'), expect.stringContaining('e2e/gate-')]);
      // moto reports one HIGH finding (CVE-9999-9999): below CRITICAL, at HIGH.
      expect(pass.release?.counts).toEqual({ HIGH: 1 });
      expect(heldRecord.release?.reason).toBe('the scan found 1 HIGH (the gate holds at HIGH and above)');
    }

    // The released tag names the built digest in ECR and in the registry; the held one names nothing.
    expect(await tagged('e2e/gate-pass')).toBe(pass.digest);
    expect((await skopeoInspect(`${cloud.registry}/e2e/gate-pass:v1`, password)).Digest).toBe(pass.digest);
    expect(await tagged('e2e/gate-held')).toBe('ImageNotFoundException');
    await expect(skopeoInspect(`${cloud.registry}/e2e/gate-held:v1`, password)).rejects.toThrow(
      /manifest unknown/,
    );
    // Held by digest: the image is still there.
    const kept = await ecr.send(
      new DescribeImagesCommand({
        repositoryName: 'e2e/gate-held',
        imageIds: [{ imageDigest: String(heldRecord.digest) }],
      }),
    );
    expect(kept.imageDetails?.[0]?.imageTags ?? []).toEqual([]);

    // One message per outcome, and the held one says what to do.
    const heldMessage = await slackMessage('Image held', 'e2e/gate-held:v1');
    expect(heldMessage).toContain(`ecr-pipeline release ${held.key} --override --reason`);
    await slackMessage('Image released', 'e2e/gate-pass:v1');
    expect(slackTexts().filter((text) => text.includes('e2e/gate-held:v1'))).toEqual([
      'Image held: e2e/gate-held:v1',
    ]);
  });

  it('releases the held image by override with a reason: recorded, notified, and the tag pullable', async () => {
    const run = await cli(
      'release',
      held.key,
      '--override',
      '--reason',
      "moto's fixed finding is not in this image",
      '--local',
    );
    expect(run.code, run.stderr).toBe(EXIT.success);
    expect(run.stdout.trim()).toBe(`e2e/gate-held:v1@${heldRecord.digest}`);

    const record = await recordOnce(held, ['released']);
    expect(record.release).toMatchObject({
      verdict: 'released',
      override: { reason: "moto's fixed finding is not in this image", by: 'e2e-operator' },
    });
    expect(await tagged('e2e/gate-held')).toBe(heldRecord.digest);
    expect((await skopeoInspect(`${cloud.registry}/e2e/gate-held:v1`, password)).Digest).toBe(
      heldRecord.digest,
    );
    const message = await slackMessage('Image released', 'e2e/gate-held:v1');
    expect(message).toContain(
      "Released by override (e2e-operator): moto's fixed finding is not in this image",
    );

    // A second override finds nothing to release.
    const again = await cli('release', held.key, '--override', '--reason', 'twice', '--local');
    expect(again.code).not.toBe(EXIT.success);
    expect(again.stderr).toContain('nothing to release: the upload is released');
  });
});
