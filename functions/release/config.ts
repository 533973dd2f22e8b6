/**
 * The release function's settings, read from the environment once, at module load.
 * A missing or invalid variable fails the cold start with a message that names it.
 */
import { RELEASE_GATES, type ReleaseGate, type ReleaseGateSetting } from '../shared/contract.ts';
import { ConfigError, type Env, integer, oneOf, text } from '../shared/env-config.ts';
import { SEVERITIES, type Severity } from '../shared/severity.ts';

export { ConfigError };

export interface Config {
  /** The contexts bucket: the upload records and the uploads a build names must be in it. */
  bucket: string;
  /** Key prefix of build contexts and of the records folder (may be empty). */
  keyPrefix: string;
  /** The stack's CodeBuild project: a success event of any other project releases nothing. */
  projectName: string;
  /** The stack's bus, where the verdicts go (only this function's role may put there). */
  eventBusName: string;
  /** The stack's gate; an upload may ask for a stricter one, never a looser one. */
  gate: ReleaseGate;
  /** `scan`: a finding of this severity or worse holds the image. */
  maxSeverity: Severity;
  /** `scan` or signed: how long after the build a scan or signature not complete holds the image. */
  scanTimeoutMs: number;
  /** releaseGate signed or scan,signed: an image ECR managed signing has not signed (COMPLETE) is held. */
  requireSigned: boolean;
  /** The project's build timeout: with the queue's, when every leg of an upload must have ended. */
  buildTimeoutMs: number;
  /** The project's queued timeout. */
  buildQueuedTimeoutMs: number;
  /** How long a verdict may wait for its own invocation's retry to announce it before another does. */
  announceAfterMs: number;
}

/** The scan gate and the signing gate of a releaseGate value. */
function stackGate(value: ReleaseGateSetting): {
  gate: ReleaseGate;
  requireSigned: boolean;
} {
  return { gate: value.startsWith('scan') ? 'scan' : 'none', requireSigned: value.endsWith('signed') };
}

/** Reads and validates the configuration from `env`. */
export function loadConfig(env: Env): Config {
  const keyPrefix = text(env, 'KEY_PREFIX', '');
  if (keyPrefix !== '' && !keyPrefix.endsWith('/')) {
    throw new ConfigError(`environment variable KEY_PREFIX must end with "/", got "${keyPrefix}"`);
  }
  return {
    bucket: text(env, 'CONTEXT_BUCKET'),
    keyPrefix,
    projectName: text(env, 'BUILD_PROJECT'),
    eventBusName: text(env, 'EVENT_BUS_NAME'),
    ...stackGate(oneOf(env, 'RELEASE_GATE', RELEASE_GATES, 'none')),
    maxSeverity: oneOf(env, 'RELEASE_MAX_SEVERITY', SEVERITIES, 'HIGH'),
    scanTimeoutMs: integer(env, 'RELEASE_SCAN_TIMEOUT_SECONDS', 1800, 60, 7 * 24 * 3600) * 1000,
    // CodeBuild's limits: 5 to 2160 minutes running, 5 to 480 queued; its defaults when unset.
    buildTimeoutMs: integer(env, 'BUILD_TIMEOUT_MINUTES', 60, 5, 2160) * 60_000,
    buildQueuedTimeoutMs: integer(env, 'BUILD_QUEUED_TIMEOUT_MINUTES', 480, 5, 480) * 60_000,
    // Lambda's retries of one event come within minutes; the function's timeout bounds one attempt.
    announceAfterMs: (integer(env, 'FUNCTION_TIMEOUT_SECONDS', 60, 1, 900) * 3 + 60) * 1000,
  };
}
