/**
 * The local cloud enforces the packaged template's IAM: with one permission removed from a copy of
 * the template, the step that needs it fails with AWS's access denied error, one role at a time
 * (build-trigger, ecr-events, the build's session), and the usage report names the denial.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { contextKey } from '../../functions/shared/naming.ts';
import { uploadRecordKeyCandidates } from '../../functions/shared/upload-record.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, preparePackage, startLocalCloud } from '../../local/cloud.ts';
import type { Statement } from '../../local/iam/evaluate.ts';
import { readTemplate } from '../../local/template.ts';
import {
  clientsFor,
  identityOf,
  keyPrefixOf,
  readExamples,
  readRecord,
  sendContext,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';

const work = mkdtempSync(join(tmpdir(), 'local-cloud-iam-'));
const example = (name: string) => {
  const found = readExamples().find((e) => e.name === name);
  if (!found) throw new Error(`no example ${name}`);
  return found;
};

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the packaged template with `actions` (default: all) of statement `sid` of `role` removed. */
function templateWithout(role: string, sid: string, actions?: string[]): string {
  const template = readTemplate(preparePackage(() => {}));
  const policies = template.Resources[role]?.Properties?.Policies as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  let removed = 0;
  for (const policy of policies) {
    policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.flatMap((entry) => {
      // A statement the template includes on a condition: { "Fn::If": [condition, statement, NoValue] }.
      const conditional = (entry as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
      const statement = conditional ? conditional[1] : entry;
      if (statement.Sid !== sid) return [entry];
      removed += 1;
      if (!actions) return [];
      const kept = [statement.Action ?? []].flat().filter((a) => !actions.includes(a));
      return kept.length > 0 ? [{ ...statement, Action: kept }] : [];
    });
  }
  if (removed === 0) throw new Error(`${role} has no statement ${sid}`);
  const path = join(work, `${role}-${sid}.json`);
  writeFileSync(path, JSON.stringify(template));
  return path;
}

/** Runs `scenario` on a local cloud deployed from `templatePath`, then stops it. */
async function withCloud(templatePath: string, scenario: (cloud: LocalCloud) => Promise<void>) {
  const cloud = await startLocalCloud({
    basePort: 0,
    dataDir: mkdtempSync(join(work, 'cloud-')),
    templatePath,
    scheduleIntervalMs: 0,
    retryDelaysMs: [100, 200],
  });
  try {
    await scenario(cloud);
  } finally {
    await cloud.stop();
  }
}

async function upload(cloud: LocalCloud, name: string, repository: string, tag: string) {
  const { s3 } = clientsFor(cloud);
  const body = await tarballOf(example(name).dir);
  return sendContext(
    s3,
    cloud.bucket,
    contextKey(keyPrefixOf(cloud), repository, tag),
    body,
    example(name).metadata,
  );
}

/** Waits until `read()` returns something truthy (or fails after `timeoutMs`). */
async function eventually<T>(read: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const functionLog = (cloud: LocalCloud, key: string) => {
  const path = join(cloud.dataDir, 'logs', `${key}.log`);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};

const deniedOf = (cloud: LocalCloud, role: string) =>
  cloud.iamReport().find((r) => r.role === role)?.denied ?? [];

/**
 * A copy of the packaged template with a role of the uploaders' kind: it may put, tag, delete and read
 * any object of the contexts bucket, as a CI job's role given `s3:*Object*` on `bucket/*` would.
 */
function templateWithUploader(): string {
  const template = readTemplate(preparePackage(() => {}));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
  const objects = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ContextBucket}/*' };
  template.Resources.UploaderRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '123456789012' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [
        {
          PolicyName: 'uploads',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging'],
                Resource: objects,
              },
            ],
          },
        },
      ],
    },
  };
  const path = join(work, 'with-uploader.json');
  writeFileSync(path, JSON.stringify(template));
  return path;
}

describe("the pipeline's state, enforced", () => {
  it('denies an uploader every write of an upload record, while the functions still write theirs', async () => {
    await withCloud(templateWithUploader(), async (cloud) => {
      await installBaseImage(cloud);
      const env = cloud.assumeRole('UploaderRole', 'ci');
      if (!env) throw new Error('no UploaderRole in the deployed template');
      const uploader = clientsFor({ ...cloud, env: { ...cloud.env, ...env } });
      const prefix = keyPrefixOf(cloud);
      const body = await tarballOf(example('run-steps').dir);
      const key = contextKey(prefix, 'iam/state', 'v1');
      const up = await sendContext(uploader.s3, cloud.bucket, key, body, example('run-steps').metadata);
      // build-trigger wrote the record, ecr-events carried the build into it: the functions still work.
      const outcome = await waitForOutcome(cloud, { ...clientsFor(cloud), s3: uploader.s3 }, prefix, up);
      expect(outcome.kind).toBe('built');
      if (outcome.kind !== 'built') return;
      expect(outcome.build.buildStatus).toBe('SUCCEEDED');
      const recordKey = uploadRecordKeyCandidates(prefix, identityOf(up)).at(-1) as string;
      // The release function writes `released` from the build's success, which may land after the
      // build ends, then marks it announced; after that no function writes the record again, so any
      // change is the uploader's.
      let before = await readRecord(uploader.s3, prefix, up);
      for (
        let i = 0;
        i < 240 && !(before?.status === 'released' && before.release?.announced === true);
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        before = await readRecord(uploader.s3, prefix, up);
      }
      expect(before?.status).toBe('released');

      const forged = JSON.stringify({
        ...before,
        scan: { status: 'COMPLETE', scanner: 'basic', counts: {} },
      });
      const attempts: Array<[string, () => Promise<unknown>]> = [
        [
          'PutObject',
          () =>
            uploader.s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: recordKey, Body: forged })),
        ],
        [
          'CopyObject',
          () =>
            uploader.s3.send(
              new CopyObjectCommand({
                Bucket: cloud.bucket,
                Key: recordKey,
                CopySource: `${cloud.bucket}/${key}`,
              }),
            ),
        ],
        [
          'DeleteObject',
          () => uploader.s3.send(new DeleteObjectCommand({ Bucket: cloud.bucket, Key: recordKey })),
        ],
        [
          'PutObjectTagging',
          () =>
            uploader.s3.send(
              new PutObjectTaggingCommand({
                Bucket: cloud.bucket,
                Key: recordKey,
                Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] },
              }),
            ),
        ],
        [
          'PutObject (scan memory)',
          () =>
            uploader.s3.send(
              new PutObjectCommand({
                Bucket: cloud.bucket,
                Key: `${prefix}.ecr-pipeline/scan-memory/x.json`,
                Body: '{}',
              }),
            ),
        ],
      ];
      for (const [what, attempt] of attempts) {
        await expect(attempt(), what).rejects.toMatchObject({ name: 'AccessDenied' });
      }
      expect(await readRecord(uploader.s3, prefix, up)).toEqual(before);
      expect(deniedOf(cloud, 'UploaderRole')).toContainEqual(
        expect.objectContaining({
          action: 's3:PutObject',
          reason: 'explicit-deny-resource',
          resource: `arn:aws:s3:::${cloud.bucket}/${recordKey}`,
        }),
      );
      expect(deniedOf(cloud, 'BuildTriggerRole')).toEqual([]);
      expect(deniedOf(cloud, 'EcrEventsRole')).toEqual([]);
      expect(deniedOf(cloud, 'ReleaseRole')).toEqual([]);
    });
  });
});

describe('the template IAM, enforced', () => {
  it('fails build-trigger with AccessDeniedException when its role may not create repositories', async () => {
    await withCloud(templateWithout('BuildTriggerRole', 'CreateManagedRepositories'), async (cloud) => {
      await upload(cloud, 'run-steps', 'iam/new-repository', 'v1');
      const log = await eventually(() => {
        const text = functionLog(cloud, 'buildTrigger');
        return text.includes('not authorized to perform: ecr:CreateRepository') ? text : undefined;
      }, 'the denial in the build-trigger log');
      expect(log).toContain('AccessDeniedException');
      expect(log).toContain(
        'User: arn:aws:sts::123456789012:assumed-role/ecr-pipeline-dev-BuildTriggerRole/ecr-pipeline-dev-buildTrigger is not authorized',
      );
      expect(log).toContain('on resource: arn:aws:ecr:us-east-1:123456789012:repository/iam/new-repository');
      expect(deniedOf(cloud, 'BuildTriggerRole')).toContainEqual(
        expect.objectContaining({ action: 'ecr:CreateRepository', reason: 'no-allow' }),
      );
    });
  });

  it('fails the Slack channel of ecr-events when its role may not read the webhook parameter', async () => {
    await withCloud(templateWithout('EcrEventsRole', 'ReadSlackWebhookParameter'), async (cloud) => {
      await upload(cloud, 'invalid-tag', 'iam/rejected', 'v1');
      await eventually(() => cloud.sinks.sns.length > 0, 'the rejection on SNS');
      await cloud.idle();
      expect(cloud.sinks.slack).toEqual([]);
      expect(deniedOf(cloud, 'EcrEventsRole')).toContainEqual(
        expect.objectContaining({
          action: 'ssm:GetParameter',
          resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/ecr-pipeline/dev/slack-webhook-url',
        }),
      );
      expect(functionLog(cloud, 'ecrEvents')).toContain('channel failed');
    });
  });

  it('fails the build push with DENIED when the build session role may not put images', async () => {
    const template = templateWithout('BuildSessionRole', 'ManagedRepositories', ['ecr:PutImage']);
    await withCloud(template, async (cloud) => {
      await installBaseImage(cloud);
      const up = await upload(cloud, 'run-steps', 'iam/no-push', 'v1');
      const outcome = await waitForOutcome(cloud, clientsFor(cloud), keyPrefixOf(cloud), up);
      expect(outcome.kind).toBe('built');
      if (outcome.kind !== 'built') return;
      expect(outcome.build.buildStatus).toBe('FAILED');
      const log = await (await fetch(`${cloud.endpoint}/_local/builds/${outcome.build.id}/log`)).text();
      expect(log).toMatch(
        /not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:123456789012:repository\/iam\/no-push/,
      );
      expect(deniedOf(cloud, 'BuildSessionRole')).toContainEqual(
        expect.objectContaining({ action: 'ecr:PutImage' }),
      );
    });
  });
});
