/**
 * Lambda functions: each becomes a `FunctionSpec` for the invoker (its bundled handler file, memory,
 * timeout and the environment Lambda would give it), and its EventInvokeConfig the retry attempts
 * and on-failure destination of its asynchronous invocations.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { functionKey, type PhysicalResource } from '../template.ts';
import type { DeployState } from './state.ts';

type Props = Record<string, unknown>;

/** Where a serverless handler path (`dist/x/index.handler`) lives and what it exports. */
export function handlerFile(root: string, handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const base = join(root, handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  for (const ext of ['.mjs', '.js', '.cjs']) {
    if (existsSync(base + ext)) return { file: base + ext, exportName };
  }
  return { file: `${base}.mjs`, exportName };
}

/** AWS::Lambda::Function: a function the invoker runs, with Lambda's environment. */
export function addFunction(
  state: DeployState,
  logicalId: string,
  physical: PhysicalResource,
  props: Props,
): void {
  const { options } = state;
  const key = functionKey(logicalId);
  const { file, exportName } = handlerFile(options.root, String(props.Handler));
  const templateEnv = ((props.Environment as Props | undefined)?.Variables ?? {}) as Record<string, unknown>;
  const functionName = physical.ref;
  state.functionArns.set(physical.attributes.Arn ?? '', key);
  if (props.Role) state.deployment.iam.functionRoles[key] = String(props.Role);
  const memorySize = Number(props.MemorySize ?? 1024);
  const variables = Object.fromEntries(Object.entries(templateEnv).map(([k, v]) => [k, String(v)]));
  state.deployment.functions.push({
    key,
    functionName,
    file,
    exportName,
    timeoutSeconds: Number(props.Timeout ?? 6),
    memorySize,
    maximumRetryAttempts: 2,
    ...(props.Role ? { role: String(props.Role) } : {}),
    variables,
    env: {
      ...variables,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${String(props.Runtime ?? 'nodejs24.x')}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      _HANDLER: String(props.Handler),
      LAMBDA_TASK_ROOT: options.root,
      TZ: 'UTC',
      ...options.baseEnv,
      ...(options.functionEnv?.[key] ?? {}),
    },
  });
  state.note(`function ${key} (${functionName}) <- ${file}`);
}

/** AWS::Lambda::EventInvokeConfig: kept until every function is known (DeployState.applyInvokeConfigs). */
export function addInvokeConfig(state: DeployState, props: Props): void {
  const fn = String(props.FunctionName);
  const attempts = props.MaximumRetryAttempts;
  if (attempts !== undefined) state.retryAttempts.set(fn, Number(attempts));
  const destination = (((props.DestinationConfig as Props | undefined)?.OnFailure as Props | undefined)
    ?.Destination ?? undefined) as string | undefined;
  if (destination) state.onFailure.set(fn, destination);
}
