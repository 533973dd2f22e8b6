/**
 * Which ECR repositories are still referenced by the account's Lambda functions (container images)
 * and active ECS task definitions, whether by tag or by digest. A repository is in use when any
 * reference names it, so the match is on the repository, never on a tag alone.
 */
import type { AwsCaller } from '../shared/aws-json.ts';
import { mapLimit } from '../shared/retry.ts';

export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** Who refers to it: `lambda:<name>` or `ecs:<family>:<revision>`. */
  user: string;
}

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^@:]+)(?::([^@]+))?(?:@(sha256:[a-f0-9]{64}))?$/;

/** Parses an ECR image URI; other registries (Docker Hub, public ECR) give undefined. */
export function parseImageUri(uri: string, user: string): ImageReference | undefined {
  const match = ECR_IMAGE.exec(uri.trim());
  if (!match) return undefined;
  return {
    registry: match[1] as string,
    repository: match[3] as string,
    tag: match[4],
    digest: match[5],
    user,
  };
}

export interface InUseDeps {
  lambda: Pick<AwsCaller, 'get'>;
  ecs: Pick<AwsCaller, 'json'>;
  concurrency: number;
  /** Wraps each call: shared rate per operation and retries. */
  call: <T>(operation: string, fn: () => Promise<T>) => Promise<T>;
}

interface ListFunctionsOutput {
  Functions?: { FunctionName?: string; PackageType?: string }[];
  NextMarker?: string;
}
interface GetFunctionOutput {
  Code?: { ImageUri?: string; ResolvedImageUri?: string };
}
interface ListTaskDefinitionsOutput {
  taskDefinitionArns?: string[];
  nextToken?: string;
}
interface DescribeTaskDefinitionOutput {
  taskDefinition?: { family?: string; revision?: number; containerDefinitions?: { image?: string }[] };
}

/** Map of repository name -> references, from every image function and every ACTIVE task definition. */
export async function findImagesInUse(deps: InUseDeps): Promise<Map<string, ImageReference[]>> {
  const refs: ImageReference[] = [];
  // Lambda: ListFunctions does not return image URIs; GetFunction does, for image functions only.
  const imageFunctions: string[] = [];
  let marker: string | undefined;
  do {
    const page = await deps.call('ListFunctions', () =>
      deps.lambda.get<ListFunctionsOutput>('/2015-03-31/functions/', { Marker: marker, MaxItems: '50' }),
    );
    for (const fn of page.Functions ?? []) {
      if (fn.PackageType === 'Image' && fn.FunctionName) imageFunctions.push(fn.FunctionName);
    }
    marker = page.NextMarker || undefined;
  } while (marker);
  await mapLimit(imageFunctions, deps.concurrency, async (name) => {
    const out = await deps.call('GetFunction', () =>
      deps.lambda.get<GetFunctionOutput>(`/2015-03-31/functions/${encodeURIComponent(name)}`),
    );
    for (const uri of [out.Code?.ImageUri, out.Code?.ResolvedImageUri]) {
      const ref = typeof uri === 'string' ? parseImageUri(uri, `lambda:${name}`) : undefined;
      if (ref) refs.push(ref);
    }
  });
  // ECS: every ACTIVE revision can still be run or be behind a service.
  const taskDefinitions: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.call('ListTaskDefinitions', () =>
      deps.ecs.json<ListTaskDefinitionsOutput>('ListTaskDefinitions', {
        status: 'ACTIVE',
        maxResults: 100,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    taskDefinitions.push(...(page.taskDefinitionArns ?? []));
    nextToken = page.nextToken || undefined;
  } while (nextToken);
  await mapLimit(taskDefinitions, deps.concurrency, async (arn) => {
    const out = await deps.call('DescribeTaskDefinition', () =>
      deps.ecs.json<DescribeTaskDefinitionOutput>('DescribeTaskDefinition', { taskDefinition: arn }),
    );
    const def = out.taskDefinition;
    const user = `ecs:${def?.family ?? arn}:${def?.revision ?? '?'}`;
    for (const container of def?.containerDefinitions ?? []) {
      const ref = typeof container.image === 'string' ? parseImageUri(container.image, user) : undefined;
      if (ref) refs.push(ref);
    }
  });
  const byRepository = new Map<string, ImageReference[]>();
  for (const ref of refs)
    byRepository.set(ref.repository, [...(byRepository.get(ref.repository) ?? []), ref]);
  return byRepository;
}
