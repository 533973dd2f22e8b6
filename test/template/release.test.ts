// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { describe, expect, it } from 'vitest';
import { REPOSITORY_TAGS } from '../../functions/shared/contract.ts';
import { allStatements, list, readTemplate, resource, roleStatements, statement } from './template.ts';

const template = readTemplate();
const role = resource(template, 'ReleaseRole');
const statements = roleStatements(role);
const FUNCTION_ARN = { 'Fn::GetAtt': ['ReleaseLambdaFunction', 'Arn'] };
const BUCKET = 'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}';
const REPOSITORIES = { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*' };

describe('the release function', () => {
  const fn = resource(template, 'ReleaseLambdaFunction').Properties ?? {};

  it('runs with its own role and the stack gate "none" by default', () => {
    expect(fn.Role).toEqual({ 'Fn::GetAtt': ['ReleaseRole', 'Arn'] });
    expect(fn.Environment.Variables).toMatchObject({
      BUILD_PROJECT: 'ecr-pipeline-dev',
      EVENT_BUS_NAME: { Ref: 'BuildRejectedBus' },
      RELEASE_GATE: 'none',
      RELEASE_MAX_SEVERITY: 'HIGH',
      RELEASE_SCAN_TIMEOUT_SECONDS: '1800',
      FUNCTION_TIMEOUT_SECONDS: '60',
      BUILD_TIMEOUT_MINUTES: '30',
      BUILD_QUEUED_TIMEOUT_MINUTES: '60',
    });
  });

  it('is retried twice, then sends the event to an encrypted queue', () => {
    const config = Object.values(template.Resources).find(
      (res) =>
        res.Type === 'AWS::Lambda::EventInvokeConfig' &&
        (res.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === 'ReleaseLambdaFunction',
    );
    expect(config?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['ReleaseFailureQueue', 'Arn'] } } },
    });
    expect(resource(template, 'ReleaseFailureQueue').Properties?.SqsManagedSseEnabled).toBe(true);
  });
});

describe('the release rules', () => {
  it("takes only the succeeded builds of the stack's own project", () => {
    expect(resource(template, 'ReleaseBuildRule').Properties?.EventPattern).toEqual({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'project-name': ['ecr-pipeline-dev'], 'build-status': ['SUCCEEDED'] },
    });
  });

  it('takes basic and enhanced scan results of the managed repositories', () => {
    expect(resource(template, 'ReleaseScanRule').Properties?.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Scan'],
      detail: { 'scan-status': ['COMPLETE', 'FAILED'], 'repository-name': [{ wildcard: '*' }] },
    });
    expect(resource(template, 'ReleaseInspectorScanRule').Properties?.EventPattern).toMatchObject({
      source: ['aws.inspector2'],
      'detail-type': ['Inspector2 Scan'],
    });
  });

  it('judges the waiting releases on a schedule, with the check-pending input', () => {
    const rule = resource(template, 'ReleaseCheckRule').Properties ?? {};
    expect(rule.ScheduleExpression).toBe('rate(5 minutes)');
    expect(JSON.parse(rule.Targets[0].Input)).toEqual({ action: 'check-pending' });
  });

  it('sends every rule to the function with the failure queue as dead-letter queue, and lets only those rules invoke it', () => {
    const rules = ['ReleaseBuildRule', 'ReleaseScanRule', 'ReleaseInspectorScanRule', 'ReleaseCheckRule'];
    for (const rule of rules) {
      expect(resource(template, rule).Properties?.Targets).toEqual([
        expect.objectContaining({
          Arn: FUNCTION_ARN,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ReleaseFailureQueue', 'Arn'] } },
        }),
      ]);
    }
    const permissions = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(r.Properties?.FunctionName) === JSON.stringify(FUNCTION_ARN),
    );
    expect(permissions.map((p) => p.Properties?.Principal)).toEqual(rules.map(() => 'events.amazonaws.com'));
    expect(
      permissions
        .map((p) => p.Properties?.SourceArn)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(
      rules
        .map((r) => ({ 'Fn::GetAtt': [r, 'Arn'] }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });
});

describe('the release role', () => {
  it('holds exactly these statements, and these actions', () => {
    expect(Object.fromEntries(statements.map((s) => [s.Sid, list(s.Action).sort()]))).toEqual({
      Logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ReadUploadVersions: ['s3:GetObject'],
      UploadRecords: ['s3:GetObject', 's3:PutObject'],
      PendingReleases: ['s3:DeleteObject', 's3:PutObject'],
      ListPendingReleases: ['s3:ListBucket'],
      Verdicts: ['events:PutEvents'],
      ReadLegBuilds: ['codebuild:BatchGetBuilds'],
      ReadImages: ['ecr:DescribeImageScanFindings', 'ecr:DescribeImages'],
      MoveTagsInManagedRepositories: ['ecr:BatchGetImage', 'ecr:PutImage'],
      // releaseGate signed or scan,signed only (test/template/signing.test.ts); SignJoinedImages only with a profile.
      ReadSigningStatus: ['ecr:DescribeImageSigningStatus'],
      OnFailureDestination: ['sqs:SendMessage'],
      VpcDescribeNetworkInterfaces: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      VpcNetworkInterfaces: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:UnassignPrivateIpAddresses',
      ],
    });
  });

  it('deletes no image, repository or context, and tags nothing', () => {
    const actions = statements.filter((s) => !s.Sid?.startsWith('Vpc')).flatMap((s) => list(s.Action));
    expect(actions.filter((a) => /delete|tag|lifecycle|policy/i.test(a))).toEqual(['s3:DeleteObject']);
    expect(statement(statements, 'PendingReleases').Resource).toEqual({
      'Fn::Sub': `${BUCKET}/.ecr-pipeline/release-pending/*`,
    });
  });

  it("reads only the builds of the stack's own project (a leg whose event was lost)", () => {
    expect(statement(statements, 'ReadLegBuilds').Resource).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/ecr-pipeline-dev',
    });
  });

  it("moves tags only in repositories tagged as the stack's", () => {
    const move = statement(statements, 'MoveTagsInManagedRepositories');
    expect(move.Resource).toEqual(REPOSITORIES);
    expect(move.Condition).toEqual({
      StringEquals: { [`ecr:ResourceTag/${REPOSITORY_TAGS.managedBy}`]: 'ecr-pipeline-dev' },
    });
    expect(statement(statements, 'ReadImages').Resource).toEqual(REPOSITORIES);
  });

  it('writes index manifests (the join of the legs) only to managed repositories: PutImage has no other grant', () => {
    const puts = statements.filter((s) => list(s.Action).some((a) => /^ecr:(PutImage|\*)$/.test(a)));
    expect(puts.map((s) => s.Sid)).toEqual(['MoveTagsInManagedRepositories']);
    expect(puts[0]?.Condition).toEqual({
      StringEquals: { [`ecr:ResourceTag/${REPOSITORY_TAGS.managedBy}`]: 'ecr-pipeline-dev' },
    });
    // No layer upload: the index is a manifest over images the legs pushed, never new blobs.
    expect(statements.flatMap((s) => list(s.Action)).filter((a) => /Layer|UploadPart/.test(a))).toEqual([]);
  });

  it('reads only the context keys, the records and the image index, and lists only the pending markers', () => {
    expect(statement(statements, 'ReadUploadVersions').Resource).toEqual(
      ['*.tar.gz', '*.tgz', '*.tar'].map((suffix) => ({ 'Fn::Sub': `${BUCKET}/${suffix}` })),
    );
    expect(statement(statements, 'UploadRecords').Resource).toEqual([
      { 'Fn::Sub': `${BUCKET}/.ecr-pipeline/uploads/*` },
      { 'Fn::Sub': `${BUCKET}/.ecr-pipeline/images/*` },
    ]);
    expect(statement(statements, 'ListPendingReleases')).toMatchObject({
      Resource: { 'Fn::Sub': BUCKET },
      Condition: { StringEquals: { 's3:prefix': '.ecr-pipeline/release-pending/' } },
    });
  });

  it("puts events only on the stack's bus", () => {
    expect(statement(statements, 'Verdicts').Resource).toEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/ecr-pipeline-dev-build-rejected',
    });
  });
});

describe('the override', () => {
  it('needs lambda:InvokeFunction on the release function, which only the operator policy grants', () => {
    const invokers = allStatements(template).filter(({ statement: s }) =>
      list(s.Action).some((a) => a === 'lambda:InvokeFunction' || a === 'lambda:*'),
    );
    expect(invokers.map((i) => i.owner)).toEqual(['ReleaseOperatorPolicy']);
    expect(invokers[0]?.statement.Resource).toEqual(FUNCTION_ARN);
    expect(resource(template, 'ReleaseOperatorPolicy').Type).toBe('AWS::IAM::ManagedPolicy');
  });
});
