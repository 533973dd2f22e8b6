/**
 * What joins the deployed stack to the rest of the local cloud, where AWS would do it itself: the
 * Slack webhook secret pointed at the local sink, the SNS sink subscribed to every topic, failed
 * asynchronous invocations sent to their destinations, and queue messages turned into the events
 * the functions receive.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { ACCOUNT_ID } from '../shared/local-cloud.ts';
import type { AwsClients, Deployment, LocalQueue } from './deployer.ts';
import type { Invoker } from './invoker.ts';
import { correctEventBridgeEvent, createSequencer, s3MessageToEvents } from './records.ts';
import type { Sinks } from './sinks.ts';

/**
 * The Slack webhook URL is a secret the stack reads but does not create (CloudFormation cannot make
 * SecureString parameters): the local cloud puts the sink's URL there.
 */
export async function provideSlackWebhook(
  clients: AwsClients,
  deployment: Deployment,
  webhookUrl: string,
  log: (line: string) => void,
): Promise<void> {
  for (const fn of deployment.functions) {
    const name = fn.env.SLACK_WEBHOOK_PARAMETER;
    if (!name) continue;
    if (fn.env.SLACK_WEBHOOK_SOURCE === 'secretsmanager') {
      await clients.secrets
        .send(new CreateSecretCommand({ Name: name, SecretString: webhookUrl }))
        .catch(() => undefined);
    } else {
      await clients.ssm.send(
        new PutParameterCommand({ Name: name, Value: webhookUrl, Type: 'SecureString', Overwrite: true }),
      );
    }
    log(`slack: webhook ${name} -> ${webhookUrl}`);
  }
}

/** The SNS sink: a queue subscribed to every topic of the stack; resolves with its URL. */
export async function subscribeSnsSink(clients: AwsClients, deployment: Deployment, region: string) {
  const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'local-sns-sink' }));
  const queueArn = `arn:aws:sqs:${region}:${ACCOUNT_ID}:local-sns-sink`;
  for (const topic of deployment.topics) {
    await clients.sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'sqs', Endpoint: queueArn }));
  }
  return String(queue.QueueUrl);
}

/** Keeps an SNS message that reached the sink's queue, and prints it. */
export function sinkSnsMessage(sinks: Sinks, body: unknown, log: (line: string) => void): void {
  const envelope = body as {
    Subject?: string;
    Message?: string;
    MessageAttributes?: Record<string, { Value?: string }>;
  };
  const attributes = Object.fromEntries(
    Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, String(v.Value ?? '')]),
  );
  sinks.sns.push({
    receivedAt: new Date().toISOString(),
    ...(envelope.Subject ? { subject: envelope.Subject } : {}),
    message: String(envelope.Message ?? ''),
    attributes,
  });
  log(`sns: ${envelope.Subject ? `[${envelope.Subject}] ` : ''}${String(envelope.Message ?? '')}`);
}

/** Sends a failed asynchronous invocation's record to its on-failure destination (SQS or SNS). */
export function destinationSender(clients: AwsClients) {
  return async (arn: string, record: unknown): Promise<void> => {
    const body = JSON.stringify(record);
    if (arn.startsWith('arn:aws:sqs:')) {
      const name = arn.split(':').at(-1) ?? '';
      const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    } else if (arn.startsWith('arn:aws:sns:')) {
      await clients.sns.send(new PublishCommand({ TopicArn: arn, Message: body }));
    }
  };
}

/**
 * Turns the messages of a deployment's local queues into invocations: S3 notifications into the S3
 * events Lambda gets (with the object's version id), EventBridge events corrected where moto differs.
 */
export function queueDelivery(clients: AwsClients, invoker: Invoker, region: string) {
  const sequencer = createSequencer();
  const versionId = async (bucket: string, key: string, eTag: string | undefined) => {
    try {
      const answer = await clients.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
      const versions = (answer.Versions ?? []).filter(
        (v) => v.Key === key && v.VersionId && v.VersionId !== 'null',
      );
      const match =
        versions.find((v) => eTag && v.ETag?.replace(/"/g, '') === eTag.replace(/"/g, '')) ??
        versions.find((v) => v.IsLatest);
      return match?.VersionId;
    } catch {
      return undefined;
    }
  };
  return async (queue: LocalQueue, body: unknown): Promise<void> => {
    if (queue.kind === 's3') {
      const events = await s3MessageToEvents(body, { region, versionId, sequencer });
      await Promise.all(events.map((event) => invoker.invokeAsync(queue.functionKey, event)));
    } else {
      await invoker.invokeAsync(queue.functionKey, correctEventBridgeEvent(body as Record<string, unknown>));
    }
  };
}
