/**
 * Errors the command shows to people: what went wrong and what to do about it. Anything else that
 * reaches the top is translated by `explain` from the AWS SDK's and Node's error shapes.
 */
import { EXIT } from './exit-codes.ts';

/** An error with a next step for the user; the command prints both and exits with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.failed,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wrong arguments: exit code 2, as command-line tools do. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, hint = 'run with --help for the options') {
    super(message, hint, EXIT.usage);
  }
}

/** AWS refused the request or could not be reached (credentials, permissions, endpoint, bucket). */
export class AwsError extends CliError {
  override name = 'AwsError';
  constructor(message: string, hint: string | undefined, options?: { cause?: unknown }) {
    super(message, hint, EXIT.aws, options);
  }
}

/** The context folder cannot be sent as it is (too large, a link outside it, no Dockerfile...). */
export class ContextError extends CliError {
  override name = 'ContextError';
}

/** What the command knows about where it was talking to, to word errors precisely. */
export interface ErrorScene {
  bucket?: string;
  key?: string;
  endpoint?: string | undefined;
  local?: boolean;
  /** The AWS profile in use (flag or AWS_PROFILE), to name it when it gives no credentials. */
  profile?: string | undefined;
}

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const { code } = current as AwsLikeError;
    if (typeof code === 'string' && code.startsWith('E')) return code;
    current = (current as AwsLikeError).cause;
  }
  return undefined;
}

/** Turns an error from the SDK or the network into a CliError that says what to do. */
export function explain(error: unknown, scene: ErrorScene = {}): CliError {
  if (error instanceof CliError) return error;
  const aws = (error ?? {}) as AwsLikeError;
  const name = aws.name ?? '';
  const message = aws.message ?? String(error);
  const status = aws.$metadata?.httpStatusCode;
  const where = scene.bucket ? `s3://${scene.bucket}/${scene.key ?? ''}` : 'AWS';
  const network = codeOf(error);

  if (network === 'ECONNREFUSED' || network === 'ECONNRESET') {
    if (scene.local) {
      return new AwsError(
        `the local cloud is not running: nothing answers at ${scene.endpoint ?? 'its endpoint'}`,
        'start it in another terminal with `npm start`, then run this command again',
        { cause: error },
      );
    }
    return new AwsError(
      `cannot connect to ${scene.endpoint ?? 'the AWS endpoint'} (${network})`,
      'check AWS_ENDPOINT_URL and your network; unset AWS_ENDPOINT_URL to talk to AWS itself',
      { cause: error },
    );
  }
  if (network === 'ENOTFOUND' || network === 'EAI_AGAIN') {
    return new AwsError(`cannot resolve the AWS endpoint (${network})`, 'check your network and --region', {
      cause: error,
    });
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new AwsError(
      scene.profile ? `no AWS credentials found for profile "${scene.profile}"` : 'no AWS credentials found',
      'run `aws configure` (or `aws sso login`), set AWS_PROFILE or pass --profile; use --local for the local cloud',
      { cause: error },
    );
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException') {
    return new AwsError('your AWS credentials have expired', 'sign in again (`aws sso login` or new keys)', {
      cause: error,
    });
  }
  if (
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'UnrecognizedClientException'
  ) {
    return new AwsError(
      `AWS does not accept these credentials (${name})`,
      'check the profile or keys in use',
      { cause: error },
    );
  }
  if (name === 'NoSuchBucket') {
    return new AwsError(
      `the contexts bucket ${scene.bucket ?? ''} does not exist`,
      'deploy the stack (`npm run deploy`), or pass the right --bucket / ECR_PIPELINE_BUCKET and --region',
      { cause: error },
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || status === 403) {
    return new AwsError(
      `access denied to ${where}: ${message}`,
      'your identity needs s3:PutObject and s3:GetObject on the contexts bucket, and codebuild:ListBuildsForProject / BatchGetBuilds on the project to follow the build',
      { cause: error },
    );
  }
  if (name === 'AbortError') {
    return new CliError('interrupted', undefined, EXIT.interrupted, { cause: error });
  }
  return new CliError(`${name && name !== 'Error' ? `${name}: ` : ''}${message}`, undefined, EXIT.failed, {
    cause: error,
  });
}
