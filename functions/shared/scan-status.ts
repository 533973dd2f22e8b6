/**
 * What a scan status says about an image's scan, for the ecr-events function and the CLI alike: one
 * classification, so that a status one of them waits on is never a failure to the other.
 *
 * ECR reports a scan's status in DescribeImages (`imageScanStatus.status`) and in its `ECR Image Scan`
 * event (`scan-status`); the values are ECR's `ScanStatus` (ECR API reference, ImageScanStatus).
 * Amazon Inspector's `Inspector2 Scan` event names its own, such as `INITIAL_SCAN_COMPLETE`.
 */
import type { ScanStatus } from '@aws-sdk/client-ecr';

/** Where a scan stands: results to read, no results ever (failed), or not yet. */
export type ScanState = 'complete' | 'failed' | 'pending' | 'unknown';

/**
 * Where each status ECR documents leaves the scan; undefined for any other. A status a new SDK adds
 * fails to compile at `undocumented` until it is placed here.
 */
function ecrScanState(status: string): Exclude<ScanState, 'unknown'> | undefined {
  const documented = status as ScanStatus;
  switch (documented) {
    // Basic scanning finished: the findings summary is there.
    case 'COMPLETE':
    // Enhanced scanning scanned the image and keeps monitoring it: the findings summary is there.
    case 'ACTIVE':
      return 'complete';
    case 'IN_PROGRESS':
    case 'PENDING':
      return 'pending';
    case 'FAILED':
    // The scanner does not support the image (an index, an unsupported operating system): never scanned.
    case 'UNSUPPORTED_IMAGE':
    // Amazon Inspector holds no findings for the image: none will be reported.
    case 'FINDINGS_UNAVAILABLE':
    // Continuous scanning lapsed (not pushed or pulled for the configured duration): no new results.
    case 'SCAN_ELIGIBILITY_EXPIRED':
    // The account's scan limit was reached: this image is not scanned.
    case 'LIMIT_EXCEEDED':
    // The image is in the archive storage class, which is not scanned.
    case 'IMAGE_ARCHIVED':
      return 'failed';
    // Stryker disable next-line ConditionalExpression: without the default the switch ends in undefined too
    default:
      return undocumented(documented);
  }
}

/** Compiles only when every documented status has its case above. */
// Stryker disable next-line BlockStatement: an empty body returns undefined too
function undocumented(_status: never): undefined {
  return undefined;
}

/**
 * Where a scan with this status stands. ECR's statuses as ECR documents them; Inspector's event
 * statuses by their ending (`...SCAN_COMPLETE`, `..._FAILED`); anything else is unknown (neither
 * results nor a failure: the function ignores the event, the CLI keeps waiting).
 */
export function scanState(status: string | undefined): ScanState {
  if (status === undefined) return 'unknown';
  const ecr = ecrScanState(status);
  if (ecr) return ecr;
  if (status.endsWith('SCAN_COMPLETE')) return 'complete';
  if (status.endsWith('_FAILED')) return 'failed';
  return 'unknown';
}

/** The scanner that reports a completed status: `ACTIVE` is enhanced scanning's, the rest basic's. */
export function scannerOf(status: string): 'basic' | 'enhanced' {
  return status === 'ACTIVE' ? 'enhanced' : 'basic';
}
