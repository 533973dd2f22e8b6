/**
 * The local cloud runs the stack's pull-through cache rule (`pullThroughCache=docker-hub`): its
 * registry front sends `/v2/docker-hub/...` to a distribution registry in proxy mode whose upstream is
 * a local registry playing Docker Hub (local/pull-through.ts), with the template's IAM applied as ECR
 * applies it. An upload whose Dockerfile says `FROM busybox` builds through the cache: the local
 * registry holds no busybox of its own here, the build's image store starts empty, and docker.io
 * cannot be reached.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionPolicy } from '../../buildspec/session/policy.ts';
import { contextKey } from '../../functions/shared/naming.ts';
import { type LocalCloud, preparePackage, startLocalCloud } from '../../local/cloud.ts';
import { LOCAL_STACK_PARAMS } from '../../local/package.ts';
import { requestLines } from '../../local/pull-through.ts';
import { clientsFor, keyPrefixOf, sendContext, tarballOf, waitForOutcome } from '../../local/uploads.ts';
import { LOCAL_CREDENTIALS } from '../../shared/local-cloud.ts';
import { packageWith } from '../template/template.ts';

const work = mkdtempSync(join(tmpdir(), 'pull-through-cloud-'));
const lines: string[] = [];
let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  preparePackage(() => {});
  const template = packageWith({
    ...LOCAL_STACK_PARAMS,
    pullThroughCache: 'docker-hub',
    dockerHubCredentialSecret:
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf',
  });
  const templatePath = join(work, 'template.json');
  writeFileSync(templatePath, JSON.stringify(template));
  cloud = await startLocalCloud({
    basePort: 0,
    dataDir: join(work, 'cloud'),
    templatePath,
    prepare: false,
    scheduleIntervalMs: 0,
    log: (line) => lines.push(line),
  });
  clients = clientsFor(cloud);
}, 300_000);

afterAll(async () => {
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

const upstreamRequests = () =>
  requestLines(
    readFileSync(join(cloud.dataDir, 'pull-through', 'docker-hub', 'upstream', 'registry.log'), 'utf8'),
  );

/** The ARN of the stack's BuildSessionRole. */
function sessionRoleArn(): string {
  const arn = cloud.deployment.resources.BuildSessionRole?.attributes.Arn;
  if (!arn) throw new Error('the stack has no BuildSessionRole');
  return arn;
}

/** Credentials of BuildSessionRole assumed with `policy`, as the build's project role assumes it. */
async function session(policy: string): Promise<Record<string, string>> {
  const sts = new STSClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: {
      accessKeyId: cloud.buildEnv.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: cloud.buildEnv.AWS_SECRET_ACCESS_KEY ?? '',
      ...(cloud.buildEnv.AWS_SESSION_TOKEN ? { sessionToken: cloud.buildEnv.AWS_SESSION_TOKEN } : {}),
    },
  });
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: sessionRoleArn(), RoleSessionName: 'pull-through-e2e', Policy: policy }),
  );
  sts.destroy();
  return {
    AWS_ACCESS_KEY_ID: c?.AccessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: c?.SecretAccessKey ?? '',
    AWS_SESSION_TOKEN: c?.SessionToken ?? '',
  };
}

/** The registry's Basic authorization of `credentials` (GetAuthorizationToken's token). */
async function registryAuth(credentials: Record<string, string>): Promise<string> {
  const ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: {
      accessKeyId: credentials.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: credentials.AWS_SECRET_ACCESS_KEY ?? '',
      ...(credentials.AWS_SESSION_TOKEN ? { sessionToken: credentials.AWS_SESSION_TOKEN } : {}),
    },
  });
  const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
  ecr.destroy();
  return `Basic ${answer.authorizationData?.[0]?.authorizationToken ?? ''}`;
}

/** A manifest GET on the local cloud's registry with the registry password of `credentials`. */
async function registryGet(credentials: Record<string, string>, path: string): Promise<Response> {
  return fetch(`http://${cloud.registry}${path}`, {
    headers: {
      authorization: await registryAuth(credentials),
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
}

describe("the local cloud's pull-through cache", () => {
  it('builds an upload whose Dockerfile says FROM busybox through the docker-hub prefix', async () => {
    expect(lines.some((line) => line.startsWith('pull-through cache docker-hub: /v2/docker-hub/'))).toBe(
      true,
    );
    const context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
    const up = await sendContext(
      clients.s3,
      cloud.bucket,
      contextKey(keyPrefixOf(cloud), 'team-a/api', 'v1'),
      await tarballOf(context),
      {},
    );
    const outcome = await waitForOutcome(cloud, clients, keyPrefixOf(cloud), up, 300_000);
    if (outcome.kind !== 'built') throw new Error(`no build: ${JSON.stringify(outcome)}`);
    const log = await (await fetch(`${cloud.endpoint}/_local/builds/${outcome.build.id}/log`)).text();
    expect(outcome.build.buildStatus, log).toBe('SUCCEEDED');
    expect(log).toContain('base images through the pull-through cache: docker.io=docker-hub');

    // The upstream was asked for Docker Hub's own name, through the cache, never for the prefix.
    const asked = upstreamRequests();
    expect(asked).toContainEqual(expect.stringMatching(/^GET \/v2\/library\/busybox\/manifests\//));
    expect(asked.some((line) => line.includes('docker-hub'))).toBe(false);

    // ECR created the cache's repository on the first pull, with the creation template's settings.
    const ecr = new ECRClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: LOCAL_CREDENTIALS,
    });
    const { repositories } = await ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['docker-hub/library/busybox'] }),
    );
    expect(repositories?.[0]?.imageTagMutability).toBe('MUTABLE');
    const { tags } = await ecr.send(
      new ListTagsForResourceCommand({ resourceArn: repositories?.[0]?.repositoryArn ?? '' }),
    );
    expect(tags?.map((t) => t.Key)).toEqual(['ecr-pipeline:pull-through-cache']);
    ecr.destroy();

    // The build session imported through the prefix under the template's PullThroughCache statement.
    const used = cloud
      .iamReport()
      .flatMap((role) => role.used.map((use) => `${role.role} ${use.action} ${use.allowedBy.join(',')}`));
    expect(used).toContainEqual(expect.stringMatching(/ecr:BatchImportUpstreamImage .*PullThroughCache/));
  }, 600_000);

  it('lets a build session pull through the prefix only when its session policy names the rule', async () => {
    const path = '/v2/docker-hub/library/busybox/manifests/latest';
    const scope = {
      roleArn: sessionRoleArn(),
      region: cloud.region,
      bucket: cloud.bucket,
      key: 'team-a/api/v1.tar.gz',
      repository: 'team-a/api',
      basePullPattern: '',
    };
    const without = await registryGet(await session(sessionPolicy(scope)), path);
    expect(without.status).toBe(403);
    expect(await without.text()).toContain('ecr:BatchGetImage');

    const through = await session(sessionPolicy({ ...scope, pullThroughCache: 'docker.io=docker-hub' }));
    const allowed = await registryGet(through, path);
    expect(allowed.status, await allowed.clone().text()).toBe(200);
    expect(allowed.headers.get('docker-content-digest')).toMatch(/^sha256:[0-9a-f]{64}$/);

    // No push under the prefix, whatever else allows it (NeverPushIntoPullThroughCache).
    const push = await fetch(`http://${cloud.registry}/v2/docker-hub/library/busybox/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: await registryAuth(through) },
    });
    expect(push.status).toBe(403);
    expect(await push.text()).toContain('ecr:InitiateLayerUpload');
  }, 120_000);

  it('asks for the import, and for a repository not there yet its creation, besides the pull', async () => {
    const pullOnly = (actions: string[]) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
          {
            Effect: 'Allow',
            Action: actions,
            Resource: `arn:aws:ecr:${cloud.region}:123456789012:repository/docker-hub/*`,
          },
        ],
      });
    const pull = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
    const noImport = await registryGet(
      await session(pullOnly(pull)),
      '/v2/docker-hub/library/busybox/manifests/latest',
    );
    expect(noImport.status).toBe(403);
    expect(await noImport.text()).toContain('ecr:BatchImportUpstreamImage');

    const noCreate = await registryGet(
      await session(pullOnly([...pull, 'ecr:BatchImportUpstreamImage'])),
      '/v2/docker-hub/library/alpine/manifests/latest',
    );
    expect(noCreate.status).toBe(403);
    expect(await noCreate.text()).toContain('ecr:CreateRepository');
    const ecr = new ECRClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: LOCAL_CREDENTIALS,
    });
    await expect(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['docker-hub/library/alpine'] })),
    ).rejects.toThrow(/does not exist/);
    ecr.destroy();
  }, 120_000);
});
