/** The S3 client for upload records, for a dynamic import() that bundles it only for build events. */
export {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
