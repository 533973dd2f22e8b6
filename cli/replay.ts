/**
 * `ecr-pipeline replay`: re-drives a failure queue. Each message is the record Lambda sent to the
 * on-failure destination (its `requestPayload` is the original event) or, in the ecr-events queue,
 * an event an EventBridge rule could not deliver (the message is the event). The event is sent to
 * the function again as its source sent it, asynchronously; the message is deleted once Lambda has
 * accepted it, and kept otherwise.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { ReplayArgs } from './args.ts';
import { CliError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import type { Io } from './submit.ts';
import { DEFAULT_STACK, ENV, readLocalState, resolveTarget, stackOutputs } from './target.ts';

/** Sends an event to a function again; resolves once the function has accepted it. */
export interface Redriver {
  redrive(functionName: string, event: unknown): Promise<void>;
}

/** The AWS way: an asynchronous invocation (`InvocationType: Event`), as S3 and EventBridge make. */
export function lambdaRedriver(lambda: LambdaClient): Redriver {
  return {
    async redrive(functionName, event) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      if (out.StatusCode !== 202) throw new Error(`Lambda answered ${out.StatusCode}, not 202`);
    },
  };
}

/** One message of a failure queue, read. */
export interface Failure {
  event: unknown;
  /** What the event is about: the upload keys and versions, or the event's kind. */
  subject: string;
  error: string;
}

/** Reads a failure-queue message: a Lambda destination record, or an event a rule could not deliver. */
export function readFailure(message: Message): Failure {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(message.Body ?? '') as Record<string, unknown>;
  } catch {
    return { event: undefined, subject: 'unreadable message', error: 'not JSON' };
  }
  const fromDestination = 'requestPayload' in body;
  const event = fromDestination ? body.requestPayload : body;
  const response = body.responsePayload as { errorType?: string; errorMessage?: string } | undefined;
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const error = fromDestination
    ? [response?.errorType, response?.errorMessage].filter(Boolean).join(': ') || 'unknown error'
    : [attribute('ERROR_CODE'), attribute('ERROR_MESSAGE')].filter(Boolean).join(': ') || 'not delivered';
  return { event, subject: subjectOf(event), error };
}

function subjectOf(event: unknown): string {
  const e = event as {
    Records?: { s3?: { object?: { key?: string; versionId?: string; eTag?: string } } }[];
    'detail-type'?: string;
    detail?: Record<string, unknown>;
    action?: string;
  };
  if (Array.isArray(e?.Records)) {
    return e.Records.map(({ s3 }) => {
      const object = s3?.object ?? {};
      return `${object.key ?? '?'} (version ${object.versionId ?? object.eTag ?? 'unknown'})`;
    }).join(', ');
  }
  if (e?.['detail-type']) {
    const repository = e.detail?.['repository-name'] ?? e.detail?.['project-name'];
    return [e['detail-type'], repository].filter(Boolean).join(' ');
  }
  return e?.action ? `action ${e.action}` : 'event';
}

export interface ReplayResult {
  redriven: number;
  failed: number;
  listed: number;
  /** Messages sent to the queue after the replay began (new failures, perhaps of re-driven events): left there. */
  arrived: number;
}

/** When SQS took the message (its SentTimestamp, ms), if it says. */
function sentAt(message: Message): number | undefined {
  const value = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Makes a received message visible again at once. */
async function showAgain(
  sqs: SQSClient,
  queueUrl: string,
  message: { ReceiptHandle?: string },
): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: message.ReceiptHandle,
      VisibilityTimeout: 0,
    }),
  );
}

/**
 * Reads every visible message of `queueUrl` and re-drives it to `functionName` (or, with `dryRun`,
 * only lists it and makes it visible again at once: SQS cannot read without receiving). A message
 * sent after the replay began (`startedAt`) is left on the queue and counted, never re-driven: a
 * re-driven event that fails again comes back as a new message, and re-driving that would go round
 * for as long as the failure lasts.
 */
export async function replayQueue(
  sqs: SQSClient,
  redriver: Redriver,
  options: { queueUrl: string; functionName: string; dryRun: boolean; startedAt?: number },
  say: (line: string) => void,
): Promise<ReplayResult> {
  const result: ReplayResult = { redriven: 0, failed: 0, listed: 0, arrived: 0 };
  const startedAt = options.startedAt ?? Date.now();
  const seen = new Set<string>();
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        // Long enough that one pass over the queue never receives a message twice.
        VisibilityTimeout: 60,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    for (const message of Messages) {
      const sent = sentAt(message);
      if (sent === undefined || sent <= startedAt || seen.has(message.MessageId ?? '')) continue;
      seen.add(message.MessageId ?? '');
      result.arrived++;
    }
    const fresh = Messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    // A message seen already (listed, or kept) was just received again: make it visible at once,
    // or a dry run would hide the queue for the visibility timeout.
    for (const message of Messages.filter((m) => !fresh.includes(m)))
      await showAgain(sqs, options.queueUrl, message);
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      const failure = readFailure(message);
      result.listed++;
      if (options.dryRun || failure.event === undefined) {
        say(
          `${options.dryRun ? 'would re-drive' : 'cannot re-drive'}: ${failure.subject} (${failure.error})`,
        );
        if (!options.dryRun) result.failed++;
        await showAgain(sqs, options.queueUrl, message);
        continue;
      }
      try {
        await redriver.redrive(options.functionName, failure.event);
      } catch (error) {
        result.failed++;
        say(`not re-driven, kept: ${failure.subject}: ${(error as Error).message}`);
        await showAgain(sqs, options.queueUrl, message);
        continue;
      }
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      result.redriven++;
      say(`re-driven: ${failure.subject} (failed before with ${failure.error})`);
    }
  }
  return result;
}

/** Stack outputs and local names of each queue and its function. */
const QUEUES = {
  'build-trigger': { queue: 'BuildTriggerFailureQueue', function: 'BuildTrigger', key: 'buildTrigger' },
  'ecr-events': { queue: 'EcrEventsFailureQueue', function: 'EcrEvents', key: 'ecrEvents' },
} as const;

/** Runs `replay`; returns the exit code (1 when a message could not be re-driven). */
export async function replayCommand(args: ReplayArgs, io: Io): Promise<number> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const target = await resolveTarget(args.flags, io.env);
  const names = QUEUES[args.queue];
  const stack = args.flags.stack ?? io.env[ENV.stack] ?? DEFAULT_STACK;
  const state = target.local ? await readLocalState(io.env) : undefined;
  const config = {
    region: target.region,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.profile && !target.local ? { profile: target.profile } : {}),
    ...(target.local
      ? {
          credentials: {
            accessKeyId: state?.env?.AWS_ACCESS_KEY_ID ?? 'test',
            secretAccessKey: state?.env?.AWS_SECRET_ACCESS_KEY ?? 'test',
          },
        }
      : {}),
  };
  const sqs = new SQSClient(config);
  let queueUrl: string | undefined;
  let functionName: string | undefined;
  if (target.local) {
    // The local cloud names resources <stack>-<logical id> and functions <stack>-<key>, as serverless does.
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: `${stack}-${names.queue}` }))).QueueUrl;
    functionName = `${stack}-${names.key}`;
  } else {
    const outputs = await stackOutputs(config, stack);
    queueUrl = outputs[`${names.queue}Url`];
    functionName = outputs[`${names.function}FunctionName`];
  }
  if (!queueUrl || !functionName) {
    throw new CliError(
      `stack ${stack} names no ${args.queue} failure queue or function in its outputs`,
      'deploy the stack again (`npm run deploy`), or choose it with --stack',
    );
  }
  const lambda = new LambdaClient(config);
  try {
    const result = await replayQueue(
      sqs,
      lambdaRedriver(lambda),
      { queueUrl, functionName, dryRun: args.dryRun },
      say,
    );
    say(
      args.dryRun
        ? `${result.listed} message(s) in the ${args.queue} failure queue; nothing changed`
        : `${result.redriven} re-driven to ${functionName}, ${result.failed} kept`,
    );
    if (result.arrived > 0)
      say(
        `${result.arrived} message(s) arrived while replaying (new failures, perhaps of events just re-driven): left on the queue; read the function's log before replaying again`,
      );
    return result.failed > 0 ? EXIT.failed : EXIT.success;
  } finally {
    sqs.destroy();
    lambda.destroy();
  }
}
