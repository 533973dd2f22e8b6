/**
 * buildspec/session/: the session policy a build assumes its role with, and the calls it makes
 * before building (AssumeRole, then the exact object and the registry password at once).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  pullThroughPrefixes,
  ScopeError,
  sessionName,
  sessionPolicy,
} from '../../../buildspec/session/policy.ts';
import { PrepareError, type PrepareInput, prepare } from '../../../buildspec/session/prepare.ts';

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pipeline-dev-build-session';
const scope = {
  roleArn: ROLE,
  region: 'eu-west-1',
  bucket: 'contexts',
  key: 'team-a/api/v1.tar.gz',
  repository: 'team-a/api',
  basePullPattern: '',
};
const repositoryArn = (name: string) => `arn:aws:ecr:eu-west-1:123456789012:repository/${name}`;

describe('sessionPolicy', () => {
  it('names exactly the uploaded object, the registry login and the one repository', () => {
    expect(JSON.parse(sessionPolicy(scope))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ThisContext',
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: 'arn:aws:s3:::contexts/team-a/api/v1.tar.gz',
        },
        { Sid: 'RegistryLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        {
          Sid: 'ThisRepository',
          Effect: 'Allow',
          Action: [
            'ecr:BatchCheckLayerAvailability',
            'ecr:BatchGetImage',
            'ecr:GetDownloadUrlForLayer',
            'ecr:InitiateLayerUpload',
            'ecr:UploadLayerPart',
            'ecr:CompleteLayerUpload',
            'ecr:PutImage',
          ],
          Resource: repositoryArn('team-a/api'),
        },
      ],
    });
  });

  it('adds pulls of the base images the stack allows, and only pulls', () => {
    const statements = JSON.parse(sessionPolicy({ ...scope, basePullPattern: 'base/*' })).Statement;
    expect(statements.at(-1)).toEqual({
      Sid: 'BaseImages',
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Resource: repositoryArn('base/*'),
    });
  });

  it('adds pulls and imports under the pull-through cache prefixes, and no push there', () => {
    const statements = JSON.parse(
      sessionPolicy({ ...scope, pullThroughCache: 'docker.io=docker-hub,quay.io=quay' }),
    ).Statement;
    expect(statements.at(-1)).toEqual({
      Sid: 'PullThroughCache',
      Effect: 'Allow',
      Action: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchImportUpstreamImage',
        'ecr:CreateRepository',
      ],
      Resource: [repositoryArn('docker-hub/*'), repositoryArn('quay/*')],
    });
    expect(JSON.stringify(sessionPolicy({ ...scope, pullThroughCache: '' }))).not.toContain(
      'PullThroughCache',
    );
  });

  it('refuses a pull-through cache entry whose prefix IAM would read as a wildcard', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, as it would reach the policy
    const variable = 'docker.io=docker-hub/${aws:username}';
    for (const pullThroughCache of [
      'docker.io=*',
      variable,
      'docker-hub',
      'docker.io=hub*',
      'docker.io=-hub',
    ])
      expect(() => sessionPolicy({ ...scope, pullThroughCache }), pullThroughCache).toThrow(
        /bad PULL_THROUGH_CACHE entry/,
      );
  });

  it('names the entry it refuses and how to write one, and reads every prefix of a list', () => {
    expect(() => sessionPolicy({ ...scope, pullThroughCache: 'quay.io=quay, docker.io=/hub' })).toThrow(
      new ScopeError('bad PULL_THROUGH_CACHE entry "docker.io=/hub": use host=prefix'),
    );
    expect(pullThroughPrefixes(' quay.io=quay ,, registry.k8s.io=k8s/v1.x_y ')).toEqual([
      'quay',
      'k8s/v1.x_y',
    ]);
    expect(pullThroughPrefixes('')).toEqual([]);
  });

  it('lets the push be signed with the signing profile only (ECR managed signing), and only when one is set', () => {
    const profile = 'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/ecr_pipeline';
    const statements = JSON.parse(sessionPolicy({ ...scope, signingProfileArn: profile })).Statement;
    expect(statements.at(-1)).toEqual({
      Sid: 'SignPush',
      Effect: 'Allow',
      Action: 'signer:SignPayload',
      Resource: profile,
    });
    expect(sessionPolicy({ ...scope, signingProfileArn: '' })).toBe(sessionPolicy(scope));
    expect(sessionPolicy(scope)).not.toContain('signer:');
  });

  it('refuses a signing profile IAM would read as a wildcard, or of another partition', () => {
    for (const signingProfileArn of [
      'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/*',
      'arn:aws-cn:signer:cn-north-1:123456789012:/signing-profiles/ecr_pipeline',
      'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/a/b',
      'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/ecr_pipeline!',
    ])
      expect(() => sessionPolicy({ ...scope, signingProfileArn }), signingProfileArn).toThrow(
        /is not a signing profile ARN of this partition/,
      );
  });

  it('takes the partition and account of the role', () => {
    const policy = sessionPolicy({ ...scope, roleArn: 'arn:aws-cn:iam::210987654321:role/r' });
    expect(policy).toContain('"arn:aws-cn:s3:::contexts/');
    expect(policy).toContain('"arn:aws-cn:ecr:eu-west-1:210987654321:repository/team-a/api"');
  });

  it('refuses names IAM would read as wildcards or variables, which would widen the policy', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, as an uploader could write it
    const variable = 'team-a/${aws:username}.tar.gz';
    for (const key of ['team-a/*/v1.tar.gz', 'team-a/api/v?.tar.gz', variable])
      expect(() => sessionPolicy({ ...scope, key })).toThrow(ScopeError);
    expect(() => sessionPolicy({ ...scope, repository: 'team-*' })).toThrow(/IAM would not read literally/);
    expect(() => sessionPolicy({ ...scope, roleArn: 'arn:aws:iam::123456789012:user/u' })).toThrow(
      /not a role ARN/,
    );
  });

  it('refuses a wildcard anywhere in a name, and says which name and why', () => {
    expect(() => sessionPolicy({ ...scope, bucket: '*contexts' })).toThrow(
      new ScopeError('bucket "*contexts" holds *, ? or $, which IAM would not read literally'),
    );
    expect(() => sessionPolicy({ ...scope, key: 'team-a/api/v1.tar.gz*' })).toThrow(
      new ScopeError('key "team-a/api/v1.tar.gz*" holds *, ? or $, which IAM would not read literally'),
    );
    expect(() => sessionPolicy({ ...scope, repository: 'team-a/api?' })).toThrow(
      new ScopeError('repository "team-a/api?" holds *, ? or $, which IAM would not read literally'),
    );
    expect(JSON.parse(sessionPolicy({ ...scope, key: 'k', repository: 'r' })).Statement[0].Resource).toBe(
      'arn:aws:s3:::contexts/k',
    );
  });

  it('refuses a role ARN with anything before or after it, with an error of its own kind', () => {
    for (const roleArn of [`x${ROLE}`, `${ROLE}\nrole/other`]) {
      let thrown: unknown;
      try {
        sessionPolicy({ ...scope, roleArn });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, roleArn).toBeInstanceOf(ScopeError);
      expect((thrown as Error).name).toBe('ScopeError');
      expect((thrown as Error).message).toBe(`"${roleArn}" is not a role ARN`);
    }
  });

  it("refuses a policy over AWS's 2,048 characters instead of letting AssumeRole fail", () => {
    expect(() => sessionPolicy({ ...scope, key: `${'k'.repeat(1500)}.tar.gz` })).toThrow(
      /over AWS's 2048: use a shorter key or repository name/,
    );
  });

  it('makes a valid role session name of any build id', () => {
    expect(sessionName('ecr-pipeline-dev:0f3c2a')).toBe('ecr-pipeline-dev-0f3c2a');
    expect(sessionName(`p:${'x'.repeat(80)}`)).toHaveLength(64);
    expect(sessionName('x')).toBe('build-x');
    expect(sessionName('ab')).toBe('ab');
  });
});

const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);
let work: string;
beforeEach(() => {
  s3.reset();
  ecr.reset();
  work = mkdtempSync(join(tmpdir(), 'build-session-test-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const input = (over: Partial<PrepareInput> = {}): PrepareInput => ({
  ...scope,
  versionId: 'version-1',
  eTag: 'etag-1',
  buildId: 'ecr-pipeline-dev:1234',
  sessionSeconds: 1800,
  workDir: work,
  ...over,
});
const credentials = { accessKeyId: 'ASIASESSION', secretAccessKey: 'secret', sessionToken: 'token' };

function deps() {
  const assumed: unknown[] = [];
  const given: unknown[] = [];
  const said: string[] = [];
  return {
    assumed,
    given,
    said,
    deps: {
      assumeRole: async (request: unknown) => {
        assumed.push(request);
        return credentials;
      },
      clients: (c: unknown) => {
        given.push(c);
        return { s3: new S3Client({}), ecr: new ECRClient({}) };
      },
      say: (line: string) => said.push(line),
    },
  };
}
// The SDK gives a Node.js Readable (with helpers prepare does not use).
const body = (text: string) => Readable.from([Buffer.from(text)]) as never;
const token = Buffer.from('AWS:the-password').toString('base64');

describe('prepare', () => {
  it('assumes the session with its policy, then fetches that version and the password with its credentials', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body('archive'),
      Metadata: { dockerfile: 'x/Dockerfile' },
      VersionId: 'version-1',
      ETag: '"etag-1"',
    });
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token }] });
    const { deps: d, assumed, given } = deps();
    await prepare(d, input());
    expect(assumed).toEqual([
      {
        RoleArn: ROLE,
        RoleSessionName: 'ecr-pipeline-dev-1234',
        Policy: sessionPolicy(scope),
        DurationSeconds: 1800,
      },
    ]);
    expect(given).toEqual([credentials]);
    expect(s3).toHaveReceivedCommandExactlyOnceWith(GetObjectCommand, {
      Bucket: 'contexts',
      Key: 'team-a/api/v1.tar.gz',
      VersionId: 'version-1',
    });
    expect(readFileSync(join(work, 'context.archive'), 'utf8')).toBe('archive');
    // sha256 of "archive": the provenance's source digest, of the bytes as fetched.
    expect(readFileSync(join(work, 'context.sha256'), 'utf8')).toBe(
      '0eb3e36bfb24dcd9bb1d1bece1531216b59539a8fde17ee80224af0653c92aa3',
    );
    expect(JSON.parse(readFileSync(join(work, 'object.json'), 'utf8'))).toEqual({
      Metadata: { dockerfile: 'x/Dockerfile' },
      VersionId: 'version-1',
      ETag: '"etag-1"',
    });
    expect(readFileSync(join(work, 'registry-password'), 'utf8')).toBe('the-password');
    expect(statSync(join(work, 'registry-password')).mode & 0o077).toBe(0);
  });

  it('asks for the ETag it was told in an unversioned bucket, and for any object without either', async () => {
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: body('a') }));
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token }] });
    await prepare(deps().deps, input({ versionId: '' }));
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'contexts',
      Key: 'team-a/api/v1.tar.gz',
      IfMatch: '"etag-1"',
    });
    await prepare(deps().deps, input({ versionId: '', eTag: '' }));
    expect(s3.commandCalls(GetObjectCommand)[1]?.args[0].input).toEqual({
      Bucket: 'contexts',
      Key: 'team-a/api/v1.tar.gz',
    });
  });

  it('names the step and what AWS said when a call fails, and fetches nothing without a session', async () => {
    const refused = Object.assign(new Error('not authorized to perform: sts:AssumeRole'), {
      name: 'AccessDenied',
    });
    const { deps: d } = deps();
    await expect(prepare({ ...d, assumeRole: () => Promise.reject(refused) }, input())).rejects.toThrow(
      `assuming ${ROLE} failed (AccessDenied: not authorized to perform: sts:AssumeRole)`,
    );
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);

    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
        name: 'PreconditionFailed',
      }),
    );
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token }] });
    const failed = prepare(deps().deps, input({ versionId: '' }));
    await expect(failed).rejects.toThrow(PrepareError);
    await expect(failed).rejects.toThrow(
      /^fetching s3:\/\/contexts\/team-a\/api\/v1\.tar\.gz failed \(PreconditionFailed: /,
    );
  });

  it('refuses a registry token that is not AWS:<password>', async () => {
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: body('a') }));
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolves({ authorizationData: [{ authorizationToken: Buffer.from('x').toString('base64') }] });
    await expect(prepare(deps().deps, input())).rejects.toThrow(
      /asking ECR for a registry password failed .*AWS:<password>/,
    );
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [] });
    await expect(prepare(deps().deps, input())).rejects.toThrow(/no authorization token/);
  });
});
