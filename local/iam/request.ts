/**
 * What an AWS API request asks for, in IAM's terms: the action, the resources it touches and the
 * condition keys it carries (Service Authorization Reference, per service). One module per protocol:
 * the JSON protocol (`X-Amz-Target`: ECR, CodeBuild, EventBridge, SSM, Secrets Manager, Logs, the
 * tagging API, ECS, SQS), the query protocol (SNS, SQS, STS), and the REST APIs of S3 and Lambda.
 */
import type { ConditionContext } from './conditions.ts';

/** The parts of an HTTP request the mapping reads. */
export interface ApiRequest {
  method: string;
  /** Path and query, as sent (`/bucket/key?versionId=...`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body, for the JSON and query protocols (S3 and Lambda REST are mapped without it). */
  body?: Buffer;
}

/** One IAM authorization the request needs (a request touching several resources needs one each). */
export interface ApiAction {
  action: string;
  resource: string;
  context: ConditionContext;
}

/** Account and region of the ARNs the mapping writes. */
export interface ArnScope {
  region: string;
  account: string;
}

/** Calls IAM does not authorize (any caller with valid credentials may make them). */
export const UNAUTHORIZED_ACTIONS = new Set(['sts:GetCallerIdentity']);

/** The service of a SigV4-signed request (its credential scope), or undefined when unsigned. */
export function signingService(req: Pick<ApiRequest, 'headers' | 'url'>): string | undefined {
  return credentialScope(req)?.[3];
}

/** The access key id the request is signed with (header or presigned query), if any. */
export function accessKeyIdOf(req: Pick<ApiRequest, 'headers' | 'url'>): string | undefined {
  return credentialScope(req)?.[0];
}

function credentialScope(req: Pick<ApiRequest, 'headers' | 'url'>): string[] | undefined {
  const header = String(req.headers.authorization ?? '');
  const inHeader = /Credential=([^,\s]+)/.exec(header)?.[1];
  const query = req.url.includes('?')
    ? new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1))
    : undefined;
  const credential = inHeader ?? query?.get('X-Amz-Credential') ?? undefined;
  return credential ? decodeURIComponent(credential).split('/') : undefined;
}

/** The body as JSON (the JSON protocol), or an empty object. */
export function jsonBody(body: Buffer | undefined): Record<string, unknown> {
  if (!body || body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** `aws:RequestTag/<key>` and `aws:TagKeys` of the tags a request sets (names lower-cased). */
export function requestTagContext(tags: Array<{ key: string; value: string }>): ConditionContext {
  const context: ConditionContext = { 'aws:tagkeys': tags.map((t) => t.key) };
  for (const tag of tags) context[`aws:requesttag/${tag.key.toLowerCase()}`] = tag.value;
  return context;
}

/** `aws:ResourceTag/<key>` (and `<service>:ResourceTag/<key>`) of a resource's tags. */
export function resourceTagContext(service: string, tags: Record<string, string>): ConditionContext {
  const context: ConditionContext = {};
  for (const [key, value] of Object.entries(tags)) {
    context[`aws:resourcetag/${key.toLowerCase()}`] = value;
    context[`${service}:resourcetag/${key.toLowerCase()}`] = value;
  }
  return context;
}

/** The ARN of an SQS queue from its URL (`http://host/<account>/<name>`). */
export function queueArn(queueUrl: string, scope: ArnScope): string {
  const parts = queueUrl.split('?')[0]?.split('/').filter(Boolean) ?? [];
  const name = parts.at(-1) ?? '';
  const account = parts.at(-2) && /^\d{12}$/.test(parts.at(-2) ?? '') ? parts.at(-2) : scope.account;
  return `arn:aws:sqs:${scope.region}:${account}:${name}`;
}
