/**
 * `ECR Replication Action` (source aws.ecr): ECR's own report of one image's replication to one
 * destination, put on the destination region's bus (`region` and `account` name the destination;
 * `detail.source-region` and `detail.source-account` the pushed image; fields as listed in the
 * EventBridge schema registry's aws.ecr@ECRReplicationAction). A FAILURE is told at once, per
 * destination; a SUCCESS is not news. The scheduled check (replication-check.ts) stays for a
 * replication that never reports: these events are best effort, and they reach this stack only
 * where a destination region forwards them to it.
 */
import { consoleLinks, type Notification } from '../notify/notification.ts';

type Json = Record<string, unknown>;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** What one event says, or why it says nothing to tell. */
export type ReplicationOutcome =
  | { told: true; notification: Notification }
  | { told: false; reason: string; malformed: boolean; repository?: string };

/** Where the event came from: the destination (`region`, `account`) and its time. */
export interface ReplicationEventBase {
  region: string;
  account: string;
  time: string;
}

/** The notification of a failed replication to one destination, or why there is none. */
export function replicationAction(detail: Json, destination: ReplicationEventBase): ReplicationOutcome {
  const repository = str(detail['repository-name']);
  const result = str(detail.result);
  const digest = str(detail['image-digest']);
  if (!repository || !result || !digest) {
    return {
      told: false,
      malformed: true,
      reason: 'ECR Replication Action without repository-name, result or image-digest',
    };
  }
  if (result === 'SUCCESS') {
    return { told: false, malformed: false, repository, reason: `replicated to ${destination.region}` };
  }
  const sourceRegion = str(detail['source-region']) ?? destination.region;
  const sourceAccount = str(detail['source-account']) ?? destination.account;
  const elsewhere = destination.account !== sourceAccount ? ` (account ${destination.account})` : '';
  return {
    told: true,
    notification: {
      kind: 'replication-failed',
      outcome: 'failure',
      title: 'Replication failed',
      region: sourceRegion,
      account: sourceAccount,
      time: destination.time,
      repository,
      tag: str(detail['image-tag']),
      digest,
      detail: `ECR reported ${result} replicating the image to ${destination.region}${elsewhere}.`,
      links: [consoleLinks.image(sourceRegion, sourceAccount, repository, digest)],
    },
  };
}
