/**
 * One classification of scan statuses for the ecr-events function and the CLI: for every status ECR
 * documents, the function's event route, its upload record and the CLI's `--fail-on` wait agree on
 * whether the scan has results, failed for good, or is still to come.
 */
import { DescribeImagesCommand, ECRClient, ScanStatus } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ecrScan } from '../../../cli/scan.ts';
import { createClients } from '../../../cli/target.ts';
import { route } from '../../../functions/ecr-events/route.ts';
import { scanOfImage } from '../../../functions/ecr-events/uploads/progress.ts';
import { type ScanState, scannerOf, scanState } from '../../../functions/shared/scan-status.ts';
import { event } from '../ecr-events/fixtures.ts';

const ecr = mockClient(ECRClient);
const clients = createClients({ region: 'us-east-1' });
const options = {
  projectName: 'ecr-pipeline-dev',
  account: '123456789012',
  region: 'us-west-2',
  now: () => new Date(),
};
const at = '2026-11-16T16:30:00.000Z';

beforeEach(() => {
  ecr.reset();
});

/** Every status ECR documents, with where it leaves the scan. */
const DOCUMENTED: Array<[string, ScanState]> = [
  ['COMPLETE', 'complete'],
  ['ACTIVE', 'complete'],
  ['IN_PROGRESS', 'pending'],
  ['PENDING', 'pending'],
  ['FAILED', 'failed'],
  ['UNSUPPORTED_IMAGE', 'failed'],
  ['FINDINGS_UNAVAILABLE', 'failed'],
  ['SCAN_ELIGIBILITY_EXPIRED', 'failed'],
  ['LIMIT_EXCEEDED', 'failed'],
  ['IMAGE_ARCHIVED', 'failed'],
];

/** What the function makes of an `ECR Image Scan` event with this status. */
function routed(status: string): ScanState {
  const e = event('ecr/image-scan-complete.json');
  e.detail['scan-status'] = status;
  const r = route(e, options);
  if (r.action === 'ignore')
    return r.reason === `scan-status ${status} carries no results` ? 'pending' : 'unknown';
  if (r.action !== 'notify') return 'unknown';
  if (r.notification.outcome === 'failure') return 'failed';
  return r.notification.counts ? 'complete' : 'unknown';
}

/** What the function writes into the upload record for an image with this status. */
function recorded(status: string): ScanState {
  const scan = scanOfImage(
    {
      imageScanStatus: { status: status as ScanStatus },
      imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 1 } },
    },
    at,
  );
  if (!scan) return 'pending';
  return scan.status === 'COMPLETE' ? 'complete' : 'failed';
}

/** What the CLI's wait for the scan makes of an image with this status. */
async function waited(status: string): Promise<ScanState> {
  ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [
      {
        imageScanStatus: { status: status as ScanStatus, description: 'why' },
        imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 1 } },
      },
    ],
  });
  try {
    const result = await ecrScan(clients, 'team/api', 'sha256:feed');
    return result ? 'complete' : 'pending';
  } catch (error) {
    expect(String(error)).toContain(`ended ${status}: why`);
    return 'failed';
  }
}

describe('scan statuses', () => {
  it('places every status of the SDK, so that a new one fails to compile or this test', () => {
    for (const status of Object.values(ScanStatus)) expect(scanState(status)).not.toBe('unknown');
    expect(DOCUMENTED.map(([status]) => status).sort()).toEqual(Object.values(ScanStatus).sort());
  });

  it.each(DOCUMENTED)('%s is %s to the function and the CLI alike', async (status, state) => {
    expect(scanState(status)).toBe(state);
    expect(routed(status)).toBe(state);
    expect(recorded(status)).toBe(state);
    expect(await waited(status)).toBe(state);
  });

  it('reads results of enhanced scanning from ACTIVE, of basic scanning from COMPLETE', async () => {
    expect(scannerOf('ACTIVE')).toBe('enhanced');
    expect(scannerOf('COMPLETE')).toBe('basic');
    expect(scanOfImage({ imageScanStatus: { status: 'ACTIVE' } }, at)?.scanner).toBe('enhanced');
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageScanStatus: { status: 'ACTIVE' } }] });
    expect(await ecrScan(clients, 'team/api', 'sha256:feed')).toEqual({ scanner: 'enhanced', counts: {} });
  });

  it("reads Amazon Inspector's event statuses by their ending", () => {
    expect(scanState('INITIAL_SCAN_COMPLETE')).toBe('complete');
    expect(scanState('INITIAL_SCAN_FAILED')).toBe('failed');
  });

  it.each([undefined, 'COMPLETE_SOON', 'toString', '__proto__', 'complete'])(
    'leaves an unknown status (%s) unknown: neither results nor a failure',
    async (status) => {
      expect(scanState(status)).toBe('unknown');
      if (status === undefined) return;
      expect(recorded(status)).toBe('pending');
      expect(await waited(status)).toBe('pending');
      expect(routed(status)).toBe('pending');
    },
  );
});
