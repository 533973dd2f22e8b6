/**
 * The stack's settings as its functions carry them: Serverless names each function
 * `<service>-<stage>-<key>` and the build project `<service>-<stage>`, and each function's
 * environment holds the parameters it was deployed with (SCAN_ON_PUSH, RELEASE_GATE, the Slack
 * webhook's parameter, the SNS topic...). Read with Lambda's GetFunctionConfiguration.
 */
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import type { Clients } from './target.ts';

/** The functions whose settings `doctor` and `submit` read, by their serverless.yml key. */
export type FunctionKey = 'buildTrigger' | 'ecrEvents' | 'release';

/** A deployed function's name, execution role and environment variables. */
export interface FunctionSettings {
  name: string;
  role?: string | undefined;
  env: Record<string, string>;
}

/** The name Serverless gives the function `key` of the stack whose build project is `project`. */
export function functionName(project: string, key: FunctionKey): string {
  return `${project}-${key}`;
}

/** The function's settings; undefined when there is no such function. Other errors are thrown. */
export async function readFunction(
  clients: Pick<Clients, 'lambda'>,
  name: string,
): Promise<FunctionSettings | undefined> {
  try {
    const config = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    return { name, role: config.Role, env: config.Environment?.Variables ?? {} };
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** The stack's scanOnPush for the repositories it creates, from build-trigger; undefined when unread. */
export async function stackScanOnPush(
  clients: Pick<Clients, 'lambda'>,
  project: string | undefined,
): Promise<boolean | undefined> {
  if (!project) return undefined;
  try {
    const settings = await readFunction(clients, functionName(project, 'buildTrigger'));
    const value = settings?.env.SCAN_ON_PUSH;
    return value === undefined ? undefined : value.toLowerCase() === 'true';
  } catch {
    // No lambda:GetFunctionConfiguration: the repository's own setting, or nothing, decides.
    return undefined;
  }
}
