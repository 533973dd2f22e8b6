/**
 * The query protocol (SNS, SQS, STS: a form body with `Action=`) and the REST APIs of S3 (path-style,
 * as the local endpoint is an IP address) and Lambda, in IAM's terms.
 */

import { type ApiAction, type ApiRequest, type ArnScope, queueArn, signingService } from './request.ts';
import { jsonProtocolActions } from './request-json.ts';

const one = (action: string, resource: string, context = {}): ApiAction[] => [{ action, resource, context }];

/** SNS, SQS and STS requests in the query protocol. */
export function queryProtocolActions(
  body: Buffer,
  service: string | undefined,
  scope: ArnScope,
): ApiAction[] {
  const form = new URLSearchParams(body.toString('utf8'));
  const operation = form.get('Action') ?? '';
  const version = form.get('Version') ?? '';
  const queueUrl = form.get('QueueUrl');
  if (service === 'sqs' || version === '2012-11-05' || queueUrl) {
    return one(`sqs:${operation}`, queueUrl ? queueArn(queueUrl, scope) : '*');
  }
  if (service === 'sts' || version === '2011-06-15') {
    // AssumeRole is authorized on the role it names (sts:AssumeRole statements name roles).
    const role = operation === 'AssumeRole' ? form.get('RoleArn') : null;
    return one(`sts:${operation}`, role ?? '*');
  }
  const topic = form.get('TopicArn') ?? form.get('TargetArn');
  return one(`sns:${operation}`, topic ?? '*');
}

/** Bucket-level subresources (`?versioning`) -> the action that reads (GET) or writes (PUT) them. */
const BUCKET_SUBRESOURCES: Record<string, [get: string, put: string]> = {
  versioning: ['GetBucketVersioning', 'PutBucketVersioning'],
  notification: ['GetBucketNotification', 'PutBucketNotification'],
  policy: ['GetBucketPolicy', 'PutBucketPolicy'],
  tagging: ['GetBucketTagging', 'PutBucketTagging'],
  lifecycle: ['GetLifecycleConfiguration', 'PutLifecycleConfiguration'],
  encryption: ['GetEncryptionConfiguration', 'PutEncryptionConfiguration'],
  location: ['GetBucketLocation', 'GetBucketLocation'],
  acl: ['GetBucketAcl', 'PutBucketAcl'],
  publicAccessBlock: ['GetBucketPublicAccessBlock', 'PutBucketPublicAccessBlock'],
};

function bucketActions(method: string, bucket: string, query: URLSearchParams): ApiAction[] {
  const arn = `arn:aws:s3:::${bucket}`;
  for (const [name, [get, put]] of Object.entries(BUCKET_SUBRESOURCES)) {
    if (query.has(name)) return one(`s3:${method === 'GET' ? get : put}`, arn);
  }
  const prefix = { 's3:prefix': query.get('prefix') ?? '' };
  if (method === 'GET' && query.has('versions')) return one('s3:ListBucketVersions', arn, prefix);
  if (method === 'GET' && query.has('uploads')) return one('s3:ListBucketMultipartUploads', arn);
  if (method === 'GET' || method === 'HEAD') return one('s3:ListBucket', arn, prefix);
  if (method === 'PUT') return one('s3:CreateBucket', arn);
  if (method === 'DELETE') return one('s3:DeleteBucket', arn);
  // POST ?delete (DeleteObjects) is authorized per object by S3; the bucket-level check stands in.
  return one('s3:DeleteObject', `${arn}/*`);
}

function objectActions(method: string, resource: string, query: URLSearchParams): ApiAction[] {
  const versioned = query.has('versionId') ? 'Version' : '';
  if (query.has('tagging')) {
    const verb = method === 'GET' ? 'Get' : method === 'DELETE' ? 'Delete' : 'Put';
    return one(`s3:${verb}ObjectTagging${versioned}`, resource);
  }
  if (query.has('uploadId') && method === 'DELETE') return one('s3:AbortMultipartUpload', resource);
  if (query.has('uploadId') && method === 'GET') return one('s3:ListMultipartUploadParts', resource);
  if (method === 'GET' || method === 'HEAD') return one(`s3:GetObject${versioned}`, resource);
  if (method === 'DELETE') return one(`s3:DeleteObject${versioned}`, resource);
  return one('s3:PutObject', resource);
}

/** S3, path-style: `/<bucket>` is the bucket, `/<bucket>/<key>` an object; `s3:prefix` on listings. */
export function s3Actions(req: ApiRequest): ApiAction[] {
  const [path = '', search = ''] = req.url.split('?', 2);
  const query = new URLSearchParams(search);
  const [bucket = '', ...keyParts] = path.replace(/^\//, '').split('/');
  const key = keyParts.map((part) => decodeURIComponent(part)).join('/');
  if (!bucket) return one('s3:ListAllMyBuckets', '*');
  if (!key) return bucketActions(req.method, bucket, query);
  return objectActions(req.method, `arn:aws:s3:::${bucket}/${key}`, query);
}

/** Lambda's REST API: list, get and invoke functions by name or ARN. */
export function lambdaActions(req: ApiRequest, scope: ArnScope): ApiAction[] | undefined {
  const match = /^\/\d{4}-\d{2}-\d{2}\/functions\/?([^/?]*)(\/invocations)?/.exec(req.url);
  if (!match) return undefined;
  const name = decodeURIComponent(match[1] ?? '');
  if (!name) return one('lambda:ListFunctions', '*');
  const arn = name.startsWith('arn:')
    ? name
    : `arn:aws:lambda:${scope.region}:${scope.account}:function:${name}`;
  if (match[2]) return one('lambda:InvokeFunction', arn);
  return one(req.method === 'GET' ? 'lambda:GetFunction' : `lambda:${req.method}Function`, arn);
}

/**
 * Every authorization a request needs: by its `X-Amz-Target` (JSON protocol), its form body (query
 * protocol), or its path (Lambda, S3). `aws:SecureTransport` is the caller's to set (see authorizer).
 */
export function apiActions(req: ApiRequest, scope: ArnScope): ApiAction[] {
  const target = String(req.headers['x-amz-target'] ?? '');
  const service = signingService(req);
  if (target) {
    const json = jsonProtocolActions(target, req.body, scope);
    if (json) return json;
    return one(`${service ?? 'unknown'}:${target.split('.').at(-1) ?? ''}`, '*');
  }
  const contentType = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
    return queryProtocolActions(req.body ?? Buffer.alloc(0), service, scope);
  }
  const lambda = service === 's3' ? undefined : lambdaActions(req, scope);
  return lambda ?? s3Actions(req);
}
