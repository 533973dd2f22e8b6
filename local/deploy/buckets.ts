/**
 * Buckets and their notifications: a bucket with its versioning and tags, and each notification to
 * one of the template's functions turned into a notification to a local queue the invoker drains
 * (serverless' `Custom::S3` for existing buckets included).
 */
import {
  CreateBucketCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  type QueueConfiguration,
  type Event as S3Event,
} from '@aws-sdk/client-s3';
import { ACCOUNT_ID } from '../../shared/local-cloud.ts';
import type { PhysicalResource } from '../template.ts';
import type { DeployState } from './state.ts';

type Props = Record<string, unknown>;
type FilterRule = { Name: 'prefix' | 'suffix'; Value: string };

const SKIPPED_BUCKETS = new Set(['ServerlessDeploymentBucket']);

/** S3 filter rules from a bucket's `Filter.S3Key.Rules` or a serverless Custom::S3 `Rules` list. */
export function filterRules(rules: unknown): FilterRule[] {
  const out: FilterRule[] = [];
  for (const rule of (rules ?? []) as Array<Record<string, string>>) {
    if (rule.Name)
      out.push({ Name: rule.Name.toLowerCase() as 'prefix' | 'suffix', Value: String(rule.Value) });
    if (rule.Prefix !== undefined) out.push({ Name: 'prefix', Value: rule.Prefix });
    if (rule.Suffix !== undefined) out.push({ Name: 'suffix', Value: rule.Suffix });
  }
  return out;
}

interface LambdaNotification {
  event: string;
  rules: unknown;
  fnArn: string;
}

/** Queue configurations standing in for a bucket's notifications to functions of the template. */
async function lambdaQueueConfigs(
  state: DeployState,
  bucket: string,
  configs: LambdaNotification[],
): Promise<QueueConfiguration[]> {
  const out: QueueConfiguration[] = [];
  for (const [i, config] of configs.entries()) {
    const key = state.functionArns.get(config.fnArn);
    if (!key) {
      state.note(
        `bucket ${bucket}: notification to ${config.fnArn} is not one of the template's functions; skipped`,
      );
      continue;
    }
    const queue = await state.localQueue(`local-s3-${bucket}-${key}-${i}`, 's3', key);
    const rules = filterRules(config.rules);
    out.push({
      QueueArn: queue.arn,
      Events: [config.event as S3Event],
      ...(rules.length > 0 ? { Filter: { Key: { FilterRules: rules } } } : {}),
    });
    state.note(
      `bucket ${bucket}: ${config.event} ${rules.map((r) => `${r.Name}=${r.Value}`).join(' ')} -> ${key}`,
    );
  }
  return out;
}

/** AWS::S3::Bucket: the bucket, its versioning and tags, its notifications to functions. */
export async function createBucket(
  state: DeployState,
  logicalId: string,
  physical: PhysicalResource,
  props: Props,
): Promise<void> {
  if (SKIPPED_BUCKETS.has(logicalId)) return;
  const { s3 } = state.clients;
  const bucket = physical.ref;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  state.deployment.buckets.push(bucket);
  const versioning = (props.VersioningConfiguration as Props | undefined)?.Status;
  if (versioning) {
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: versioning as 'Enabled' | 'Suspended' },
      }),
    );
  }
  const tags = (props.Tags ?? []) as Array<{ Key: string; Value: string }>;
  if (tags.length > 0) {
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags } }));
  }
  state.note(`bucket ${bucket}${versioning ? ` (versioning ${versioning})` : ''}`);
  const notification = (props.NotificationConfiguration ?? {}) as Props;
  const lambdas = (notification.LambdaConfigurations ?? []) as Props[];
  const configs = await lambdaQueueConfigs(
    state,
    bucket,
    lambdas.map((c) => ({
      event: String(c.Event),
      rules: ((c.Filter as Props | undefined)?.S3Key as Props | undefined)?.Rules,
      fnArn: String(c.Function),
    })),
  );
  if (configs.length > 0) await state.notifyBucket(bucket, configs);
  if (notification.EventBridgeConfiguration) {
    state.note(`bucket ${bucket}: EventBridge notifications are not delivered by the local cloud`);
  }
}

/** Custom::S3, serverless' `existing: true` S3 events: the notification added to a bucket. */
export async function addExistingBucketNotifications(state: DeployState, props: Props): Promise<void> {
  const bucket = String(props.BucketName);
  const fnArn = `arn:aws:lambda:${state.region}:${ACCOUNT_ID}:function:${String(props.FunctionName)}`;
  const configs = await lambdaQueueConfigs(
    state,
    bucket,
    ((props.BucketConfigs ?? []) as Props[]).map((c) => ({ event: String(c.Event), rules: c.Rules, fnArn })),
  );
  if (configs.length > 0) await state.notifyBucket(bucket, configs);
}
