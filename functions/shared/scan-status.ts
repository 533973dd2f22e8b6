/**
 * What a scan status says about an image's scan, for the ecr-events function and the CLI alike: one
 * table, so that a status one of them waits on is never a failure to the other.
 *
 * ECR reports a scan's status in DescribeImages (`imageScanStatus.status`) and in its `ECR Image Scan`
 * event (`scan-status`); the values are ECR's `ScanStatus` (ECR API reference, ImageScanStatus).
 * Amazon Inspector's `Inspector2 Scan` event names its own, such as `INITIAL_SCAN_COMPLETE`.
 */
import type { ScanStatus } from '@aws-sdk/client-ecr';

/** Where a scan stands: results to read, no results ever (failed), or not yet. */
export type ScanState = 'complete' | 'failed' | 'pending' | 'unknown';

/** Every status ECR documents, and where it leaves the scan. */
export const ECR_SCAN_STATES: Readonly<Record<ScanStatus, Exclude<ScanState, 'unknown'>>> = {
  // Basic scanning finished: the findings summary is there.
  COMPLETE: 'complete',
  // Enhanced scanning scanned the image and keeps monitoring it: the findings summary is there.
  ACTIVE: 'complete',
  IN_PROGRESS: 'pending',
  PENDING: 'pending',
  FAILED: 'failed',
  // The scanner does not support the image (an index, an unsupported operating system): never scanned.
  UNSUPPORTED_IMAGE: 'failed',
  // Amazon Inspector holds no findings for the image: none will be reported.
  FINDINGS_UNAVAILABLE: 'failed',
  // Continuous scanning lapsed (not pushed or pulled for the configured duration): no new results.
  SCAN_ELIGIBILITY_EXPIRED: 'failed',
  // The account's scan limit was reached: this image is not scanned.
  LIMIT_EXCEEDED: 'failed',
  // The image is in the archive storage class, which is not scanned.
  IMAGE_ARCHIVED: 'failed',
};

/**
 * Where a scan with this status stands. ECR's statuses by the table; Inspector's event statuses by
 * their ending (`...SCAN_COMPLETE`, `..._FAILED`); anything else is unknown (neither results nor a
 * failure: the function ignores the event, the CLI keeps waiting).
 */
export function scanState(status: string | undefined): ScanState {
  if (status === undefined) return 'unknown';
  if (Object.hasOwn(ECR_SCAN_STATES, status)) return ECR_SCAN_STATES[status as ScanStatus];
  if (status.endsWith('SCAN_COMPLETE')) return 'complete';
  if (status.endsWith('_FAILED')) return 'failed';
  return 'unknown';
}

/** The scanner that reports a completed status: `ACTIVE` is enhanced scanning's, the rest basic's. */
export function scannerOf(status: string): 'basic' | 'enhanced' {
  return status === 'ACTIVE' ? 'enhanced' : 'basic';
}
