/** Constants every part of the local cloud shares. */

/** The account moto serves (its default), and so the account of every ARN the local cloud writes. */
export const ACCOUNT_ID = '123456789012';

/** The region the local cloud runs in unless told otherwise. */
export const DEFAULT_REGION = 'us-east-1';

/** The credentials every client of the local cloud signs with: moto accepts any, these are the usual. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
