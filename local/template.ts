/**
 * Reads the packaged CloudFormation template and resolves the intrinsic functions the local cloud
 * needs, the way CloudFormation would for one account and region. Pure: no I/O beyond reading the file.
 *
 * The resolver is ours rather than a library's: the deployer resolves each resource just before
 * creating it, with the physical names and attributes of those created so far (a queue's URL is only
 * known once moto made it), which cfn-resolver-lib, the maintained candidate, cannot do: it resolves a
 * whole template at once from values given up front, and brings lodash and traverse, untyped.
 */
import { readFileSync } from 'node:fs';
import { ACCOUNT_ID } from '../shared/local-cloud.ts';

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
}

export interface Template {
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Reads a packaged template (JSON) from disk. */
export function readTemplate(path: string): Template {
  const template = JSON.parse(readFileSync(path, 'utf8')) as Template;
  if (typeof template.Resources !== 'object' || template.Resources === null) {
    throw new TemplateError(`${path} has no Resources`);
  }
  return template;
}

/** What a resource resolves to: `Ref` and each `Fn::GetAtt` attribute. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

export interface ResolveContext {
  region: string;
  accountId?: string;
  stackName: string;
  /** Physical values of the resources created so far (logical id -> value). */
  resources: Record<string, PhysicalResource>;
  parameters?: Record<string, unknown>;
}

/**
 * The physical name and attributes a resource gets in this account and region, as CloudFormation
 * gives them (the name from the template's own name property, else a generated one).
 */
export function physicalResource(
  logicalId: string,
  resource: TemplateResource,
  properties: Record<string, unknown>,
  ctx: Pick<ResolveContext, 'region' | 'accountId' | 'stackName'>,
): PhysicalResource {
  const region = ctx.region;
  const account = ctx.accountId ?? ACCOUNT_ID;
  const str = (key: string) =>
    typeof properties[key] === 'string' ? (properties[key] as string) : undefined;
  const generated = `${ctx.stackName}-${logicalId}`.slice(0, 50).toLowerCase();
  switch (resource.Type) {
    case 'AWS::S3::Bucket': {
      const name = str('BucketName') ?? generated.replace(/[^a-z0-9.-]/g, '-');
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
        },
      };
    }
    case 'AWS::SNS::Topic': {
      const name = str('TopicName') ?? `${ctx.stackName}-${logicalId}`;
      const arn = `arn:aws:sns:${region}:${account}:${name}`;
      return { ref: arn, attributes: { TopicArn: arn, TopicName: name } };
    }
    case 'AWS::SQS::Queue': {
      const name = str('QueueName') ?? `${ctx.stackName}-${logicalId}`;
      const arn = `arn:aws:sqs:${region}:${account}:${name}`;
      // The URL is the local one; the deployer fixes it up after creating the queue.
      return { ref: name, attributes: { Arn: arn, QueueName: name, QueueUrl: name } };
    }
    case 'AWS::SSM::Parameter': {
      const name = str('Name') ?? `CFN-${logicalId}`;
      return { ref: name, attributes: { Type: str('Type') ?? 'String', Value: str('Value') ?? '' } };
    }
    case 'AWS::Events::Rule': {
      const name = str('Name') ?? `${ctx.stackName}-${logicalId}`.slice(0, 64);
      const bus = str('EventBusName');
      const arn =
        bus && bus !== 'default'
          ? `arn:aws:events:${region}:${account}:rule/${bus}/${name}`
          : `arn:aws:events:${region}:${account}:rule/${name}`;
      return { ref: name, attributes: { Arn: arn } };
    }
    case 'AWS::Events::EventBus': {
      const name = str('Name') ?? logicalId;
      const arn = `arn:aws:events:${region}:${account}:event-bus/${name}`;
      return { ref: name, attributes: { Arn: arn, Name: name } };
    }
    case 'AWS::Lambda::Function': {
      const name = str('FunctionName') ?? `${ctx.stackName}-${logicalId}`;
      return { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } };
    }
    case 'AWS::CodeBuild::Project': {
      const name = str('Name') ?? `${ctx.stackName}-${logicalId}`;
      return { ref: name, attributes: { Arn: `arn:aws:codebuild:${region}:${account}:project/${name}` } };
    }
    case 'AWS::IAM::Role': {
      const name = str('RoleName') ?? `${ctx.stackName}-${logicalId}`;
      return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: name } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = str('LogGroupName') ?? `${ctx.stackName}-${logicalId}`;
      return { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = str('Name') ?? `${ctx.stackName}-${logicalId}`;
      const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name}`;
      return { ref: arn, attributes: { Id: arn } };
    }
    case 'AWS::ECR::Repository': {
      const name = str('RepositoryName') ?? generated;
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:ecr:${region}:${account}:repository/${name}`,
          RepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}`,
        },
      };
    }
    default:
      return { ref: `${ctx.stackName}-${logicalId}`, attributes: {} };
  }
}

const PSEUDO = (ctx: ResolveContext): Record<string, string> => ({
  'AWS::AccountId': ctx.accountId ?? ACCOUNT_ID,
  'AWS::Region': ctx.region,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': ctx.stackName,
  'AWS::StackId': `arn:aws:cloudformation:${ctx.region}:${ctx.accountId ?? ACCOUNT_ID}:stack/${ctx.stackName}/local`,
  'AWS::NoValue': '',
});

/** Marker for `Ref: AWS::NoValue`: the property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

function ref(name: string, ctx: ResolveContext): string {
  const pseudo = PSEUDO(ctx)[name];
  if (pseudo !== undefined) return pseudo;
  const resource = ctx.resources[name];
  if (resource) return resource.ref;
  if (ctx.parameters && name in ctx.parameters) return String(ctx.parameters[name]);
  throw new TemplateError(`Ref to unknown or not yet created resource ${name}`);
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext): string {
  const resource = ctx.resources[logicalId];
  if (!resource) throw new TemplateError(`Fn::GetAtt on unknown or not yet created resource ${logicalId}`);
  const value = resource.attributes[attribute];
  if (value === undefined)
    throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute} is not supported locally`);
  return value;
}

function sub(text: string, variables: Record<string, unknown>, ctx: ResolveContext): string {
  return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
    if (name.startsWith('!')) return whole.replace('${!', '${');
    if (name in variables) return String(variables[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    return ref(name, ctx);
  });
}

/** Resolves every intrinsic function in a template value (Ref, Fn::Sub, Fn::GetAtt, Fn::Join, ...). */
export function resolve(
  value: unknown,
  ctx: ResolveContext,
  conditions: Record<string, unknown> = {},
): unknown {
  const out = resolveValue(value, ctx, conditions);
  return out === NO_VALUE ? undefined : out;
}

function resolveValue(value: unknown, ctx: ResolveContext, conditions: Record<string, unknown>): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveValue(item, ctx, conditions)).filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only) {
    const [key, arg] = only;
    const r = (v: unknown) => resolveValue(v, ctx, conditions);
    switch (key) {
      case 'Ref':
        return arg === 'AWS::NoValue' ? NO_VALUE : ref(String(arg), ctx);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s);
        return getAtt(String(id), String(attribute), ctx);
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return sub(arg, {}, ctx);
        const [text, variables] = arg as [string, Record<string, unknown>];
        const resolved = Object.fromEntries(Object.entries(variables ?? {}).map(([k, v]) => [k, r(v)]));
        return sub(String(r(text)), resolved, ctx);
      }
      case 'Fn::Join': {
        const [separator, items] = arg as [string, unknown[]];
        return (r(items) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, items] = arg as [unknown, unknown];
        return (r(items) as unknown[])[Number(r(index))];
      }
      case 'Fn::Split': {
        const [separator, text] = arg as [string, unknown];
        return String(r(text)).split(separator);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return condition_(condition, ctx, conditions) ? r(whenTrue) : r(whenFalse);
      }
      case 'Fn::Equals': {
        const [a, b] = arg as [unknown, unknown];
        return JSON.stringify(r(a)) === JSON.stringify(r(b));
      }
      case 'Fn::Not':
        return !r((arg as unknown[])[0]);
      case 'Fn::And':
        return (arg as unknown[]).every((item) => r(item));
      case 'Fn::Or':
        return (arg as unknown[]).some((item) => r(item));
      case 'Condition':
        return condition_(String(arg), ctx, conditions);
      case 'Fn::ToJsonString':
        return JSON.stringify(r(arg));
      case 'Fn::GetAZs':
        return [`${ctx.region}a`, `${ctx.region}b`];
      default:
        if (key.startsWith('Fn::')) throw new TemplateError(`${key} is not supported by the local cloud`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    const resolved = resolveValue(item, ctx, conditions);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function condition_(name: string, ctx: ResolveContext, conditions: Record<string, unknown>): boolean {
  if (!(name in conditions)) throw new TemplateError(`unknown condition ${name}`);
  return Boolean(resolveValue(conditions[name], ctx, conditions));
}

/** Logical ids of the resources a value refers to (Ref, GetAtt, ${} in Sub). */
export function dependencies(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) dependencies(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Ref' && typeof arg === 'string' && !arg.startsWith('AWS::')) into.add(arg);
      else if (key === 'Fn::GetAtt') {
        const id = Array.isArray(arg) ? arg[0] : String(arg).split('.')[0];
        into.add(String(id));
      } else if (key === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? String(arg[0]) : '';
        const locals = Array.isArray(arg) ? Object.keys((arg[1] as object) ?? {}) : [];
        for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
          const name = String(match[1]).split('.')[0] ?? '';
          if (!name.startsWith('AWS::') && !locals.includes(name)) into.add(name);
        }
        if (Array.isArray(arg)) dependencies(arg[1], into);
      } else dependencies(arg, into);
    }
  }
  return into;
}

/** Logical ids in an order where every resource comes after those it refers to. */
export function creationOrder(template: Template): string[] {
  const ids = Object.keys(template.Resources);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string) => {
    if (state.get(id) === 'done' || !(id in template.Resources)) return;
    if (state.get(id) === 'visiting') throw new TemplateError(`circular reference through ${id}`);
    state.set(id, 'visiting');
    const resource = template.Resources[id] as TemplateResource;
    const deps = dependencies(resource.Properties ?? {});
    const dependsOn = resource.DependsOn;
    for (const dep of typeof dependsOn === 'string' ? [dependsOn] : (dependsOn ?? [])) deps.add(dep);
    for (const dep of [...deps].sort()) visit(dep);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) visit(id);
  return order;
}

/** The serverless function key (`buildTrigger`) of an `AWS::Lambda::Function` logical id (`BuildTriggerLambdaFunction`). */
export function functionKey(logicalId: string): string {
  const base = logicalId
    .replace(/LambdaFunction$/, '')
    .replace(/Dash/g, '-')
    .replace(/Underscore/g, '_');
  return base.charAt(0).toLowerCase() + base.slice(1);
}
