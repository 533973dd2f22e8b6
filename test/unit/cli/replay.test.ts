import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../cli/args.ts';
import { lambdaRedriver, type Redriver, readFailure, replayQueue } from '../../../cli/replay.ts';
import { s3Event } from '../build-trigger/helpers.ts';

const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);
const client = new SQSClient({ region: 'us-east-1' });
const QUEUE_URL =
  'https://sqs.us-east-1.amazonaws.com/123456789012/ecr-pipeline-dev-BuildTriggerFailureQueue';
const FUNCTION = 'ecr-pipeline-dev-buildTrigger';

/** A message as Lambda's on-failure destination sends it: the original event is `requestPayload`. */
function destinationMessage(id: string, key: string): Message {
  const event = s3Event('put-versioned.json');
  const object = event.Records[0]?.s3.object;
  if (object) object.key = key;
  return {
    MessageId: id,
    ReceiptHandle: `receipt-${id}`,
    Body: JSON.stringify({
      version: '1.0',
      requestContext: { requestId: 'r-1', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: event,
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'TransientError', errorMessage: '1 of 1 records failed transiently' },
    }),
  };
}

const messages = [destinationMessage('m-1', 'team-a/api/v1.tar.gz'), destinationMessage('m-2', 'web/v2.tgz')];

/** A redriver that records what it re-drove and fails for the keys given. */
function fakeRedriver(failFor: string[] = []): Redriver & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    async redrive(functionName, event) {
      expect(functionName).toBe(FUNCTION);
      const key = (event as ReturnType<typeof s3Event>).Records[0]?.s3.object.key ?? '';
      if (failFor.includes(key)) throw new Error('Rate exceeded');
      sent.push(event);
    },
  };
}

const lines: string[] = [];
const say = (line: string) => lines.push(line);

beforeEach(() => {
  sqs.reset();
  lambda.reset();
  lines.length = 0;
  // The queue answers the two messages once, then nothing (they are invisible or deleted).
  sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({ Messages: [] });
  sqs.on(DeleteMessageCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('replay', () => {
  it('with --dry-run lists each upload, its version and error, and re-drives or deletes nothing', async () => {
    const redriver = fakeRedriver();
    const result = await replayQueue(
      client,
      redriver,
      { queueUrl: QUEUE_URL, functionName: FUNCTION, dryRun: true },
      say,
    );

    expect(result).toEqual({ listed: 2, redriven: 0, failed: 0, arrived: 0 });
    expect(redriver.sent).toEqual([]);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
    // Made visible again at once: the queue is as it was.
    expect(sqs).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 2);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: 'receipt-m-1',
      VisibilityTimeout: 0,
    });
    expect(lines[0]).toBe(
      'would re-drive: team-a/api/v1.tar.gz (version 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY) (TransientError: 1 of 1 records failed transiently)',
    );
  });

  it('leaves on the queue a failure sent after the replay began, as a re-driven event failing again is', async () => {
    const startedAt = Date.parse('2026-12-01T07:00:00Z');
    const before = {
      ...destinationMessage('m-1', 'team-a/api/v1.tar.gz'),
      Attributes: { SentTimestamp: String(startedAt - 5_000) },
    };
    const after = {
      ...destinationMessage('m-3', 'team-a/api/v1.tar.gz'),
      Attributes: { SentTimestamp: String(startedAt + 1_500) },
    };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [before] })
      .resolvesOnce({ Messages: [after] })
      .resolvesOnce({ Messages: [after] })
      .resolves({ Messages: [] });
    const redriver = fakeRedriver();
    const result = await replayQueue(
      client,
      redriver,
      { queueUrl: QUEUE_URL, functionName: FUNCTION, dryRun: false, startedAt },
      say,
    );

    expect(result).toEqual({ listed: 1, redriven: 1, failed: 0, arrived: 1 });
    expect(redriver.sent).toHaveLength(1);
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'receipt-m-1' });
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: 'receipt-m-3',
      VisibilityTimeout: 0,
    });
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      MessageSystemAttributeNames: ['SentTimestamp'],
    });
  });

  it('re-drives the original event of each message, then deletes that message', async () => {
    const redriver = fakeRedriver();
    const result = await replayQueue(
      client,
      redriver,
      { queueUrl: QUEUE_URL, functionName: FUNCTION, dryRun: false },
      say,
    );

    expect(result).toEqual({ listed: 2, redriven: 2, failed: 0, arrived: 0 });
    expect(redriver.sent).toEqual(messages.map((m) => JSON.parse(m.Body ?? '').requestPayload));
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: 'receipt-m-1',
    });
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'receipt-m-2' });
  });

  it('keeps the message of an event the function did not accept', async () => {
    const result = await replayQueue(
      client,
      fakeRedriver(['team-a/api/v1.tar.gz']),
      { queueUrl: QUEUE_URL, functionName: FUNCTION, dryRun: false },
      say,
    );

    expect(result).toEqual({ listed: 2, redriven: 1, failed: 1, arrived: 0 });
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'receipt-m-2' });
    expect(lines).toContain(
      'not re-driven, kept: team-a/api/v1.tar.gz (version 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY): Rate exceeded',
    );
  });

  it('invokes the function asynchronously with the original event, as S3 did', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const event = { Records: [] };
    await lambdaRedriver(new LambdaClient({ region: 'us-east-1' })).redrive(FUNCTION, event);

    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: FUNCTION,
      InvocationType: 'Event',
    });
    const payload = lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload;
    expect(JSON.parse(new TextDecoder().decode(payload as Uint8Array))).toEqual(event);
  });

  it('takes the event itself from a message an EventBridge rule could not deliver', () => {
    const event = { 'detail-type': 'ECR Image Action', detail: { 'repository-name': 'team-a/api' } };
    const failure = readFailure({
      Body: JSON.stringify(event),
      MessageAttributes: {
        ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
        ERROR_MESSAGE: { DataType: 'String', StringValue: 'Lambda throttled' },
      },
    });
    expect(failure).toEqual({
      event,
      subject: 'ECR Image Action team-a/api',
      error: 'SDK_CLIENT_ERROR: Lambda throttled',
    });
  });

  it('parses --queue and --dry-run, defaulting to the build-trigger queue', () => {
    expect(parseCommandLine(['replay'])).toMatchObject({
      command: 'replay',
      queue: 'build-trigger',
      dryRun: false,
    });
    expect(parseCommandLine(['replay', '--queue', 'ecr-events', '--dry-run'])).toMatchObject({
      queue: 'ecr-events',
      dryRun: true,
    });
    expect(() => parseCommandLine(['replay', '--queue', 'other'])).toThrow(
      '--queue must be build-trigger or ecr-events',
    );
  });
});
