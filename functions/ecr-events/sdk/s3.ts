/** The S3 client for upload records, for a dynamic import() that bundles it only for build events. */
export { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
