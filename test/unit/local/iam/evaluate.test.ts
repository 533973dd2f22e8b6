/**
 * The evaluator against the AWS semantics the stack's policies rely on: explicit deny, wildcards,
 * case-insensitive actions, NotAction / NotResource, resource policies and their principals, and the
 * condition operators (ForAllValues / ForAnyValue on aws:TagKeys, IfExists, Null, Bool, negated
 * operators with several values, ArnNotEquals on aws:PrincipalArn).
 */
import { describe, expect, it } from 'vitest';
import { conditionHolds } from '../../../../local/iam/conditions.ts';
import {
  type AuthorizationRequest,
  evaluate,
  type NamedPolicy,
  type Statement,
} from '../../../../local/iam/evaluate.ts';

const role = 'arn:aws:iam::123456789012:role/ecr-pipeline-dev-BuildTriggerRole';
const repo = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';

const identity = (...Statement: Statement[]): NamedPolicy => ({
  name: 'Role/policy',
  kind: 'identity',
  document: { Version: '2012-10-17', Statement },
});
const resourcePolicy = (...Statement: Statement[]): NamedPolicy => ({
  name: 'ResourcePolicy',
  kind: 'resource',
  document: { Version: '2012-10-17', Statement },
});
const request = (action: string, resource = repo, context: AuthorizationRequest['context'] = {}) => ({
  principalArn: role,
  action,
  resource,
  context,
});

describe('evaluate', () => {
  it('denies what no statement allows, and names the Allow that matched', () => {
    const policies = [identity({ Sid: 'Read', Effect: 'Allow', Action: 'ecr:Describe*', Resource: repo })];
    expect(evaluate(request('ecr:DescribeImages'), policies)).toEqual({
      allowed: true,
      reason: 'allow',
      statements: [{ policy: 'Role/policy', sid: 'Read' }],
    });
    expect(evaluate(request('ecr:PutImage'), policies).reason).toBe('no-allow');
    expect(evaluate(request('ecr:DescribeImages', `${repo}x`), policies).allowed).toBe(false);
  });

  it('matches actions case-insensitively and resources with ? and * case-sensitively', () => {
    const policies = [
      identity({
        Effect: 'Allow',
        Action: 'ECR:describeimages',
        Resource: 'arn:aws:ecr:*:123456789012:repository/team/a??',
      }),
    ];
    expect(evaluate(request('ecr:DescribeImages'), policies).allowed).toBe(true);
    expect(evaluate(request('ecr:DescribeImages', `${repo.replace('app', 'App')}`), policies).allowed).toBe(
      false,
    );
  });

  it('lets an explicit deny win over an allow, in identity or resource policies', () => {
    const allow: Statement = { Effect: 'Allow', Action: '*', Resource: '*' };
    const deny: Statement = { Sid: 'No', Effect: 'Deny', Action: 'ecr:DeleteRepository', Resource: repo };
    expect(evaluate(request('ecr:DeleteRepository'), [identity(allow, deny)]).reason).toBe(
      'explicit-deny-identity',
    );
    expect(
      evaluate(request('ecr:DeleteRepository'), [
        identity(allow),
        resourcePolicy({ ...deny, Principal: '*' }),
      ]).reason,
    ).toBe('explicit-deny-resource');
  });

  it('reads NotAction and NotResource as everything but those', () => {
    const policies = [
      identity({ Effect: 'Allow', NotAction: 'ecr:Delete*', NotResource: `${repo}-private` }),
    ];
    expect(evaluate(request('ecr:PutImage'), policies).allowed).toBe(true);
    expect(evaluate(request('ecr:DeleteRepository'), policies).allowed).toBe(false);
    expect(evaluate(request('ecr:PutImage', `${repo}-private`), policies).allowed).toBe(false);
  });

  it('allows through a resource policy only the principals it names; the account root is not the role', () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:events';
    const grant = (principal: unknown) =>
      resourcePolicy({ Effect: 'Allow', Principal: principal, Action: 'sns:Publish', Resource: topic });
    expect(evaluate(request('sns:Publish', topic), [grant({ AWS: role })]).allowed).toBe(true);
    expect(
      evaluate(request('sns:Publish', topic), [grant({ AWS: 'arn:aws:iam::123456789012:root' })]).allowed,
    ).toBe(false);
    expect(
      evaluate(request('sns:Publish', topic), [grant({ Service: 'cloudwatch.amazonaws.com' })]).allowed,
    ).toBe(false);
  });

  it('denies every principal but the named one with ArnNotEquals on aws:PrincipalArn', () => {
    const bus = 'arn:aws:events:us-east-1:123456789012:event-bus/rejected';
    const policy = resourcePolicy({
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: bus,
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': role } },
    });
    const allow = identity({ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus });
    expect(
      evaluate(request('events:PutEvents', bus, { 'aws:principalarn': role }), [allow, policy]).allowed,
    ).toBe(true);
    const other = 'arn:aws:iam::123456789012:role/other';
    expect(
      evaluate(request('events:PutEvents', bus, { 'aws:principalarn': other }), [allow, policy]).reason,
    ).toBe('explicit-deny-resource');
  });

  it('fires the bucket policy deny on aws:SecureTransport false, and not on true', () => {
    const bucket = 'arn:aws:s3:::contexts';
    const policies = [
      identity({ Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucket}/*` }),
      resourcePolicy({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucket, `${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ];
    expect(
      evaluate(request('s3:GetObject', `${bucket}/k`, { 'aws:securetransport': 'true' }), policies).allowed,
    ).toBe(true);
    expect(
      evaluate(request('s3:GetObject', `${bucket}/k`, { 'aws:securetransport': 'false' }), policies),
    ).toEqual({
      allowed: false,
      reason: 'explicit-deny-resource',
      statements: [{ policy: 'ResourcePolicy', sid: 'DenyInsecureTransport' }],
    });
  });
});

describe('conditionHolds', () => {
  const onlyStale = { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['ecr-pipeline:stale-since'] } };
  const anyManagedBy = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['ecr-pipeline:managed-by'] } };

  it('ForAllValues holds when every tag key is listed (and with none), ForAnyValue when one is', () => {
    expect(conditionHolds(onlyStale, { 'aws:tagkeys': ['ecr-pipeline:stale-since'] })).toBe(true);
    expect(
      conditionHolds(onlyStale, { 'aws:tagkeys': ['ecr-pipeline:stale-since', 'ecr-pipeline:managed-by'] }),
    ).toBe(false);
    expect(conditionHolds(onlyStale, {})).toBe(true);
    expect(conditionHolds(anyManagedBy, { 'aws:tagkeys': ['x', 'ecr-pipeline:managed-by'] })).toBe(true);
    expect(conditionHolds(anyManagedBy, { 'aws:tagkeys': ['x'] })).toBe(false);
    expect(conditionHolds(anyManagedBy, {})).toBe(false);
  });

  it('reads tag keys with colons in condition keys, case-insensitively, and ANDs keys and operators', () => {
    const condition = {
      StringEquals: {
        'aws:RequestTag/ecr-pipeline:managed-by': 'stack',
        'aws:SourceAccount': '123456789012',
      },
      ...onlyStale,
    };
    const context = {
      'aws:requesttag/ecr-pipeline:managed-by': 'stack',
      'aws:sourceaccount': '123456789012',
      'aws:tagkeys': ['ecr-pipeline:stale-since'],
    };
    expect(conditionHolds(condition, context)).toBe(true);
    expect(conditionHolds(condition, { ...context, 'aws:sourceaccount': '999999999999' })).toBe(false);
    expect(conditionHolds(condition, { ...context, 'aws:requesttag/ecr-pipeline:managed-by': 'Stack' })).toBe(
      false,
    );
  });

  it('fails a positive operator on a missing key and passes a negated one; IfExists passes', () => {
    expect(conditionHolds({ StringEquals: { 'ecr:ResourceTag/owner': 'me' } }, {})).toBe(false);
    expect(conditionHolds({ StringNotEquals: { 'ecr:ResourceTag/owner': 'me' } }, {})).toBe(true);
    expect(conditionHolds({ StringEqualsIfExists: { 'ecr:ResourceTag/owner': 'me' } }, {})).toBe(true);
    expect(
      conditionHolds(
        { StringEqualsIfExists: { 'ecr:ResourceTag/owner': 'me' } },
        { 'ecr:resourcetag/owner': 'you' },
      ),
    ).toBe(false);
    expect(conditionHolds({ Null: { 'aws:ResourceTag/owner': 'true' } }, {})).toBe(true);
    expect(conditionHolds({ Null: { 'aws:ResourceTag/owner': 'false' } }, {})).toBe(false);
  });

  it('ORs the values of a positive operator and NORs those of a negated one', () => {
    expect(conditionHolds({ StringLike: { 's3:prefix': ['a/*', 'b/*'] } }, { 's3:prefix': 'b/x' })).toBe(
      true,
    );
    expect(
      conditionHolds({ StringNotEquals: { 'aws:SourceAccount': ['1', '2'] } }, { 'aws:sourceaccount': '2' }),
    ).toBe(false);
    expect(
      conditionHolds({ StringNotEquals: { 'aws:SourceAccount': ['1', '2'] } }, { 'aws:sourceaccount': '3' }),
    ).toBe(true);
  });

  it('refuses an operator it does not know rather than guessing', () => {
    expect(() => conditionHolds({ StringSoundsLike: { k: 'v' } }, {})).toThrow(/unknown condition operator/);
  });
});
