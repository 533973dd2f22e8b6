/**
 * Registry API requests (OCI distribution) in ECR's IAM terms: what a pull and a push need on the
 * repository (ECR user guide, "Required IAM permissions for pushing / pulling an image").
 */
import type { ApiAction, ArnScope } from './request.ts';

/** The ECR action a registry request needs, or undefined for requests on no repository (`/v2/`). */
export function registryActions(method: string, url: string, scope: ArnScope): ApiAction[] {
  const path = url.split('?')[0] ?? '';
  if (path === '/v2/_catalog') return [{ action: 'ecr:DescribeRepositories', resource: '*', context: {} }];
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(path);
  if (!match) return [];
  const [, name = '', kind, reference = ''] = match;
  const resource = `arn:aws:ecr:${scope.region}:${scope.account}:repository/${name}`;
  const action = (operation: string): ApiAction[] => [{ action: `ecr:${operation}`, resource, context: {} }];
  if (kind === 'tags') return action('ListImages');
  if (kind === 'manifests') {
    if (method === 'PUT') return action('PutImage');
    if (method === 'DELETE') return action('BatchDeleteImage');
    return action('BatchGetImage');
  }
  if (reference.startsWith('uploads')) {
    if (method === 'POST') return action('InitiateLayerUpload');
    if (method === 'PUT') return action('CompleteLayerUpload');
    return action('UploadLayerPart');
  }
  if (method === 'HEAD') return action('BatchCheckLayerAvailability');
  if (method === 'DELETE') return action('BatchDeleteImage');
  return action('GetDownloadUrlForLayer');
}
