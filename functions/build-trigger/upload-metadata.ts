import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { UploadIdentity } from '../shared/upload-record.ts';
import { classify } from './errors.ts';

/**
 * The user metadata of the uploaded object version (`x-amz-meta-*`, names in lower case): the
 * platforms it asks for decide how many builds start, and on which environments.
 */
export async function uploadMetadata(
  s3: S3Client,
  identity: UploadIdentity,
): Promise<Record<string, string>> {
  try {
    const out = await s3.send(
      new HeadObjectCommand({
        Bucket: identity.bucket,
        Key: identity.key,
        ...(identity.versionId ? { VersionId: identity.versionId } : {}),
      }),
    );
    return out?.Metadata ?? {};
  } catch (error) {
    throw classify(error, `reading the metadata of s3://${identity.bucket}/${identity.key}`);
  }
}
