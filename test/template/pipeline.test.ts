// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/build-trigger/config.ts';
import { REPOSITORY_TAGS } from '../../functions/shared/contract.ts';
import { CONTEXT_EXTENSIONS, parseContextKey } from '../../functions/shared/naming.ts';
import {
  allStatements,
  list,
  packagedWith,
  type Resource,
  readTemplate,
  resource,
  roleStatements,
  root,
  type Statement,
  statement,
} from './template.ts';

const template = readTemplate();
const bucket = resource(template, 'ContextBucket');
const BUCKET_NAME = { 'Fn::Sub': 'ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}' };

describe('the contexts bucket', () => {
  it('is private, encrypted, versioned and owned by the bucket owner', () => {
    expect(bucket.Properties?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      bucket.Properties?.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(bucket.Properties?.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties?.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  });

  it('has a name built from pseudo parameters, so packaging needs no account', () => {
    expect(bucket.Properties?.BucketName).toEqual(BUCKET_NAME);
    expect(
      resource(template, 'BuildTriggerLambdaFunction').Properties?.Environment.Variables.CONTEXT_BUCKET,
    ).toEqual(BUCKET_NAME);
  });

  it('refuses requests without TLS', () => {
    const policy = resource(template, 'ContextBucketPolicy').Properties?.PolicyDocument;
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: [
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}',
          },
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/*',
          },
        ],
      }),
    );
  });

  it("denies every principal but the function roles anything but reading the pipeline's state", () => {
    const policy = resource(template, 'ContextBucketPolicy').Properties?.PolicyDocument;
    const state = statement(policy.Statement, 'StateWrittenOnlyByFunctions') as Statement & {
      Principal: unknown;
      NotAction: string[];
    };
    expect(state).toMatchObject({ Effect: 'Deny', Principal: '*' });
    expect(state.Action).toBeUndefined();
    // Only reads are left out of the deny: puts, copies, multipart uploads, deletes, tagging, ACLs, retention.
    expect(state.NotAction.every((action) => /^s3:Get[A-Za-z]*$/.test(action))).toBe(true);
    expect(state.NotAction).not.toContain('s3:*');
    expect(state.Resource).toEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/*',
    });
    expect(state.Condition).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': [
          { 'Fn::GetAtt': ['BuildTriggerRole', 'Arn'] },
          { 'Fn::GetAtt': ['EcrEventsRole', 'Arn'] },
          { 'Fn::GetAtt': ['ReleaseRole', 'Arn'] },
        ],
      },
    });
  });

  it('admits to the state exactly the roles whose policies write it', () => {
    const policy = resource(template, 'ContextBucketPolicy').Properties?.PolicyDocument;
    const admitted = (
      statement(policy.Statement, 'StateWrittenOnlyByFunctions').Condition as {
        ArnNotEquals: { 'aws:PrincipalArn': Array<{ 'Fn::GetAtt': [string, string] }> };
      }
    ).ArnNotEquals['aws:PrincipalArn'].map((arn) => arn['Fn::GetAtt'][0]);
    const writers = allStatements(template)
      .filter(({ statement: s }) => s.Effect === 'Allow')
      .filter(({ statement: s }) => list(s.Action).some((a) => /^s3:(Put|Delete)Object/.test(a)))
      .filter(({ statement: s }) => JSON.stringify(s.Resource).includes('.ecr-pipeline/'))
      .map(({ owner }) => owner);
    expect(new Set(writers)).toEqual(new Set(admitted));
    expect(admitted).not.toContain('BuildRole');
  });

  it('expires old contexts, their noncurrent versions, the upload records, the image index and the scan memory', () => {
    const rules = bucket.Properties?.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Id: 'expire-contexts',
        Status: 'Enabled',
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 7 },
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        Id: 'expire-upload-records',
        Prefix: '.ecr-pipeline/uploads/',
        ExpirationInDays: 30,
      }),
    );
    expect(rules).toContainEqual({
      Id: 'expire-image-index',
      Status: 'Enabled',
      Prefix: '.ecr-pipeline/images/',
      ExpirationInDays: 30,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
    // An image whose findings did not change for a year is told again once.
    expect(rules).toContainEqual({
      Id: 'expire-scan-memory',
      Status: 'Enabled',
      Prefix: '.ecr-pipeline/scan-memory/',
      ExpirationInDays: 365,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
  });

  it('notifies build-trigger of created objects, one rule per suffix it builds or refuses by name, none overlapping', () => {
    const configs = bucket.Properties?.NotificationConfiguration.LambdaConfigurations as {
      Event: string;
      Function: unknown;
      Filter: { S3Key: { Rules: unknown } };
    }[];
    const suffixes = configs.map((config) => {
      expect(config.Event).toBe('s3:ObjectCreated:*');
      expect(config.Function).toEqual({ 'Fn::GetAtt': ['BuildTriggerLambdaFunction', 'Arn'] });
      // Rules: Fn::If [HasContextPrefix, with prefix, without]; default: no prefix.
      const [, withPrefix, without] = (
        config.Filter.S3Key.Rules as { 'Fn::If': [string, unknown[], unknown[]] }
      )['Fn::If'];
      expect(without).toHaveLength(1);
      expect(withPrefix).toContainEqual({ Name: 'prefix', Value: '' });
      return (without[0] as { Value: string }).Value;
    });
    // Every context extension is built; .zip reaches the function to be refused with a notification.
    expect(suffixes.sort()).toEqual([...CONTEXT_EXTENSIONS, '.zip'].sort());
    expect(parseContextKey('api/v1.zip', '')).toMatchObject({
      ok: false,
      rejection: { code: 'UnsupportedExtension' },
    });
    for (const a of suffixes) for (const b of suffixes) if (a !== b) expect(a.endsWith(b)).toBe(false);
    // The upload records (.json) never match.
    expect(suffixes.some((suffix) => 'x.json'.endsWith(suffix))).toBe(false);
  });

  it('lets S3 invoke the function without a dependency cycle', () => {
    const permission = resource(template, 'BuildTriggerS3Permission');
    expect(permission.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['BuildTriggerLambdaFunction', 'Arn'] },
      Principal: 's3.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Sub': 'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}',
      },
    });
    expect(list(bucket.DependsOn)).toContain('BuildTriggerS3Permission');
    expect(JSON.stringify(resource(template, 'BuildTriggerRole'))).not.toContain('"ContextBucket"');
    expect(JSON.stringify(resource(template, 'BuildTriggerLambdaFunction'))).not.toContain('"ContextBucket"');
  });
});

describe('the CodeBuild project', () => {
  const project = resource(template, 'BuildProject').Properties ?? {};

  it('has no source and runs buildspec/buildspec.yml with the bundle of the build session filled in', () => {
    const rendered = readFileSync(`${root}buildspec/buildspec.yml`, 'utf8');
    const placeholder = '{{@dist/build-session/build-session.mjs}}';
    expect(rendered).toContain(placeholder);
    expect(project.Source.Type).toBe('NO_SOURCE');
    const lines: string[] = project.Source.BuildSpec.split('\n');
    const at = rendered.split('\n').findIndex((line) => line.includes(placeholder));
    // Everything but the placeholder line is the rendered buildspec, verbatim.
    const bundleLines = lines.length - rendered.split('\n').length + 1;
    expect([...lines.slice(0, at), ...lines.slice(at + bundleLines)].join('\n')).toBe(
      rendered
        .split('\n')
        .filter((_, i) => i !== at)
        .join('\n'),
    );
    const encoded = lines
      .slice(at, at + bundleLines)
      .map((line) => line.trim())
      .join('');
    expect(
      gunzipSync(Buffer.from(encoded, 'base64')).equals(
        readFileSync(`${root}dist/build-session/build-session.mjs`),
      ),
    ).toBe(true);
    expect(project.Artifacts).toEqual({ Type: 'NO_ARTIFACTS' });
  });

  it('runs privileged, with the compute type, image, architecture and timeouts of the parameters', () => {
    expect(project.Environment).toMatchObject({
      Type: 'LINUX_CONTAINER',
      ComputeType: 'BUILD_GENERAL1_SMALL',
      Image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      PrivilegedMode: true,
      EnvironmentVariables: [
        {
          Name: 'BUILD_SESSION_ROLE_ARN',
          Type: 'PLAINTEXT',
          Value: { 'Fn::GetAtt': ['BuildSessionRole', 'Arn'] },
        },
        { Name: 'BASE_PULL_PATTERN', Type: 'PLAINTEXT', Value: '' },
        { Name: 'BUILD_TIMEOUT_MINUTES', Type: 'PLAINTEXT', Value: 30 },
        { Name: 'CONTEXT_MAX_FILES', Type: 'PLAINTEXT', Value: 50000 },
        { Name: 'CONTEXT_MAX_EXTRACTED_BYTES', Type: 'PLAINTEXT', Value: 21474836480 },
        {
          Name: 'BUILDKIT_IMAGE',
          Type: 'PLAINTEXT',
          Value:
            'moby/buildkit:v0.31.2@sha256:2f5adac4ecd194d9f8c10b7b5d7bceb5186853db1b26e5abd3a657af0b7e26ec',
        },
        {
          Name: 'BINFMT_IMAGE',
          Type: 'PLAINTEXT',
          Value:
            'tonistiigi/binfmt:qemu-v10.2.3@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0',
        },
        { Name: 'BUILD_SECRETS_PREFIX', Type: 'PLAINTEXT', Value: '/ecr-pipeline/dev/build-secrets/' },
        { Name: 'BUILD_COMPUTE', Type: 'PLAINTEXT', Value: 'on-demand' },
        { Name: 'PULL_THROUGH_CACHE', Type: 'PLAINTEXT', Value: '' },
        { Name: 'SIGNING_PROFILE_ARN', Type: 'PLAINTEXT', Value: '' },
      ],
    });
    expect(project.TimeoutInMinutes).toBe(30);
    expect(project.QueuedTimeoutInMinutes).toBe(60);
    expect(project.ServiceRole).toEqual({ 'Fn::GetAtt': ['BuildRole', 'Arn'] });
  });

  it('logs to a log group with a retention', () => {
    expect(project.LogsConfig).toEqual({
      CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: 'BuildLogGroup' } },
    });
    expect(resource(template, 'BuildLogGroup').Properties?.RetentionInDays).toBe(30);
  });

  it('gives no build access to the retired shared cache repository', () => {
    expect(resource(template, 'BuildCacheRepository').Properties).toMatchObject({
      RepositoryName: 'ecr-pipeline-dev/build-cache',
    });
    for (const role of ['BuildRole', 'BuildSessionRole'])
      expect(JSON.stringify(roleStatements(resource(template, role)))).not.toContain('BuildCacheRepository');
    expect(JSON.stringify(project.Environment)).not.toContain('BuildCacheRepository');
  });
});

describe('the build-trigger function', () => {
  const fn = resource(template, 'BuildTriggerLambdaFunction').Properties ?? {};

  it('runs on nodejs24.x arm64 with its own role and log retention', () => {
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Role).toEqual({ 'Fn::GetAtt': ['BuildTriggerRole', 'Arn'] });
    expect(resource(template, 'BuildTriggerLogGroup').Properties?.RetentionInDays).toBe(30);
    expect(fn.Environment.Variables).toMatchObject({
      BUILD_PROJECT: 'ecr-pipeline-dev',
      STACK_NAME: 'ecr-pipeline-dev',
      TAG_MUTABILITY: 'IMMUTABLE',
      REPOSITORY_PATTERN: '*',
    });
  });

  it('starts each platform leg on its native environment: amd64 LINUX_CONTAINER, arm64 ARM_CONTAINER', () => {
    // The trigger overrides the project's environment per StartBuild with these (platforms.ts).
    expect(fn.Environment?.Variables).toMatchObject({
      AMD64_BUILD_IMAGE: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      AMD64_BUILD_COMPUTE_TYPE: 'BUILD_GENERAL1_SMALL',
      ARM64_BUILD_IMAGE: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
      ARM64_BUILD_COMPUTE_TYPE: 'BUILD_GENERAL1_SMALL',
      LAMBDA_SAFE: 'false',
    });
    const env = loadConfig({
      ...fn.Environment?.Variables,
      AWS_REGION: 'us-east-1',
      CONTEXT_BUCKET: 'b',
      EVENT_BUS_NAME: 'e',
    });
    expect(env.nativeEnvironments.amd64?.type).toBe('LINUX_CONTAINER');
    expect(env.nativeEnvironments.arm64?.type).toBe('ARM_CONTAINER');
  });

  it('draws on the unreserved pool of the account unless a reservation is asked for', () => {
    expect(fn).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('is retried twice, then sends the event to an encrypted queue', () => {
    const config = Object.values(template.Resources).find(
      (res) =>
        res.Type === 'AWS::Lambda::EventInvokeConfig' &&
        (res.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === 'BuildTriggerLambdaFunction',
    );
    expect(config?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': ['BuildTriggerFailureQueue', 'Arn'] } },
      },
    });
    expect(resource(template, 'BuildTriggerFailureQueue').Properties?.SqsManagedSseEnabled).toBe(true);
  });
});

const MANAGED_BY = REPOSITORY_TAGS.managedBy;
const PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const PUSH = ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'];

/** The Condition name of the Fn::If that holds the statement with this Sid in the role's policies. */
function gate(role: Resource, sid: string): string | undefined {
  const policies = (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[];
  for (const item of policies.flatMap((p) => p.PolicyDocument.Statement)) {
    const fnIf = (item as { 'Fn::If'?: [string, { Sid?: string }, unknown] })['Fn::If'];
    if (fnIf?.[1].Sid === sid) return fnIf[0];
  }
  return undefined;
}

describe('the failure queue of build-trigger', () => {
  it('takes messages from the function role alone, whatever other identity policies allow', () => {
    const policy = resource(template, 'BuildTriggerFailureQueuePolicy').Properties;
    expect(policy?.Queues).toEqual([{ Ref: 'BuildTriggerFailureQueue' }]);
    expect(policy?.PolicyDocument.Statement).toEqual([
      {
        Sid: 'OnlyTheFunction',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['BuildTriggerFailureQueue', 'Arn'] },
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['BuildTriggerRole', 'Arn'] } } },
      },
    ]);
  });
});

describe('IAM', () => {
  const REPOSITORIES = {
    'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*',
  };

  it('grants no "*" action anywhere in the template', () => {
    for (const { owner, statement: s } of allStatements(template)) {
      for (const action of list(s.Action)) {
        expect(action, `${owner} ${s.Sid ?? ''}`).not.toBe('*');
        if (s.Effect === 'Allow') expect(action, `${owner} ${s.Sid ?? ''}`).not.toMatch(/:\*$/);
      }
    }
  });

  it("lets CodeBuild's role write its logs and assume the build session role, nothing else", () => {
    const role = resource(template, 'BuildRole');
    const statements = roleStatements(role);
    // Besides: CodeBuild's network interface in a VPC, gated by InVpc (test/template/network.test.ts).
    expect(statements.map((s) => s.Sid)).toEqual([
      'Logs',
      'AssumeBuildSession',
      'VpcNetworkInterfaces',
      'VpcNetworkInterfacePermission',
    ]);
    expect(gate(role, 'VpcNetworkInterfaces')).toBe('InVpc');
    expect(gate(role, 'VpcNetworkInterfacePermission')).toBe('InVpc');
    expect(statement(statements, 'AssumeBuildSession')).toEqual({
      Sid: 'AssumeBuildSession',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecr-pipeline-dev-build-session',
      },
    });
    expect(JSON.stringify(statements)).not.toMatch(/"(s3|ecr):/);
  });

  it('lets only the CodeBuild role assume the build session role, for at most 12 hours', () => {
    const session = resource(template, 'BuildSessionRole').Properties ?? {};
    expect(session.RoleName).toBe('ecr-pipeline-dev-build-session');
    expect(session.MaxSessionDuration).toBe(43200);
    expect(session.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::GetAtt': ['BuildRole', 'Arn'] } },
        Action: 'sts:AssumeRole',
      },
    ]);
    const assumers = allStatements(template).filter(({ statement: s }) =>
      list(s.Action).some((a) => a.startsWith('sts:Assume')),
    );
    expect(assumers.map(({ owner }) => owner)).toEqual(['BuildRole']);
  });

  it('gives the build session read access to the contexts only, and ecr:GetAuthorizationToken alone on *', () => {
    const statements = roleStatements(resource(template, 'BuildSessionRole'));
    const onStar = statements.filter((s) => list(s.Resource as string).includes('*'));
    expect(onStar.map((s) => s.Action)).toEqual(['ecr:GetAuthorizationToken']);
    expect(statement(statements, 'ReadContexts')).toMatchObject({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/*',
      },
    });
    expect(JSON.stringify(statements)).not.toMatch(/s3:(Put|Delete)/);
  });

  it('scopes every build-trigger permission to what it touches', () => {
    const role = resource(template, 'BuildTriggerRole');
    const statements = roleStatements(role);
    // Only with functionsInVpc, for the function's network interfaces (test/template/network.test.ts).
    expect(
      statements
        .filter((s) => list(s.Resource as string).includes('*'))
        .map((s) => [s.Sid, gate(role, s.Sid ?? '')]),
    ).toEqual([['VpcDescribeNetworkInterfaces', 'FunctionsInVpc']]);
    expect(statement(statements, 'StartBuild')).toMatchObject({
      Action: ['codebuild:StartBuild', 'codebuild:ListBuildsForProject', 'codebuild:BatchGetBuilds'],
      Resource: { 'Fn::GetAtt': ['BuildProject', 'Arn'] },
    });
    expect(statement(statements, 'BuildRejectedEvents').Resource).toEqual({
      'Fn::Sub':
        'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/ecr-pipeline-dev-build-rejected',
    });
    expect(statement(statements, 'UploadRecords')).toMatchObject({
      // GetObject: a 412 on the claim reads the record back (its own claim, or an expired one).
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/uploads/*',
      },
    });
    // The object's metadata (platforms, lambda-safe) of the context keys only, never the records.
    expect(statement(statements, 'ReadUploadMetadata')).toMatchObject({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: ['.tar.gz', '.tgz', '.tar'].map((suffix) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-\${AWS::AccountId}-\${AWS::Region}/*${suffix}`,
      })),
    });
    // The KMS statement exists only when encryptionType is KMS (see the packaging with parameters below).
    expect(template.Conditions?.UsesKms).toEqual({ 'Fn::Equals': ['AES256', 'KMS'] });
  });

  it("lets the build session push to and pull from only repositories tagged with this stack's name", () => {
    const statements = roleStatements(resource(template, 'BuildSessionRole'));
    expect(statement(statements, 'ManagedRepositories')).toEqual({
      Sid: 'ManagedRepositories',
      Effect: 'Allow',
      Action: [...PULL, ...PUSH],
      Resource: REPOSITORIES,
      Condition: { StringEquals: { [`ecr:ResourceTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' } },
    });
  });

  it('grants the build session no repository action beyond those, unless adoptRepositoryPattern or basePullPattern is set', () => {
    const role = resource(template, 'BuildSessionRole');
    const ecrAllows = roleStatements(role).filter(
      (s) =>
        s.Effect === 'Allow' &&
        list(s.Action).some((a) => a !== 'ecr:GetAuthorizationToken' && a.startsWith('ecr:')),
    );
    expect(ecrAllows.map((s) => s.Sid)).toEqual([
      'ManagedRepositories',
      'AdoptedRepositories',
      'PullBaseImages',
    ]);
    // Both extra statements are Fn::If branches of conditions that are false by default.
    expect(gate(role, 'AdoptedRepositories')).toBe('AdoptsRepositories');
    expect(gate(role, 'PullBaseImages')).toBe('PullsBaseImages');
    expect(template.Conditions?.AdoptsRepositories).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
    expect(template.Conditions?.PullsBaseImages).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
    expect(resource(template, 'BuildTriggerLambdaFunction').Properties?.Environment.Variables).toMatchObject({
      ADOPT_REPOSITORY_PATTERN: '',
    });
  });

  it("lets build-trigger create a repository only with this stack's managed-by tag, and no other tag", () => {
    const statements = roleStatements(resource(template, 'BuildTriggerRole'));
    const creating = statements.filter((s) => list(s.Action).includes('ecr:CreateRepository'));
    expect(creating).toEqual([
      {
        Sid: 'CreateManagedRepositories',
        Effect: 'Allow',
        Action: 'ecr:CreateRepository',
        Resource: REPOSITORIES,
        Condition: {
          StringEquals: { [`aws:RequestTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [MANAGED_BY] },
        },
      },
    ]);
  });

  it('lets build-trigger read any repository of the pattern but configure only managed ones', () => {
    const statements = roleStatements(resource(template, 'BuildTriggerRole'));
    expect(statement(statements, 'ReadRepositories')).toEqual({
      Sid: 'ReadRepositories',
      Effect: 'Allow',
      Action: ['ecr:DescribeRepositories', 'ecr:DescribeImages', 'ecr:ListTagsForResource'],
      Resource: REPOSITORIES,
    });
    const configuring = statements.filter((s) => list(s.Action).includes('ecr:PutLifecyclePolicy'));
    expect(configuring).toEqual([
      expect.objectContaining({
        Action: 'ecr:PutLifecyclePolicy',
        Resource: REPOSITORIES,
        Condition: { StringEquals: { [`ecr:ResourceTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' } },
      }),
    ]);
    expect(statement(statements, 'ClearStaleMark')).toEqual({
      Sid: 'ClearStaleMark',
      Effect: 'Allow',
      Action: 'ecr:UntagResource',
      Resource: REPOSITORIES,
      Condition: {
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [REPOSITORY_TAGS.staleSince] },
      },
    });
    expect(JSON.stringify(statements.filter((s) => s.Effect === 'Allow'))).not.toContain('ecr:TagResource');
  });

  it('lets no role put or remove the managed-by tag: tag grants are limited to the stale mark on managed repositories', () => {
    const tagging = allStatements(template).filter(
      ({ statement: s }) =>
        s.Effect === 'Allow' &&
        list(s.Action).some((a) => a === 'ecr:TagResource' || a === 'ecr:UntagResource' || a === 'ecr:*'),
    );
    expect(tagging.map(({ owner }) => owner).sort()).toEqual(['BuildTriggerRole', 'EcrEventsRole']);
    for (const { owner, statement: s } of tagging) {
      expect(s.Condition, owner).toMatchObject({
        StringEquals: { [`aws:ResourceTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [REPOSITORY_TAGS.staleSince] },
      });
    }
    for (const role of ['BuildTriggerRole', 'EcrEventsRole', 'BuildRole', 'BuildSessionRole']) {
      const denies = roleStatements(resource(template, role)).filter(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes(MANAGED_BY),
      );
      if (role === 'BuildRole' || role === 'BuildSessionRole') {
        // The build role has no tagging grant at all.
        expect(JSON.stringify(roleStatements(resource(template, role)))).not.toMatch(/Tag(Resource|Keys)/);
        continue;
      }
      expect(denies, role).toEqual([
        {
          Sid: 'NeverTheManagedByTag',
          Effect: 'Deny',
          Action: ['ecr:TagResource', 'ecr:UntagResource'],
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*' },
          Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': [MANAGED_BY] } },
        },
      ]);
    }
  });
});

describe('packaged with parameters', () => {
  const custom = packagedWith({
    contextPrefix: 'contexts/',
    repositoryPattern: 'team-*',
    encryptionType: 'KMS',
    buildEnvironmentType: 'ARM_CONTAINER',
    buildTriggerReservedConcurrency: '10',
    adoptRepositoryPattern: 'legacy/*',
    basePullPattern: 'base/*',
    arm64BuildImage: 'none',
    amd64BuildComputeType: 'BUILD_GENERAL1_LARGE',
    lambdaSafe: 'true',
  });

  it("takes each architecture's environment and the Lambda-safe setting from the parameters", () => {
    const variables = resource(custom, 'BuildTriggerLambdaFunction').Properties?.Environment.Variables;
    expect(variables).toMatchObject({ ARM64_BUILD_IMAGE: 'none', LAMBDA_SAFE: 'true' });
    const config = loadConfig({
      ...variables,
      AWS_REGION: 'us-east-1',
      CONTEXT_BUCKET: 'b',
      EVENT_BUS_NAME: 'e',
    });
    expect(config.lambdaSafe).toBe(true);
    // No ARM environment: arm64 legs build emulated on the amd64 one, of the compute type asked.
    expect(config.nativeEnvironments).toEqual({
      amd64: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
        computeType: 'BUILD_GENERAL1_LARGE',
      },
    });
  });

  it('lets the build session push to adopted repositories and pull private base images when the patterns are set', () => {
    const role = resource(custom, 'BuildSessionRole');
    const statements = roleStatements(role);
    const repositories = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${name}`,
    });
    expect(custom.Conditions?.AdoptsRepositories).toEqual({
      'Fn::Not': [{ 'Fn::Equals': ['legacy/*', ''] }],
    });
    expect(custom.Conditions?.PullsBaseImages).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['base/*', ''] }] });
    expect(gate(role, 'AdoptedRepositories')).toBe('AdoptsRepositories');
    expect(statement(statements, 'AdoptedRepositories')).toMatchObject({
      Effect: 'Allow',
      Action: [...PULL, ...PUSH],
      Resource: repositories('legacy/*'),
    });
    expect(statement(statements, 'PullBaseImages')).toEqual({
      Sid: 'PullBaseImages',
      Effect: 'Allow',
      Action: PULL,
      Resource: repositories('base/*'),
    });
    // Managed repositories stay scoped by the repository pattern and the tag.
    expect(statement(statements, 'ManagedRepositories')).toMatchObject({
      Resource: repositories('team-*'),
      Condition: { StringEquals: { [`ecr:ResourceTag/${MANAGED_BY}`]: 'ecr-pipeline-dev' } },
    });
    expect(
      resource(custom, 'BuildTriggerLambdaFunction').Properties?.Environment.Variables
        .ADOPT_REPOSITORY_PATTERN,
    ).toBe('legacy/*');
    // The build's session policy narrows base-image pulls to the same pattern.
    expect(resource(custom, 'BuildProject').Properties?.Environment.EnvironmentVariables).toContainEqual({
      Name: 'BASE_PULL_PATTERN',
      Type: 'PLAINTEXT',
      Value: 'base/*',
    });
  });

  it('reserves the build-trigger concurrency it is given', () => {
    expect(resource(custom, 'BuildTriggerLambdaFunction').Properties?.ReservedConcurrentExecutions).toBe(10);
  });

  it('filters notifications and scopes permissions by the prefix and the repository pattern', () => {
    const rules = resource(custom, 'ContextBucket').Properties?.NotificationConfiguration
      .LambdaConfigurations[0].Filter.S3Key.Rules['Fn::If'][1];
    expect(rules).toEqual([
      { Name: 'prefix', Value: 'contexts/' },
      { Name: 'suffix', Value: '.tar.gz' },
    ]);
    const trigger = roleStatements(resource(custom, 'BuildTriggerRole'));
    expect(statement(trigger, 'ReadRepositories').Resource).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/team-*',
    });
    expect(JSON.stringify(statement(trigger, 'UploadRecords').Resource)).toContain(
      '/contexts/.ecr-pipeline/uploads/*',
    );
    const events = roleStatements(resource(custom, 'EcrEventsRole'));
    expect(JSON.stringify(statement(events, 'UploadRecords').Resource)).toContain(
      '/contexts/.ecr-pipeline/images/*',
    );
    expect(JSON.stringify(statement(events, 'UploadRecords').Resource)).toContain(
      '/contexts/.ecr-pipeline/scan-memory/*',
    );
    expect(resource(custom, 'ContextBucket').Properties?.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Id: 'expire-image-index', Prefix: 'contexts/.ecr-pipeline/images/' }),
    );
    expect(statement(trigger, 'RepositoryEncryptionKey')).toMatchObject({
      Action: ['kms:CreateGrant', 'kms:RetireGrant', 'kms:DescribeKey'],
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'ecr.${AWS::Region}.${AWS::URLSuffix}' } },
      },
    });
    expect(custom.Conditions?.UsesKms).toEqual({ 'Fn::Equals': ['KMS', 'KMS'] });
    expect(resource(custom, 'BuildProject').Properties?.Environment.Type).toBe('ARM_CONTAINER');
  });
});

describe('cfn-lint', () => {
  // Warnings allowed, each with its reason; any other finding fails.
  const ALLOWED: Record<string, string> = {
    W3005: 'Serverless adds DependsOn on a custom role it also references with Fn::GetAtt',
    W8003:
      'parameters are resolved at packaging, so Conditions compare constants (kept so the template reads as intent)',
  };

  it('finds no error and no unexplained warning in the packaged template', () => {
    // Lint the template this file read: a concurrent packaging may be rewriting .serverless/.
    const copy = join(mkdtempSync(join(tmpdir(), 'cfn-lint-')), 'template.json');
    writeFileSync(copy, JSON.stringify(template, null, 2));
    const run = spawnSync('cfn-lint', ['--format', 'json', copy], { encoding: 'utf8' });
    expect(run.error, 'cfn-lint must be installed (pip install cfn-lint)').toBeUndefined();
    // Its exit status is a bit mask: 1 = it failed to run, 2 = errors, 4 = warnings, 8 = informational.
    // A crash that prints only to stderr must fail here, not pass as "no findings".
    expect(run.status, run.stderr).not.toBeNull();
    expect((run.status ?? 1) & 0b11, run.stderr).toBe(0);
    const findings = JSON.parse(run.stdout) as {
      Level: string;
      Message: string;
      Rule: { Id: string };
    }[];
    const unexplained = findings.filter((f) => f.Level === 'Error' || !(f.Rule.Id in ALLOWED));
    expect(unexplained.map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
    // cfn-lint takes seconds, more when other template files package beside it.
  }, 120_000);
});
