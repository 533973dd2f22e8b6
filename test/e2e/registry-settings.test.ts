/**
 * Replication and enhanced scanning on the local cloud: the stack packaged with them on, deployed from
 * that template; the registry-settings custom resources run by the bundled function against moto's
 * ECR (which keeps both configurations); what moto cannot do said in one start-up line each; a push
 * watched for its replication, which moto cannot report.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeRegistryCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { LOCAL_STACK_PARAMS } from '../../local/package.ts';
import { LOCAL_CREDENTIALS } from '../../shared/local-cloud.ts';
import { packageWith } from '../template/template.ts';

const work = mkdtempSync(join(tmpdir(), 'registry-settings-'));
const lines: string[] = [];
let cloud: LocalCloud;
let ecr: ECRClient;

beforeAll(async () => {
  const template = packageWith({
    ...LOCAL_STACK_PARAMS,
    repositoryPattern: 'examples/*',
    replicationRegions: 'eu-west-1',
    scanning: 'ENHANCED',
  });
  const templatePath = join(work, 'template.json');
  writeFileSync(templatePath, JSON.stringify(template));
  cloud = await startLocalCloud({
    basePort: 0,
    dataDir: join(work, 'data'),
    templatePath,
    prepare: false,
    scheduleIntervalMs: 0,
    log: (line) => lines.push(line),
  });
  ecr = new ECRClient({ endpoint: cloud.endpoint, region: cloud.region, credentials: LOCAL_CREDENTIALS });
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('replication and enhanced scanning on the local cloud', () => {
  it("merges the stack's replication rule and scanning filter into moto's registry through the custom resources", async () => {
    expect(lines).toContain('custom resource RegistryReplication (Custom::RegistryReplication): SUCCESS');
    const { replicationConfiguration } = await ecr.send(new DescribeRegistryCommand({}));
    expect(replicationConfiguration?.rules).toContainEqual({
      destinations: [{ region: 'eu-west-1', registryId: '123456789012' }],
      repositoryFilters: [{ filter: 'examples/', filterType: 'PREFIX_MATCH' }],
    });
    expect(lines).toContain('custom resource RegistryScanning (Custom::RegistryScanning): SUCCESS');
    const { scanningConfiguration } = await ecr.send(new GetRegistryScanningConfigurationCommand({}));
    expect(scanningConfiguration?.scanType).toBe('ENHANCED');
    expect(JSON.stringify(scanningConfiguration?.rules)).toContain('examples/*');
  });

  it('says in one start-up line each what moto cannot do', () => {
    const gaps = lines.filter((line) => line.startsWith('moto cannot:'));
    expect(gaps).toEqual([
      expect.stringMatching(
        /^moto cannot: send Amazon Inspector events .*InspectorScanRule, InspectorFindingRule/,
      ),
      expect.stringMatching(/^moto cannot: replicate images: .*eu-west-1 .*DescribeImageReplicationStatus/),
      expect.stringMatching(/^moto cannot: scan with Amazon Inspector/),
    ]);
  });

  it('watches the replication of a push, and the scheduled check tells nothing it cannot know', async () => {
    await cloud.putEvents([
      {
        Source: 'aws.ecr',
        DetailType: 'ECR Image Action',
        Detail: JSON.stringify({
          result: 'SUCCESS',
          'repository-name': 'examples/greeter',
          'image-digest': 'sha256:da8bf2a9b2af0b0c6d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c',
          'action-type': 'PUSH',
          'image-tag': '1.0.0',
        }),
      },
    ]);
    await cloud.idle();
    const s3 = new S3Client({
      endpoint: cloud.endpoint,
      region: cloud.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: cloud.bucket, Prefix: '.ecr-pipeline/replication/' }),
    );
    expect(listed.Contents ?? []).toHaveLength(1);
    const slackBefore = cloud.sinks.slack.length;
    await cloud.invoke('ecrEvents', { action: 'check-replication' });
    expect(JSON.stringify(cloud.sinks.slack.slice(slackBefore))).not.toContain('Replication failed');
  });
});
