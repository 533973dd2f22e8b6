/**
 * The JSON protocol (`X-Amz-Target: <prefix>.<Operation>`): the IAM action is `<service>:<Operation>`,
 * the resources come from the operation's input (Service Authorization Reference, per service).
 */
import { type ApiAction, type ArnScope, jsonBody, queueArn, requestTagContext } from './request.ts';

type Input = Record<string, unknown>;
type Resources = (input: Input, operation: string, scope: ArnScope) => ApiAction[];

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];

const one = (action: string, resource: string, context = {}): ApiAction[] => [{ action, resource, context }];

function repositoryArn(name: string, scope: ArnScope): string {
  return `arn:aws:ecr:${scope.region}:${scope.account}:repository/${name}`;
}

/** ECR: repository-scoped operations by `repositoryName` or `resourceArn`; registry-wide ones on `*`. */
function ecr(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const action = `ecr:${operation}`;
  if (operation === 'CreateRepository') {
    const tags = (input.tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    const context = requestTagContext(tags.map((t) => ({ key: t.Key, value: t.Value })));
    return one(action, repositoryArn(String(input.repositoryName), scope), context);
  }
  if (operation === 'TagResource') {
    const tags = (input.tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    const context = requestTagContext(tags.map((t) => ({ key: t.Key, value: t.Value })));
    return one(action, String(input.resourceArn), context);
  }
  if (operation === 'UntagResource') {
    return one(action, String(input.resourceArn), { 'aws:tagkeys': strings(input.tagKeys) });
  }
  if (operation === 'ListTagsForResource') return one(action, String(input.resourceArn));
  if (operation === 'DescribeRepositories') {
    const names = strings(input.repositoryNames);
    if (names.length === 0) return one(action, repositoryArn('*', scope));
    return names.map((name) => ({ action, resource: repositoryArn(name, scope), context: {} }));
  }
  if (typeof input.repositoryName === 'string')
    return one(action, repositoryArn(input.repositoryName, scope));
  return one(action, '*');
}

/** The project of a build id, `<project>:<uuid>` or `arn:aws:codebuild:...:build/<project>:<uuid>`. */
function projectOfBuild(id: string): string {
  const bare = id.startsWith('arn:') ? id.slice(id.indexOf(':build/') + ':build/'.length) : id;
  return bare.split(':')[0] ?? bare;
}

/** CodeBuild: the project of `projectName`, of `names`, or of build ids (`<project>:<uuid>`). */
function codebuild(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const action = `codebuild:${operation}`;
  const project = (name: string) => `arn:aws:codebuild:${scope.region}:${scope.account}:project/${name}`;
  const projects = [
    ...strings(input.projectName),
    ...strings(input.names),
    ...[...strings(input.ids), ...strings(input.id)].map(projectOfBuild),
  ];
  if (projects.length === 0) return one(action, '*');
  return [...new Set(projects)].map((name) => ({ action, resource: project(name), context: {} }));
}

/** EventBridge PutEvents: each entry's bus (a name or an ARN; `default` when none). */
function events(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const action = `events:${operation}`;
  const bus = (name: string) =>
    name.startsWith('arn:') ? name : `arn:aws:events:${scope.region}:${scope.account}:event-bus/${name}`;
  if (operation !== 'PutEvents') {
    const rule = typeof input.Name === 'string' ? `rule/${input.Name}` : undefined;
    return one(action, rule ? `arn:aws:events:${scope.region}:${scope.account}:${rule}` : '*');
  }
  const entries = (input.Entries as Array<{ EventBusName?: string }> | undefined) ?? [];
  const buses = new Set(entries.map((e) => bus(e.EventBusName ?? 'default')));
  return [...buses].map((resource) => ({ action, resource, context: {} }));
}

/** SSM: parameters by name (`parameter/a/b` for `/a/b`) or path. */
function ssm(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const action = `ssm:${operation}`;
  const names = [...strings(input.Name), ...strings(input.Names), ...strings(input.Path)];
  const arn = (name: string) =>
    `arn:aws:ssm:${scope.region}:${scope.account}:parameter/${name.replace(/^\//, '')}`;
  if (names.length === 0) return one(action, '*');
  return names.map((name) => ({ action, resource: arn(name), context: {} }));
}

/**
 * Secrets Manager by `SecretId`: an ARN as given; a name gets a six-character suffix, as AWS's ARNs
 * have one (`-??????` in a policy matches it).
 */
function secretsmanager(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const id = String(input.SecretId ?? input.Name ?? '');
  const arn = id.startsWith('arn:')
    ? id
    : `arn:aws:secretsmanager:${scope.region}:${scope.account}:secret:${id}-LOCAL0`;
  return one(`secretsmanager:${operation}`, id ? arn : '*');
}

/** CloudWatch Logs: the log stream, else the log group, of the input. */
function logs(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const group = typeof input.logGroupName === 'string' ? input.logGroupName : undefined;
  if (!group) return one(`logs:${operation}`, '*');
  const base = `arn:aws:logs:${scope.region}:${scope.account}:log-group:${group}`;
  const stream = typeof input.logStreamName === 'string' ? input.logStreamName : undefined;
  return one(`logs:${operation}`, stream ? `${base}:log-stream:${stream}` : `${base}:*`);
}

/** SQS (JSON protocol of current SDKs): the queue of `QueueUrl`, or of `QueueName`. */
function sqs(input: Input, operation: string, scope: ArnScope): ApiAction[] {
  const url = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const name = typeof input.QueueName === 'string' ? input.QueueName : undefined;
  const resource = url
    ? queueArn(url, scope)
    : name
      ? `arn:aws:sqs:${scope.region}:${scope.account}:${name}`
      : '*';
  return one(`sqs:${operation}`, resource);
}

/** Target prefix -> service and its resource mapping; services not listed act on `*`. */
const TARGETS: Array<[prefix: string, service: string, resources?: Resources]> = [
  ['AmazonEC2ContainerRegistry_V20150921.', 'ecr', ecr],
  ['CodeBuild_20161006.', 'codebuild', codebuild],
  ['AWSEvents.', 'events', events],
  ['AmazonSSM.', 'ssm', ssm],
  ['secretsmanager.', 'secretsmanager', secretsmanager],
  ['Logs_20140328.', 'logs', logs],
  ['AmazonSQS.', 'sqs', sqs],
  ['ResourceGroupsTaggingAPI_20170126.', 'tag'],
  ['AmazonEC2ContainerServiceV20141113.', 'ecs'],
  ['TrentService.', 'kms'],
];

/** The authorizations a JSON-protocol request needs, or undefined when it is not one we know. */
export function jsonProtocolActions(
  target: string,
  body: Buffer | undefined,
  scope: ArnScope,
): ApiAction[] | undefined {
  for (const [prefix, service, resources] of TARGETS) {
    if (!target.startsWith(prefix)) continue;
    const operation = target.slice(prefix.length);
    if (!resources) return one(`${service}:${operation}`, '*');
    return resources(jsonBody(body), operation, scope);
  }
  return undefined;
}
