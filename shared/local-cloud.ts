/**
 * The local cloud's public constants: its account, region, port and credentials. The local cloud
 * serves them, the command-line tool's --local target and the benchmarks connect with them; they
 * live here, outside local/, so that the command-line tool never imports the local cloud.
 */

/** The account moto serves (its default), and so the account of every ARN the local cloud writes. */
export const ACCOUNT_ID = '123456789012';

/** The region the local cloud runs in unless told otherwise, and the command-line tool's when nothing names one. */
export const DEFAULT_REGION = 'us-east-1';

/** The local cloud's gateway port, and the registry front's at + 2, unless told otherwise. */
export const DEFAULT_BASE_PORT = 4566;

/** The credentials every client of the local cloud signs with: moto accepts any, these are the usual. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
