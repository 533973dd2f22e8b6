/**
 * Which ECR repositories are still referenced by the account's Lambda functions (container images)
 * and active ECS task definitions, whether by tag or by digest. A repository is in use when any
 * reference names it, so the match is on the repository, never on a tag alone.
 * The sweeper imports this module (and with it the Lambda and ECS commands) only when it needs it.
 */
import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  paginateListTaskDefinitions,
} from '@aws-sdk/client-ecs';
import { GetFunctionCommand, type LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { mapLimit } from '../../shared/retry.ts';

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
  lambda: LambdaClient;
  ecs: ECSClient;
  concurrency: number;
}

/** Map of repository name -> references, from every image function and every ACTIVE task definition. */
export async function findImagesInUse(deps: InUseDeps): Promise<Map<string, ImageReference[]>> {
  const refs: ImageReference[] = [];
  // Lambda: ListFunctions does not return image URIs; GetFunction does, for image functions only.
  const imageFunctions: string[] = [];
  for await (const page of paginateListFunctions({ client: deps.lambda, pageSize: 50 }, {})) {
    // Stryker disable next-line ArrayDeclaration: anything but a function description is no image function either
    for (const fn of page.Functions ?? []) {
      if (fn.PackageType === 'Image' && fn.FunctionName) imageFunctions.push(fn.FunctionName);
    }
  }
  await mapLimit(imageFunctions, deps.concurrency, async (name) => {
    const out = await deps.lambda.send(new GetFunctionCommand({ FunctionName: name }));
    for (const uri of [out.Code?.ImageUri, out.Code?.ResolvedImageUri]) {
      const ref = typeof uri === 'string' ? parseImageUri(uri, `lambda:${name}`) : undefined;
      if (ref) refs.push(ref);
    }
  });
  // ECS: every ACTIVE revision can still be run or be behind a service.
  const taskDefinitions: string[] = [];
  for await (const page of paginateListTaskDefinitions(
    { client: deps.ecs, pageSize: 100 },
    { status: 'ACTIVE' },
  )) {
    taskDefinitions.push(...(page.taskDefinitionArns ?? []));
  }
  await mapLimit(taskDefinitions, deps.concurrency, async (arn) => {
    const out = await deps.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    const def = out.taskDefinition;
    const user = `ecs:${def?.family ?? arn}:${def?.revision ?? '?'}`;
    // Stryker disable next-line ArrayDeclaration: anything but a container definition names no image either
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
