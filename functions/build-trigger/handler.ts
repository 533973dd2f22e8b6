import type { S3Event } from 'aws-lambda';

/** Placeholder entry point; replaced by the build-trigger implementation. */
export const handler = async (event: S3Event): Promise<void> => {
  console.log(JSON.stringify({ records: event.Records?.length ?? 0 }));
};
