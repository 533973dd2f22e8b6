// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { describe, expect, it } from 'vitest';
import {
  BUILD_REJECTED,
  EVENT_SOURCE,
  RELEASE_VERDICT,
  REPOSITORY_TAGS,
} from '../../functions/shared/contract.ts';
import {
  list,
  packagedWith,
  readTemplate,
  resource,
  roleStatements,
  type Statement,
  statement,
  type Template,
} from './template.ts';

const template = readTemplate();
const FUNCTION_ARN = { 'Fn::GetAtt': ['EcrEventsLambdaFunction', 'Arn'] };
const REPOSITORIES = { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*' };

/** The pattern of a rule, with the default branch of an Fn::If (parameters are resolved when packaging). */
function pattern(t: Template, rule: string, branch = 1) {
  const text = JSON.stringify(resource(t, rule).Properties?.EventPattern);
  return JSON.parse(text, (_key, value) =>
    value && typeof value === 'object' && 'Fn::If' in value ? value['Fn::If'][branch] : value,
  );
}

describe('the rules', () => {
  const rules = [
    'EcrImageActionRule',
    'EcrImageScanRule',
    'InspectorScanRule',
    'InspectorFindingRule',
    'BuildStateRule',
    'BuildRejectedRule',
  ];

  it.each(rules.concat('SweepScheduleRule'))(
    '%s invokes the function, with a permission scoped to the rule',
    (rule) => {
      const r = resource(template, rule);
      expect(r.Properties?.Targets).toEqual([
        {
          Id: 'ecr-events',
          Arn: FUNCTION_ARN,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['EcrEventsFailureQueue', 'Arn'] } },
        },
      ]);
      const permission = Object.values(template.Resources).find(
        (p) =>
          p.Type === 'AWS::Lambda::Permission' &&
          JSON.stringify(p.Properties?.SourceArn) === JSON.stringify({ 'Fn::GetAtt': [rule, 'Arn'] }),
      );
      expect(permission?.Properties).toMatchObject({
        Principal: 'events.amazonaws.com',
        FunctionName: FUNCTION_ARN,
      });
    },
  );

  it('takes pushes and deletions of the managed repositories, not the build cache', () => {
    expect(pattern(template, 'EcrImageActionRule', 1)).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH', 'DELETE'],
        'repository-name': [{ 'anything-but': ['ecr-pipeline-dev/build-cache'] }],
      },
    });
    expect(pattern(template, 'EcrImageScanRule', 1).detail).toEqual({
      'repository-name': [{ 'anything-but': ['ecr-pipeline-dev/build-cache'] }],
    });
    // With a narrower repository pattern the rules match it (second branch).
    expect(pattern(template, 'EcrImageActionRule', 2).detail['repository-name']).toEqual([{ wildcard: '*' }]);
  });

  it('matches Inspector scans by repository ARN', () => {
    expect(pattern(template, 'InspectorScanRule', 2)).toEqual({
      source: ['aws.inspector2'],
      'detail-type': ['Inspector2 Scan'],
      detail: { 'repository-name': [{ wildcard: REPOSITORIES }] },
    });
  });

  it('takes the active Inspector findings of images in the managed repositories, not the build cache', () => {
    const image = (repositoryName: unknown) => ({
      source: ['aws.inspector2'],
      'detail-type': ['Inspector2 Finding'],
      detail: {
        status: ['ACTIVE'],
        resources: {
          type: ['AWS_ECR_CONTAINER_IMAGE'],
          details: { awsEcrContainerImage: { repositoryName } },
        },
      },
    });
    expect(pattern(template, 'InspectorFindingRule', 1)).toEqual(
      image([{ 'anything-but': ['ecr-pipeline-dev/build-cache'] }]),
    );
    expect(pattern(template, 'InspectorFindingRule', 2)).toEqual(image([{ wildcard: '*' }]));
  });

  it("takes only this stack's CodeBuild project, in every final state", () => {
    expect(pattern(template, 'BuildStateRule')).toEqual({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: {
        'project-name': ['ecr-pipeline-dev'],
        'build-status': ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'STOPPED', 'TIMED_OUT', 'FAULT'],
      },
    });
    expect(resource(template, 'BuildProject').Properties?.Name).toBe('ecr-pipeline-dev');
  });

  it('takes the Build Rejected events of the build-trigger function and the release verdicts', () => {
    expect(pattern(template, 'BuildRejectedRule')).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': [BUILD_REJECTED, RELEASE_VERDICT],
    });
  });

  it('listens on the stack bus, which only the build-trigger and release roles may put to', () => {
    expect(resource(template, 'BuildRejectedRule').Properties?.EventBusName).toEqual({
      Ref: 'BuildRejectedBus',
    });
    const bus = resource(template, 'BuildRejectedBus');
    expect(bus.Type).toBe('AWS::Events::EventBus');
    expect(bus.Properties?.Name).toBe('ecr-pipeline-dev-build-rejected');
    const busArn = {
      'Fn::Sub':
        'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/ecr-pipeline-dev-build-rejected',
    };
    const role = { 'Fn::GetAtt': ['BuildTriggerRole', 'Arn'] };
    const releaseRole = { 'Fn::GetAtt': ['ReleaseRole', 'Arn'] };
    const statements = bus.Properties?.Policy.Statement as Array<Statement & { Principal: unknown }>;
    expect(statements).toEqual([
      {
        Sid: 'OnlyBuildTriggerPuts',
        Effect: 'Allow',
        Principal: { AWS: role },
        Action: 'events:PutEvents',
        Resource: busArn,
      },
      {
        Sid: 'OnlyReleasePuts',
        Effect: 'Allow',
        Principal: { AWS: releaseRole },
        Action: 'events:PutEvents',
        Resource: busArn,
      },
      {
        Sid: 'NobodyElsePuts',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: busArn,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [role, releaseRole] } },
      },
    ]);
    // build-trigger puts there: its role may put to that bus only, and it is told the bus's name.
    const trigger = roleStatements(resource(template, 'BuildTriggerRole'));
    expect(statement(trigger, 'BuildRejectedEvents')).toMatchObject({
      Action: 'events:PutEvents',
      Resource: busArn,
    });
    expect(
      resource(template, 'BuildTriggerLambdaFunction').Properties?.Environment.Variables.EVENT_BUS_NAME,
    ).toEqual({ Ref: 'BuildRejectedBus' });
  });

  it('sweeps once a day', () => {
    expect(resource(template, 'SweepScheduleRule').Properties).toMatchObject({
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
    });
  });
});

/** Sid -> condition of each role statement that reads Lambda or ECS; unconditioned ones map to ''. */
function inUseGrants(t: Template): Record<string, string> {
  const policies = resource(t, 'EcrEventsRole').Properties?.Policies as {
    PolicyDocument: { Statement: Record<string, unknown>[] };
  }[];
  const grants: Record<string, string> = {};
  for (const item of policies.flatMap((p) => p.PolicyDocument.Statement)) {
    const fnIf = item['Fn::If'] as [string, Statement, unknown] | undefined;
    const s = (fnIf ? fnIf[1] : item) as Statement;
    if (list(s.Action).some((a) => /^(lambda|ecs):/.test(a))) grants[s.Sid ?? '?'] = fnIf ? fnIf[0] : '';
  }
  return grants;
}

describe('the function', () => {
  it("reads only the build log group's streams, and is told how many lines to show", () => {
    const statements = roleStatements(resource(template, 'EcrEventsRole'));
    expect(statement(statements, 'ReadBuildLogs')).toEqual({
      Sid: 'ReadBuildLogs',
      Effect: 'Allow',
      Action: 'logs:GetLogEvents',
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/ecr-pipeline-dev:log-stream:*',
      },
    });
    expect(statements.filter((s) => list(s.Action).some((a) => a.startsWith('logs:Get')))).toHaveLength(1);
    expect(
      resource(template, 'EcrEventsLambdaFunction').Properties?.Environment.Variables.NOTIFY_LOG_LINES,
    ).toBe('20');
  });

  const fn = resource(template, 'EcrEventsLambdaFunction');
  const env = fn.Properties?.Environment.Variables as Record<string, unknown>;

  it('is retried twice, then lands in an encrypted queue', () => {
    const config = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::EventInvokeConfig' &&
        r.Properties?.FunctionName?.Ref === 'EcrEventsLambdaFunction',
    );
    expect(config?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['EcrEventsFailureQueue', 'Arn'] } } },
    });
    expect(resource(template, 'EcrEventsFailureQueue').Properties?.SqsManagedSseEnabled).toBe(true);
  });

  it('runs its own role, with room for a sweep', () => {
    expect(fn.Properties?.Role).toEqual({ 'Fn::GetAtt': ['EcrEventsRole', 'Arn'] });
    expect(fn.Properties?.Timeout).toBe(300);
  });

  it('holds the name of the webhook parameter, never a webhook URL', () => {
    expect(env.SLACK_WEBHOOK_PARAMETER).toBe('/ecr-pipeline/dev/slack-webhook-url');
    expect(env.SLACK_WEBHOOK_SOURCE).toBe('ssm');
    expect(JSON.stringify(env)).not.toMatch(/hooks\.slack\.com|https?:\/\//);
    expect(Object.values(template.Resources).some((r) => r.Type === 'AWS::SSM::Parameter')).toBe(false);
  });

  it('is deployed with the dry run on and the in-use check off', () => {
    expect(env.SWEEP_DRY_RUN).toBe('true');
    expect(env.SWEEP_CHECK_IN_USE).toBe('false');
    expect(env.STACK_NAME).toBe('ecr-pipeline-dev');
    expect(env.SNS_TOPIC_ARN).toEqual({ Ref: 'EcrEventsTopic' });
  });
});

const ALARM_ARNS = ['build-trigger', 'ecr-events'].map((name) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:ecr-pipeline-dev-${name}-failures`,
}));
const ONLY_THE_ALARMS = {
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  ArnEquals: { 'aws:SourceArn': ALARM_ARNS },
};

describe('the topic', () => {
  it("is encrypted with the stack's own key by default: alarms cannot use the AWS managed key", () => {
    const alias = 'alias/ecr-pipeline-dev-events';
    expect(resource(template, 'EcrEventsTopic').Properties?.KmsMasterKeyId).toEqual({
      'Fn::If': ['EcrEventsCreatesTopicKey', { Ref: 'EcrEventsTopicKeyAlias' }, alias],
    });
    // snsKmsKey names the stack's key by default: the condition holds and the key is created.
    expect(template.Conditions?.EcrEventsCreatesTopicKey).toEqual({ 'Fn::Equals': [alias, alias] });
    expect(resource(template, 'EcrEventsTopicKeyAlias')).toMatchObject({
      Condition: 'EcrEventsCreatesTopicKey',
      Properties: { AliasName: alias, TargetKeyId: { Ref: 'EcrEventsTopicKey' } },
    });
    const key = resource(template, 'EcrEventsTopicKey');
    expect(key.Condition).toBe('EcrEventsCreatesTopicKey');
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    expect(statement(key.Properties?.KeyPolicy.Statement, 'FailureAlarmsPublish')).toEqual({
      Sid: 'FailureAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: ONLY_THE_ALARMS,
    });
  });

  it('lets the failure alarms of this stack, and no other alarm, publish', () => {
    const policy = resource(template, 'EcrEventsTopicPolicy').Properties?.PolicyDocument
      .Statement as Statement[];
    expect(statement(policy, 'FailureAlarmsPublish')).toEqual({
      Sid: 'FailureAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: 'EcrEventsTopic' },
      Condition: ONLY_THE_ALARMS,
    });
  });

  it('lets only the function publish, over TLS', () => {
    const policy = resource(template, 'EcrEventsTopicPolicy').Properties?.PolicyDocument
      .Statement as Statement[];
    expect(statement(policy, 'OnlyTheFunctionPublishes')).toMatchObject({
      Effect: 'Allow',
      Action: 'sns:Publish',
      Principal: { AWS: { 'Fn::GetAtt': ['EcrEventsRole', 'Arn'] } },
    });
    expect(statement(policy, 'DenyInsecureTransport')).toMatchObject({
      Effect: 'Deny',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });
});

describe('the role', () => {
  const statements = roleStatements(resource(template, 'EcrEventsRole'));
  const allows = statements.filter((s) => s.Effect === 'Allow');

  it('names every action: no wildcard actions', () => {
    for (const s of statements) for (const action of list(s.Action)) expect(action).not.toMatch(/\*$/);
  });

  it('uses Resource "*" only for actions that support nothing narrower', () => {
    const onStar = allows
      .filter((s) => list(s.Resource as string).includes('*'))
      .flatMap((s) => list(s.Action));
    // The EC2 describe actions only with functionsInVpc (test/template/network.test.ts).
    expect(onStar.sort()).toEqual([
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ecs:DescribeTaskDefinition',
      'ecs:ListTaskDefinitions',
      'lambda:ListFunctions',
      'tag:GetResources',
    ]);
  });

  it('reads and writes the upload records, the image index and the scan memory only, under the stack prefix', () => {
    expect(statement(statements, 'UploadRecords')).toEqual({
      Sid: 'UploadRecords',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: [
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/uploads/*',
        },
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/images/*',
        },
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/scan-memory/*',
        },
      ],
    });
    // Besides, only the replication watches, and only with replicationRegions
    // (test/template/registry-settings.test.ts).
    const s3 = allows.filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3.map((s) => s.Sid)).toEqual(['UploadRecords', 'ReplicationWatches', 'ListReplicationWatches']);
  });

  it("reads the builds of this stack's project only", () => {
    expect(statement(statements, 'ReadBuildsInProgress')).toEqual({
      Sid: 'ReadBuildsInProgress',
      Effect: 'Allow',
      Action: ['codebuild:ListBuildsForProject', 'codebuild:BatchGetBuilds'],
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/ecr-pipeline-dev',
      },
    });
    const codebuild = allows.filter((s) => list(s.Action).some((a) => a.startsWith('codebuild:')));
    expect(codebuild).toHaveLength(1);
  });

  it('grants what the in-use check reads only when sweepCheckInUse is true (off by default)', () => {
    expect(template.Conditions?.EcrEventsCheckInUse).toEqual({ 'Fn::Equals': ['false', 'true'] });
    expect(inUseGrants(template)).toEqual({
      FindImagesInUse: 'EcrEventsCheckInUse',
      ReadFunctionImages: 'EcrEventsCheckInUse',
    });
    // GetFunction is the one Lambda call that returns the image URI; nothing broader is asked for.
    const lambda = allows.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('lambda:'));
    expect(lambda.sort()).toEqual(['lambda:GetFunction', 'lambda:ListFunctions']);
  });

  it('can delete, tag and untag only repositories tagged as managed by this stack', () => {
    const destructive = allows.filter((s) =>
      list(s.Action).some((a) =>
        ['ecr:DeleteRepository', 'ecr:TagResource', 'ecr:UntagResource'].includes(a),
      ),
    );
    expect(destructive.length).toBeGreaterThan(0);
    for (const s of destructive) {
      expect(s.Resource).toEqual(REPOSITORIES);
      expect(s.Condition).toMatchObject({
        StringEquals: { [`aws:ResourceTag/${REPOSITORY_TAGS.managedBy}`]: 'ecr-pipeline-dev' },
      });
    }
    expect(statement(statements, 'MarkManagedRepositories').Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'aws:TagKeys': [REPOSITORY_TAGS.staleSince] },
    });
    expect(statement(statements, 'NeverTheBuildCache')).toMatchObject({
      Effect: 'Deny',
      Resource: { 'Fn::GetAtt': ['BuildCacheRepository', 'Arn'] },
    });
  });

  it('can never put or remove the managed-by tag, whatever else allows tagging', () => {
    expect(statement(statements, 'NeverTheManagedByTag')).toEqual({
      Sid: 'NeverTheManagedByTag',
      Effect: 'Deny',
      Action: ['ecr:TagResource', 'ecr:UntagResource'],
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*' },
      Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': [REPOSITORY_TAGS.managedBy] } },
    });
  });

  it('reads the one webhook parameter and decrypts it only through SSM', () => {
    const parameterArn = {
      'Fn::Sub':
        'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/ecr-pipeline/dev/slack-webhook-url',
    };
    expect(statement(statements, 'ReadSlackWebhookParameter')).toMatchObject({
      Action: 'ssm:GetParameter',
      Resource: parameterArn,
    });
    expect(statement(statements, 'DecryptSlackWebhookParameter').Condition).toEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Sub': 'ssm.${AWS::Region}.${AWS::URLSuffix}' },
        'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
      },
    });
  });

  it('publishes only to its topic and writes only to its failure queue', () => {
    expect(statement(statements, 'Publish').Resource).toEqual({ Ref: 'EcrEventsTopic' });
    expect(statement(statements, 'PublishToEncryptedTopic').Condition).toEqual({
      StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'sns.${AWS::Region}.${AWS::URLSuffix}' } },
    });
    expect(statement(statements, 'OnFailureDestination').Resource).toEqual({
      'Fn::GetAtt': ['EcrEventsFailureQueue', 'Arn'],
    });
  });
});

describe('packaged with notification parameters', () => {
  // packagedWith packages a linked copy: packaging here would empty .serverless/ under other tests.
  const custom = packagedWith({
    repositoryPattern: 'team/*',
    slackWebhookSource: 'secretsmanager',
    slackWebhookParameter: 'ecr-pipeline/slack',
    sweepDryRun: 'false',
    notificationEmail: 'ops@example.com',
    sweepCheckInUse: 'true',
  });

  it('filters the rules and scopes the role by the repository pattern', () => {
    expect(custom.Conditions?.EcrEventsAnyRepository).toEqual({ 'Fn::Equals': ['team/*', '*'] });
    expect(pattern(custom, 'EcrImageActionRule', 2).detail['repository-name']).toEqual([
      { wildcard: 'team/*' },
    ]);
    const s = roleStatements(resource(custom, 'EcrEventsRole'));
    expect(statement(s, 'DeleteManagedRepositories').Resource).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/team/*',
    });
  });

  it('reads the webhook from Secrets Manager when asked to', () => {
    expect(custom.Conditions?.EcrEventsSlackFromSecretsManager).toEqual({
      'Fn::Equals': ['secretsmanager', 'secretsmanager'],
    });
    expect(custom.Conditions?.EcrEventsSlackFromSsm).toEqual({ 'Fn::Equals': ['secretsmanager', 'ssm'] });
    const s = roleStatements(resource(custom, 'EcrEventsRole'));
    expect(statement(s, 'ReadSlackWebhookSecret')).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:ecr-pipeline/slack-??????',
      },
    });
    const env = resource(custom, 'EcrEventsLambdaFunction').Properties?.Environment.Variables;
    expect(env).toMatchObject({ SLACK_WEBHOOK_SOURCE: 'secretsmanager', SWEEP_DRY_RUN: 'false' });
  });

  it('grants what the in-use check reads when it is on', () => {
    expect(custom.Conditions?.EcrEventsCheckInUse).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(inUseGrants(custom)).toEqual({
      FindImagesInUse: 'EcrEventsCheckInUse',
      ReadFunctionImages: 'EcrEventsCheckInUse',
    });
    const env = resource(custom, 'EcrEventsLambdaFunction').Properties?.Environment.Variables;
    expect(env).toMatchObject({ SWEEP_CHECK_IN_USE: 'true' });
  });

  it('subscribes the email address', () => {
    expect(resource(custom, 'EcrEventsEmailSubscription').Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('the failure alarms', () => {
  it.each([
    ['BuildTriggerFailureAlarm', 'BuildTriggerFailureQueue', 'build-trigger'],
    ['EcrEventsFailureAlarm', 'EcrEventsFailureQueue', 'ecr-events'],
  ])('%s tells the topic as soon as %s holds a message', (alarm, queue, name) => {
    expect(resource(template, alarm).Properties).toMatchObject({
      AlarmName: `ecr-pipeline-dev-${name}-failures`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'EcrEventsTopic' }],
    });
  });

  it('is named as the topic and key policies expect', () => {
    const names = ['BuildTriggerFailureAlarm', 'EcrEventsFailureAlarm'].map(
      (id) => resource(template, id).Properties?.AlarmName,
    );
    expect(ALARM_ARNS.map((arn) => arn['Fn::Sub'].split(':alarm:')[1])).toEqual(names);
  });
});

describe('the failure queue of ecr-events', () => {
  const statements = () =>
    resource(template, 'EcrEventsFailureQueuePolicy').Properties?.PolicyDocument.Statement as Array<
      Record<string, unknown>
    >;
  const rules = [
    'EcrImageActionRule',
    'EcrImageScanRule',
    'InspectorScanRule',
    'InspectorFindingRule',
    'BuildStateRule',
    'BuildRejectedRule',
    'SweepScheduleRule',
  ].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
  const replicationRules = ['ReplicationCheckRule', 'ReplicationActionRule'].map((id) => ({
    'Fn::If': ['Replicates', { 'Fn::GetAtt': [id, 'Arn'] }, { Ref: 'AWS::NoValue' }],
  }));

  it("admits EventBridge only for the stack's rules, in this account", () => {
    expect(statements().find((s) => s.Sid === 'RuleDeliveryFailures')).toEqual({
      Sid: 'RuleDeliveryFailures',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': ['EcrEventsFailureQueue', 'Arn'] },
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnEquals: { 'aws:SourceArn': [...rules, ...replicationRules] },
      },
    });
  });

  it('denies every other sender: anyone but those rules and the function role', () => {
    expect(statements().find((s) => s.Sid === 'OnlyTheRulesAndTheFunction')).toEqual({
      Sid: 'OnlyTheRulesAndTheFunction',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': ['EcrEventsFailureQueue', 'Arn'] },
      Condition: {
        ArnNotEquals: {
          'aws:PrincipalArn': { 'Fn::GetAtt': ['EcrEventsRole', 'Arn'] },
          'aws:SourceArn': [...rules, ...replicationRules],
        },
      },
    });
  });

  it('tells the function its account, so that it refuses events of any other', () => {
    expect(
      resource(template, 'EcrEventsLambdaFunction').Properties?.Environment.Variables.ACCOUNT_ID,
    ).toEqual({ Ref: 'AWS::AccountId' });
  });
});
