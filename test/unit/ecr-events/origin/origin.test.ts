import { describe, expect, it } from 'vitest';
import { foreignBuild, foreignOrigin } from '../../../../functions/ecr-events/origin/origin.ts';

const self = { account: '123456789012', region: 'us-east-1' };
const stack = { ...self, project: 'ecr-pipeline-dev' };
const BUILD =
  'arn:aws:codebuild:us-east-1:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';

/** An ECR Replication Action as the destination's bus receives it: account and region are the replica's. */
function replication(detail: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source: 'aws.ecr',
    'detail-type': 'ECR Replication Action',
    account: '210987654321',
    region: 'eu-west-1',
    detail,
    ...overrides,
  };
}
const pushedHere = { 'source-account': '123456789012', 'source-region': 'us-east-1' };

describe("an event's account and region", () => {
  it('accepts an event of its own account and region', () => {
    expect(
      foreignOrigin({ source: 'aws.ecr', account: '123456789012', region: 'us-east-1' }, self),
    ).toBeUndefined();
  });

  it('names the foreign account or region and its own, the account first', () => {
    expect(foreignOrigin({ account: '999999999999', region: 'eu-west-1' }, self)).toBe(
      `event from account "999999999999", not this function's (123456789012)`,
    );
    expect(foreignOrigin({ account: '123456789012', region: 'eu-west-1' }, self)).toBe(
      `event from region "eu-west-1", not this function's (us-east-1)`,
    );
  });

  it('quotes at most 100 characters of a foreign value, so a payload cannot flood the log', () => {
    const long = `${'9'.repeat(100)}${'x'.repeat(5000)}`;
    expect(foreignOrigin({ account: long, region: 'us-east-1' }, self)).toBe(
      `event from account "${'9'.repeat(100)}", not this function's (123456789012)`,
    );
    expect(foreignOrigin({ account: '123456789012', region: long }, self)).toBe(
      `event from region "${'9'.repeat(100)}", not this function's (us-east-1)`,
    );
  });

  it('says "none" for an origin that is missing or not text', () => {
    expect(foreignOrigin({ region: 'us-east-1' }, self)).toBe(
      `event from account none, not this function's (123456789012)`,
    );
    expect(foreignOrigin({ account: '123456789012', region: { name: 'us-east-1' } }, self)).toBe(
      `event from region none, not this function's (us-east-1)`,
    );
  });
});

describe("a replication action's origin: the pushed image's account and region", () => {
  it('accepts a replica in another account and region of an image pushed here', () => {
    expect(foreignOrigin(replication(pushedHere), self)).toBeUndefined();
  });

  it('refuses a replica of an image pushed in another account or region', () => {
    expect(foreignOrigin(replication({ ...pushedHere, 'source-account': '999999999999' }), self)).toBe(
      `event from account "999999999999", not this function's (123456789012)`,
    );
    expect(foreignOrigin(replication({ ...pushedHere, 'source-region': 'eu-west-1' }), self)).toBe(
      `event from region "eu-west-1", not this function's (us-east-1)`,
    );
  });

  it('judges a replication action without a detail object by its own account and region', () => {
    for (const detail of [null, 'text', undefined]) {
      expect(foreignOrigin(replication(detail), self)).toBe(
        `event from account "210987654321", not this function's (123456789012)`,
      );
      expect(
        foreignOrigin(replication(detail, { account: '123456789012', region: 'us-east-1' }), self),
      ).toBeUndefined();
    }
  });

  it('reads source-account only from ECR: another source or detail type is judged by its own account', () => {
    // A payload that copies the replication fields must not borrow the function's account through them.
    for (const overrides of [{ source: 'ecr-pipeline' }, { 'detail-type': 'ECR Image Action' }]) {
      expect(foreignOrigin(replication(pushedHere, overrides), self)).toBe(
        `event from account "210987654321", not this function's (123456789012)`,
      );
    }
    const here = { account: '123456789012', region: 'us-east-1' };
    expect(foreignOrigin(replication({}, { ...here, source: 'ecr-pipeline' }), self)).toBeUndefined();
  });
});

describe("a build ARN's project, account and region", () => {
  it("accepts a build of this stack's project, in every AWS partition", () => {
    expect(foreignBuild(BUILD, stack)).toBeUndefined();
    expect(foreignBuild(BUILD.replace('arn:aws:', 'arn:aws-us-gov:'), stack)).toBeUndefined();
    expect(foreignBuild(BUILD.replace('arn:aws:', 'arn:aws-cn:'), stack)).toBeUndefined();
  });

  it('names the build, the project, the account and the region it expected', () => {
    const other = 'arn:aws:codebuild:us-east-1:123456789012:build/other:8745a7a9';
    expect(foreignBuild(other, stack)).toBe(
      `build ${other} is not of this stack's project ecr-pipeline-dev in 123456789012 / us-east-1`,
    );
  });

  it.each([
    ['another account', BUILD.replace(':123456789012:', ':999999999999:')],
    ['another region', BUILD.replace(':us-east-1:', ':eu-west-1:')],
    ['another project', BUILD.replace('/ecr-pipeline-dev:', '/ecr-pipeline-prod:')],
    ['a project that begins like ours', BUILD.replace('/ecr-pipeline-dev:', '/ecr-pipeline-dev-x:')],
  ])('refuses a build of %s', (_what, arn) => {
    expect(foreignBuild(arn, stack)).toBe(
      `build ${arn} is not of this stack's project ecr-pipeline-dev in 123456789012 / us-east-1`,
    );
  });

  it.each([
    ['text before the ARN', `x${BUILD}`],
    ['text after the build id', `${BUILD}:extra`],
    ['a path after the build id', `${BUILD}/x`],
    ['no build id', 'arn:aws:codebuild:us-east-1:123456789012:build/ecr-pipeline-dev:'],
    ['no project', 'arn:aws:codebuild:us-east-1:123456789012:build/:8745a7a9'],
    ['another service', BUILD.replace(':codebuild:', ':ecr:')],
    ['another partition word', BUILD.replace('arn:aws:', 'arn:amazon:')],
    ['a project rather than a build', 'arn:aws:codebuild:us-east-1:123456789012:project/ecr-pipeline-dev'],
    [
      'a field with a colon in it',
      'arn:aws:codebuild:us-east-1:123456789012:x:build/ecr-pipeline-dev:8745a7a9',
    ],
  ])('says an id with %s is not a CodeBuild build ARN', (_what, id) => {
    expect(foreignBuild(id, stack)).toBe(
      `build id ${JSON.stringify(id.slice(0, 100))} is not a CodeBuild build ARN`,
    );
  });

  it('takes the account and region from their own fields, not from a look-alike elsewhere', () => {
    // The region field empty and the account in its place: a lax pattern would read the fields shifted.
    const shifted = 'arn:aws:codebuild::123456789012:build/ecr-pipeline-dev:8745a7a9';
    expect(foreignBuild(shifted, stack)).toBe(
      `build ${shifted} is not of this stack's project ecr-pipeline-dev in 123456789012 / us-east-1`,
    );
  });
});
