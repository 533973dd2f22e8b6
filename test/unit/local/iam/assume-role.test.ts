/**
 * STS AssumeRole in the local IAM, as the build uses it: the caller's identity policy and the role's
 * trust policy must both allow it, and the session policy given narrows every later request made
 * with the credentials to what both the role's policies and the session policy allow.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type NamedPolicy, type Statement } from '../../../../local/iam/evaluate.ts';
import { LocalIam } from '../../../../local/iam/index.ts';
import type { IamModel } from '../../../../local/iam/model.ts';
import type { ApiRequest } from '../../../../local/iam/request.ts';

const scope = { region: 'us-east-1', account: '123456789012' };
const account = scope.account;
const buildRoleArn = `arn:aws:iam::${account}:role/stack-BuildRole`;
const sessionRoleArn = `arn:aws:iam::${account}:role/stack-build-session`;
const repository = (name: string) => `arn:aws:ecr:us-east-1:${account}:repository/${name}`;
const PUSH = ['ecr:BatchGetImage', 'ecr:PutImage'];

const model = (trustedArn = buildRoleArn): IamModel => ({
  roles: [
    {
      logicalId: 'BuildRole',
      arn: buildRoleArn,
      name: 'stack-BuildRole',
      policies: [
        {
          name: 'BuildRole/build',
          kind: 'identity',
          document: {
            Statement: [
              {
                Sid: 'AssumeBuildSession',
                Effect: 'Allow',
                Action: 'sts:AssumeRole',
                Resource: sessionRoleArn,
              },
            ],
          },
        },
      ],
    },
    {
      logicalId: 'BuildSessionRole',
      arn: sessionRoleArn,
      name: 'stack-build-session',
      trust: { Statement: [{ Effect: 'Allow', Principal: { AWS: trustedArn }, Action: 'sts:AssumeRole' }] },
      policies: [
        {
          name: 'BuildSessionRole/build-session',
          kind: 'identity',
          document: {
            Statement: [{ Sid: 'Repositories', Effect: 'Allow', Action: PUSH, Resource: repository('*') }],
          },
        },
      ],
    },
  ],
  resourcePolicies: [],
  functionRoles: {},
  projectRoles: { project: buildRoleArn },
});

const sessionPolicy = (...Statement: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const onlyTeamA = sessionPolicy({ Effect: 'Allow', Action: PUSH, Resource: repository('team-a/api') });

function signed(accessKeyId: string, service: string, target: string | undefined, body: string): ApiRequest {
  return {
    method: 'POST',
    url: '/',
    headers: {
      ...(target ? { 'x-amz-target': target } : { 'content-type': 'application/x-www-form-urlencoded' }),
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20261203/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x`,
    },
    body: Buffer.from(body),
  };
}

const assumeForm = (policy?: string, roleArn = sessionRoleArn) =>
  new URLSearchParams({
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: 'ecr-pipeline-dev-1234',
    DurationSeconds: '1800',
    ...(policy ? { Policy: policy } : {}),
  });

const putImage = (accessKeyId: string, name: string) =>
  signed(
    accessKeyId,
    'ecr',
    'AmazonEC2ContainerRegistry_V20150921.PutImage',
    JSON.stringify({ repositoryName: name, imageManifest: '{}', imageTag: 'v1' }),
  );

function setUp(trustedArn?: string, enforce = true) {
  const iam = new LocalIam({ scope, enforce, resourceTags: async () => ({}) });
  iam.useModel(model(trustedArn));
  const build = iam.credentialsOf('project', 'project', 'AWSCodeBuild-project');
  if (!build) throw new Error('no build principal');
  /** AssumeRole as the gateway serves it: the identity check, then the local IAM's answer. */
  const assume = async (form: URLSearchParams, accessKeyId = build.accessKeyId) => {
    const denial = await iam.authorize(signed(accessKeyId, 'sts', undefined, form.toString()));
    if (denial) return { status: 403, body: denial.message };
    return iam.assumeRole(accessKeyId, form);
  };
  const keyOf = (body: string) => /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(body)?.[1] ?? '';
  return { iam, build, assume, keyOf };
}

describe('local STS AssumeRole', () => {
  it('issues credentials of the role to the role its trust policy names, with its session name', async () => {
    const { iam, assume, keyOf } = setUp();
    const answer = await assume(assumeForm(onlyTeamA));
    expect(answer?.status).toBe(200);
    expect(answer?.body).toContain(
      `<Arn>arn:aws:sts::${account}:assumed-role/stack-build-session/ecr-pipeline-dev-1234</Arn>`,
    );
    const principal = iam.sts.principal(keyOf(answer?.body ?? ''));
    expect(principal?.role.arn).toBe(sessionRoleArn);
    expect(principal?.session).toBe('ecr-pipeline-dev-1234');
  });

  it("refuses a caller the role's trust policy does not name, even when its own policy allows it", async () => {
    const { assume } = setUp(`arn:aws:iam::${account}:role/someone-else`);
    const answer = await assume(assumeForm(onlyTeamA));
    expect(answer?.status).toBe(403);
    expect(answer?.body).toContain('<Code>AccessDenied</Code>');
  });

  it('refuses a caller whose own policy does not allow sts:AssumeRole on the role', async () => {
    const { iam, assume, keyOf } = setUp();
    // A session of the session role, whose policy has no sts:AssumeRole, trying to assume again.
    const session = keyOf((await assume(assumeForm(onlyTeamA)))?.body ?? '');
    const again = await assume(assumeForm(onlyTeamA), session);
    expect(again?.status).toBe(403);
    expect(again?.body).toContain('is not authorized to perform: sts:AssumeRole');
    expect(iam.sts.principal(session)).toBeDefined();
  });

  it("refuses the console's credentials the role does not trust", async () => {
    const { assume } = setUp();
    expect((await assume(assumeForm(onlyTeamA), 'test'))?.status).toBe(403);
  });

  it('refuses a session policy that is not a policy, or is over 2,048 characters', async () => {
    const { assume } = setUp();
    const malformed = await assume(assumeForm('{"not": "a policy"}'));
    expect(malformed?.body).toContain('<Code>MalformedPolicyDocument</Code>');
    const huge = sessionPolicy({ Effect: 'Allow', Action: PUSH, Resource: repository('x'.repeat(2100)) });
    expect((await assume(assumeForm(huge)))?.body).toContain('<Code>PackedPolicyTooLarge</Code>');
  });

  it('leaves a role the stack does not define to moto', async () => {
    const { iam, build } = setUp();
    expect(
      iam.assumeRole(build.accessKeyId, assumeForm(undefined, `arn:aws:iam::${account}:role/other`)),
    ).toBeUndefined();
  });

  it('lets a session do only what both its role and its session policy allow', async () => {
    const { iam, assume, keyOf } = setUp();
    const key = keyOf((await assume(assumeForm(onlyTeamA)))?.body ?? '');
    expect(await iam.authorize(putImage(key, 'team-a/api'))).toBeUndefined();
    const other = await iam.authorize(putImage(key, 'team-b/api'));
    expect(other?.decision.reason).toBe('no-session-allow');
    expect(other?.message).toBe(
      `User: arn:aws:sts::${account}:assumed-role/stack-build-session/ecr-pipeline-dev-1234 is not authorized to perform: ecr:PutImage on resource: ${repository('team-b/api')} because no session policy allows the ecr:PutImage action`,
    );
  });

  it('gives a session without a session policy what its role allows', async () => {
    const { iam, assume, keyOf } = setUp();
    const key = keyOf((await assume(assumeForm()))?.body ?? '');
    expect(await iam.authorize(putImage(key, 'team-b/api'))).toBeUndefined();
  });

  it('checks registry requests of a session against its session policy too', async () => {
    const { iam, assume, keyOf } = setUp();
    const key = keyOf((await assume(assumeForm(onlyTeamA)))?.body ?? '');
    const caller = iam.registryCaller(iam.tokens.password(key));
    if (caller?.kind !== 'role') throw new Error('expected the session as registry caller');
    expect(await iam.authorizeRegistry(caller, 'PUT', '/v2/team-a/api/manifests/sha256:abc')).toBeUndefined();
    expect(await iam.authorizeRegistry(caller, 'PUT', '/v2/team-b/api/manifests/sha256:abc')).toBeDefined();
    expect(await iam.authorizeRegistry(caller, 'GET', '/v2/team-b/api/manifests/v1')).toBeDefined();
  });
});

describe('evaluate with a session policy', () => {
  const role: NamedPolicy = {
    name: 'Role/policy',
    kind: 'identity',
    document: { Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: repository('*') }] },
  };
  const session = (...Statement: Statement[]): NamedPolicy => ({
    name: 'Role/session-policy',
    kind: 'identity',
    document: { Statement },
  });
  const request = (action: string, name: string) => ({
    principalArn: sessionRoleArn,
    action,
    resource: repository(name),
    context: {},
  });

  it('allows only the intersection of the role and the session policy', () => {
    const narrow = session({ Effect: 'Allow', Action: 'ecr:PutImage', Resource: repository('team-a/*') });
    expect(evaluate(request('ecr:PutImage', 'team-a/api'), [role], narrow).allowed).toBe(true);
    expect(evaluate(request('ecr:PutImage', 'team-b/api'), [role], narrow).reason).toBe('no-session-allow');
    expect(evaluate(request('ecr:BatchGetImage', 'team-a/api'), [role], narrow).reason).toBe(
      'no-session-allow',
    );
  });

  it('never lets a session policy allow what the role does not', () => {
    const wide = session({ Effect: 'Allow', Action: '*', Resource: '*' });
    const s3 = { ...request('s3:GetObject', 'x'), resource: 'arn:aws:s3:::bucket/key' };
    expect(evaluate(s3, [role], wide)).toMatchObject({ allowed: false, reason: 'no-allow' });
  });

  it('denies what a Deny of the session policy names', () => {
    const deny = session(
      { Effect: 'Allow', Action: 'ecr:*', Resource: '*' },
      { Sid: 'NoPush', Effect: 'Deny', Action: 'ecr:PutImage', Resource: '*' },
    );
    expect(evaluate(request('ecr:PutImage', 'team-a/api'), [role], deny)).toMatchObject({
      allowed: false,
      reason: 'explicit-deny-identity',
      statements: [{ policy: 'Role/session-policy', sid: 'NoPush' }],
    });
  });
});
