/**
 * CloudFormation's custom resources, run as CloudFormation runs them: once the stack's functions can
 * be invoked, each gets a `Create` request (the template's properties, a stack id, a request id) and
 * answers by a PUT to the request's `ResponseURL`, here a server of ours on the loopback interface
 * instead of a pre-signed S3 URL. The outcome of each is one line of the start-up log: SUCCESS, or
 * FAILED with the function's reason, or no answer in time; never skipped in silence.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCOUNT_ID } from '../shared/local-cloud.ts';
import type { CustomResourceSpec } from './deploy/deployment.ts';
import { closeServer, listen, readBody } from './http.ts';

export interface CustomResourceOutcome {
  logicalId: string;
  status: 'SUCCESS' | 'FAILED' | 'NO_RESPONSE';
  reason?: string;
  data?: Record<string, unknown>;
}

export interface CustomResourceRun {
  stackName: string;
  region: string;
  /** Invokes a function of the stack (the invoker), as CloudFormation invokes a ServiceToken. */
  invoke: (functionKey: string, event: unknown) => Promise<unknown>;
  log: (line: string) => void;
  timeoutMs?: number;
}

/** The one start-up line of an outcome. */
export function describeOutcome(spec: CustomResourceSpec, outcome: CustomResourceOutcome): string {
  const head = `custom resource ${spec.logicalId} (${spec.type})`;
  if (outcome.status === 'SUCCESS') return `${head}: SUCCESS`;
  if (outcome.status === 'NO_RESPONSE') return `${head}: no response from function ${spec.functionKey}`;
  return `${head}: FAILED: ${outcome.reason ?? 'no reason given'}`;
}

/** Sends each custom resource its Create request, in template order, and logs each outcome in one line. */
export async function runCustomResources(
  specs: readonly CustomResourceSpec[],
  run: CustomResourceRun,
): Promise<CustomResourceOutcome[]> {
  if (specs.length === 0) return [];
  const answers = new Map<string, (body: string) => void>();
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      answers.get(String(req.url).slice(1))?.(body.toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  const stackId = `arn:aws:cloudformation:${run.region}:${ACCOUNT_ID}:stack/${run.stackName}/${randomUUID()}`;
  const outcomes: CustomResourceOutcome[] = [];
  try {
    for (const spec of specs) {
      const requestId = randomUUID();
      const answered = new Promise<string | undefined>((resolve) => {
        answers.set(requestId, resolve);
        setTimeout(() => resolve(undefined), run.timeoutMs ?? 60_000).unref();
      });
      const invoked = run
        .invoke(spec.functionKey, {
          RequestType: 'Create',
          ServiceToken: `arn:aws:lambda:${run.region}:${ACCOUNT_ID}:function:${spec.functionKey}`,
          ResponseURL: `http://127.0.0.1:${port}/${requestId}`,
          StackId: stackId,
          RequestId: requestId,
          LogicalResourceId: spec.logicalId,
          ResourceType: spec.type,
          ResourceProperties: { ServiceToken: spec.functionKey, ...spec.properties },
        })
        .catch(() => undefined);
      const [body] = await Promise.all([answered, invoked]);
      const outcome = outcomeOf(spec.logicalId, body);
      outcomes.push(outcome);
      run.log(describeOutcome(spec, outcome));
    }
  } finally {
    await closeServer(server);
  }
  return outcomes;
}

function outcomeOf(logicalId: string, body: string | undefined): CustomResourceOutcome {
  if (body === undefined) return { logicalId, status: 'NO_RESPONSE' };
  try {
    const parsed = JSON.parse(body) as { Status?: string; Reason?: string; Data?: Record<string, unknown> };
    return {
      logicalId,
      status: parsed.Status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
      ...(parsed.Reason ? { reason: parsed.Reason } : {}),
      ...(parsed.Data ? { data: parsed.Data } : {}),
    };
  } catch {
    return { logicalId, status: 'FAILED', reason: 'the response is not JSON' };
  }
}
