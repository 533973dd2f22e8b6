/** What an invocation writes into the upload records: a build's state changes, a completed scan. */
import type { Build } from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { durationsOfBuild } from '../../shared/build-durations.ts';
import { BUILD_EXPORTED_DIGEST } from '../../shared/contract.ts';
import type { UploadScan } from '../../shared/upload-record.ts';
import type { Deps } from '../deps.ts';
import { describeError } from '../logger.ts';
import { uploadOfBuild } from '../origin/verify-build.ts';
import type { Route } from '../route.ts';
import { type ProgressResult, recordBuild, recordScan, scanOfImage } from './progress.ts';
import { type RecordEvent, recordEventOf } from './record-transition.ts';

/**
 * A build's state change goes into the record of its upload (build id, then the outcome), a completed
 * scan into the record of the upload that built the image. Nothing here holds the notification back
 * or makes Lambda retry it: a failure is logged, loudly, and the record keeps its previous state.
 * The upload and the digest are those CodeBuild reports for the build (`build`, confirmed by
 * events.ts), never the event's: no payload can point a real build's outcome at another record.
 */
export async function noteUpload(deps: Deps, build: Build | undefined, classified: Route): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || classified.action !== 'notify') return;
  const n = classified.notification;
  const change = withDurations(recordEventOf(n), build);
  if (!change) return;
  const upload = change.kind === 'scan' || !build ? undefined : uploadOfBuild(build);
  if (change.kind !== 'scan' && !upload) return;
  const keys = {
    kind: change.kind,
    buildId: n.build?.id,
    key: upload?.identity.key,
    repository: n.repository,
    digest: n.digest,
  };
  try {
    const { s3, commands } = await deps.uploadRecords();
    const progress = {
      s3,
      commands,
      ...config.uploads,
      buildDigest: async () => exportedDigest(build),
      imageScan: (repository: string, digest: string) => imageScan(deps, repository, digest),
      logger,
    };
    let result: ProgressResult | undefined;
    if (change.kind === 'scan') result = await recordScan(progress, change);
    else if (upload) result = await recordBuild(progress, upload, change);
    if (result === 'written') logger.info('upload record updated', keys);
    else if (result === 'no-index') logger.info('scanned image built by no upload of this stack', keys);
    else if (result === 'no-record' && change.kind !== 'scan')
      logger.warn('no upload record for the build (expired, or a build not started by this stack)', keys);
  } catch (error) {
    // The record keeps its previous state: `status` then tells less than it could. Loud, but no
    // reason to hold the notification back or to have it sent twice by a retry.
    logger.error('could not update the upload record', { ...keys, error: describeError(error) });
  }
}

/** A failed build's change with where its time went, as CodeBuild describes the build (not the event). */
function withDurations(change: RecordEvent | undefined, build: Build | undefined): RecordEvent | undefined {
  if (change?.kind !== 'build-failed') return change;
  const durations = durationsOfBuild(build?.phases);
  return durations ? { ...change, durations } : change;
}

/** The image digest a build exported, as CodeBuild described the build. */
function exportedDigest(build: Build | undefined): string | undefined {
  return (
    build?.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_DIGEST)?.value || undefined
  );
}

/** The scan of an image as ECR describes it, for a scan that completed before its record said built. */
async function imageScan(deps: Deps, repository: string, digest: string): Promise<UploadScan | undefined> {
  // Stryker disable next-line ArrayDeclaration: a placeholder element has no scan status, as no image has none
  const { imageDetails = [] } = await deps.ecr.send(
    new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  return scanOfImage(imageDetails[0], deps.now().toISOString());
}
