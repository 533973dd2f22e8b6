/**
 * The IAM of a deployed stack, as the deployer reads it from the packaged template: each role with
 * its inline policies (and managed policies it names, when the stack defines them), and the resource
 * policies of buckets, topics, queues and event buses with the ARNs they are attached to.
 */
import type { NamedPolicy, PolicyDocument } from './evaluate.ts';
import { type ArnScope, queueArn } from './request.ts';

export interface RoleModel {
  logicalId: string;
  arn: string;
  name: string;
  policies: NamedPolicy[];
  /** The trust policy (AssumeRolePolicyDocument): who may assume the role. */
  trust?: PolicyDocument;
}

export interface ResourcePolicyModel {
  policy: NamedPolicy;
  /** ARN patterns of the resources it is attached to (a bucket's: the bucket and `bucket/*`). */
  attachedTo: string[];
}

export interface IamModel {
  roles: RoleModel[];
  resourcePolicies: ResourcePolicyModel[];
  /** Function key -> the ARN of its execution role. */
  functionRoles: Record<string, string>;
  /** CodeBuild project name -> the ARN of its service role. */
  projectRoles: Record<string, string>;
}

type Props = Record<string, unknown>;

/** An empty model, filled as the deployer meets IAM resources. */
export function emptyIamModel(): IamModel {
  return { roles: [], resourcePolicies: [], functionRoles: {}, projectRoles: {} };
}

/** AWS::IAM::Role: its inline policies, named `<logical id>/<PolicyName>`. */
export function addRole(model: IamModel, logicalId: string, arn: string, name: string, props: Props): void {
  const inline = (props.Policies as Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>) ?? [];
  const trust = props.AssumeRolePolicyDocument as PolicyDocument | undefined;
  model.roles.push({
    logicalId,
    arn,
    name,
    ...(trust ? { trust } : {}),
    policies: inline.map((p) => ({
      name: `${logicalId}/${p.PolicyName}`,
      kind: 'identity',
      document: p.PolicyDocument,
    })),
  });
}

/** AWS::IAM::Policy / ManagedPolicy: added to the roles it names (by name or ARN). */
export function addRolePolicy(model: IamModel, logicalId: string, props: Props): void {
  const roles = (props.Roles as string[] | undefined) ?? [];
  for (const role of model.roles) {
    if (!roles.includes(role.name) && !roles.includes(role.arn)) continue;
    role.policies.push({
      name: logicalId,
      kind: 'identity',
      document: props.PolicyDocument as PolicyDocument,
    });
  }
}

/** A resource policy (bucket, topic, queue, event bus policy) and what it is attached to. */
export function addResourcePolicy(
  model: IamModel,
  logicalId: string,
  type: string,
  props: Props,
  scope: ArnScope,
): void {
  const document = (props.PolicyDocument ?? props.Policy) as PolicyDocument | undefined;
  if (!document) return;
  let attachedTo: string[] = [];
  if (type === 'AWS::S3::BucketPolicy') {
    attachedTo = [`arn:aws:s3:::${String(props.Bucket)}`, `arn:aws:s3:::${String(props.Bucket)}/*`];
  } else if (type === 'AWS::SNS::TopicPolicy') {
    attachedTo = ((props.Topics as string[]) ?? []).map(String);
  } else if (type === 'AWS::SQS::QueuePolicy') {
    attachedTo = ((props.Queues as string[]) ?? []).map((url) => queueArn(String(url), scope));
  } else if (type === 'AWS::Events::EventBus') {
    attachedTo = [String(props.Arn)];
  }
  model.resourcePolicies.push({ policy: { name: logicalId, kind: 'resource', document }, attachedTo });
}
