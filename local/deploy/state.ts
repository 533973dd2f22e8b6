/**
 * What a deployment builds up while it creates the template's resources one by one: the record the
 * rest of the local cloud reads (`Deployment`), the deploy log, the functions by ARN, the local
 * queues standing in for Lambda targets, each bucket's notifications so far, and the asynchronous
 * invocation settings to apply once every function is known.
 */
import { PutBucketNotificationConfigurationCommand, type QueueConfiguration } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { ACCOUNT_ID } from '../../shared/local-cloud.ts';
import type { AwsClients, Deployment, DeployOptions, LocalQueue } from './deployment.ts';

/** The deployment in progress, and the helpers every resource creator shares. */
export class DeployState {
  /** Function ARN -> function key. */
  readonly functionArns = new Map<string, string>();
  /** Function name or key -> MaximumRetryAttempts of its EventInvokeConfig. */
  readonly retryAttempts = new Map<string, number>();
  /** Function name or key -> on-failure destination ARN. */
  readonly onFailure = new Map<string, string>();
  private readonly bucketNotifications = new Map<string, QueueConfiguration[]>();

  constructor(
    readonly deployment: Deployment,
    readonly options: DeployOptions,
  ) {}

  get clients(): AwsClients {
    return this.options.clients;
  }

  get region(): string {
    return this.options.region;
  }

  /** Writes a line to the deploy log. */
  note(line: string): void {
    this.deployment.log.push(line);
    this.options.log(`deploy: ${line}`);
  }

  /** A queue the invoker drains into function `key`, standing in for a Lambda target. */
  async localQueue(name: string, kind: LocalQueue['kind'], key: string): Promise<LocalQueue> {
    const queueName = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
    const created = await this.clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const queue: LocalQueue = {
      url: String(created.QueueUrl),
      arn: `arn:aws:sqs:${this.region}:${ACCOUNT_ID}:${queueName}`,
      kind,
      functionKey: key,
    };
    this.deployment.queues.push(queue);
    return queue;
  }

  /** Adds queue notifications to a bucket's configuration (S3 replaces it whole on each put). */
  async notifyBucket(bucket: string, configs: QueueConfiguration[]): Promise<void> {
    const all = [...(this.bucketNotifications.get(bucket) ?? []), ...configs];
    this.bucketNotifications.set(bucket, all);
    await this.clients.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: all },
      }),
    );
    this.deployment.contextsBucket ??= bucket;
  }

  /** Gives every function the retry attempts and on-failure destination its EventInvokeConfig set. */
  applyInvokeConfigs(): void {
    for (const fn of this.deployment.functions) {
      const attempts = this.retryAttempts.get(fn.functionName) ?? this.retryAttempts.get(fn.key);
      if (attempts !== undefined) fn.maximumRetryAttempts = attempts;
      const destination = this.onFailure.get(fn.functionName) ?? this.onFailure.get(fn.key);
      if (destination) fn.onFailure = destination;
    }
  }
}
