/** The events ECR puts on the default bus for the registry side: `ECR Image Action` and `ECR Image Scan`. */
import type { SeverityCounts } from '../scanner.ts';

/** A PutEvents entry. */
export interface EventEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
}

/** The `ECR Image Action` event of a push or a delete. */
export function imageAction(
  action: 'PUSH' | 'DELETE',
  name: string,
  digest: string,
  tag?: string,
): EventEntry {
  return {
    Source: 'aws.ecr',
    DetailType: 'ECR Image Action',
    Detail: JSON.stringify({
      result: 'SUCCESS',
      'repository-name': name,
      'image-digest': digest,
      'action-type': action,
      ...(tag ? { 'image-tag': tag } : {}),
    }),
    Resources: [],
  };
}

export interface ScanEventInput {
  status: 'COMPLETE' | 'FAILED';
  name: string;
  digest: string;
  tags: string[];
  counts: SeverityCounts;
  repositoryArn?: string;
}

/** The `ECR Image Scan` event of a basic scan on push. */
export function imageScan(scan: ScanEventInput): EventEntry {
  return {
    Source: 'aws.ecr',
    DetailType: 'ECR Image Scan',
    Detail: JSON.stringify({
      'scan-status': scan.status,
      'repository-name': scan.name,
      'image-digest': scan.digest,
      'image-tags': scan.tags,
      'finding-severity-counts': scan.counts,
    }),
    Resources: scan.repositoryArn ? [scan.repositoryArn] : [],
  };
}

/** PutEvents as ECR delivers these events: best effort, a failure logged and never thrown. */
export function bestEffort(
  putEvents: (entries: EventEntry[]) => Promise<void>,
  log: (line: string) => void,
): (entries: EventEntry[]) => Promise<void> {
  return async (entries) => {
    try {
      await putEvents(entries);
    } catch (error) {
      // ECR delivers these events best effort: a failure here must not fail the push.
      log(`registry: could not put ${entries.length} ECR event(s): ${String(error)}`);
    }
  };
}
