/**
 * What an invocation asks of the release function, read from its payload. Every field is checked:
 * a success event of another project, of an upload outside the stack's bucket, or a payload of any
 * other shape asks nothing, and says why (`ignore`).
 */

import { type BuildDurations, durationsOfEvent } from '../shared/build-durations.ts';
import {
  ATTESTATIONS,
  type Attestation,
  BUILD_ENV,
  BUILD_EXPORTED_ATTESTATIONS,
  BUILD_EXPORTED_DIGEST,
  type ReleaseOverrideRequest,
} from '../shared/contract.ts';
import { normalizeCounts, type SeverityCounts } from '../shared/severity.ts';
import { UPLOAD_RECORD_DIR, type UploadIdentity } from '../shared/upload-record.ts';
import type { Config } from './config.ts';

export type ReleaseInput =
  | {
      kind: 'build-succeeded';
      buildId: string;
      identity: UploadIdentity;
      digest?: string;
      attestations?: Attestation[];
      /** The build is one leg of a multi-platform upload: its platform. */
      platform?: string;
      /** Where the build spent its time (the event's phases, checked). */
      durations?: BuildDurations;
    }
  | { kind: 'scan'; repository: string; digest: string; status: string; counts: SeverityCounts }
  | { kind: 'check-pending' }
  | { kind: 'override'; request: ReleaseOverrideRequest }
  | { kind: 'ignore'; why: string };

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** `sha256:` and 64 hex digits: the only digests ECR gives. */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Repository name from a name or from an ECR repository ARN (Inspector names the ARN). */
export function repositoryName(value: string): string {
  const match = /^arn:aws[a-z-]*:ecr:[^:]*:\d*:repository\/(.+)$/.exec(value);
  return match ? (match[1] as string) : value;
}

/** The value of `name` in a CodeBuild event's list of `{name, value}`. */
function variable(list: unknown, name: string): string | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = list.find((v): v is Json => isObject(v) && v.name === name);
  return str(found?.value);
}

function buildEvent(detail: Json, config: Config): ReleaseInput {
  const status = str(detail['build-status']);
  const project = str(detail['project-name']);
  const buildId = str(detail['build-id']);
  if (status !== 'SUCCEEDED') return { kind: 'ignore', why: `build status ${status ?? 'missing'}` };
  if (project !== config.projectName)
    return { kind: 'ignore', why: `a build of another project (${project})` };
  if (!buildId) return { kind: 'ignore', why: 'a build event without build-id' };
  const info = isObject(detail['additional-information']) ? detail['additional-information'] : {};
  const environment = isObject(info.environment) ? info.environment['environment-variables'] : undefined;
  const bucket = variable(environment, BUILD_ENV.bucket);
  const key = variable(environment, BUILD_ENV.key);
  if (bucket !== config.bucket || !key) return { kind: 'ignore', why: 'a build of no upload of this stack' };
  if (!key.startsWith(config.keyPrefix) || key.startsWith(`${config.keyPrefix}.ecr-pipeline/`)) {
    return { kind: 'ignore', why: 'a build of a key outside the uploads' };
  }
  const digest = variable(info['exported-environment-variables'], BUILD_EXPORTED_DIGEST);
  // Only the names the buildspec writes, each once, in their order.
  const exported = (
    variable(info['exported-environment-variables'], BUILD_EXPORTED_ATTESTATIONS) ?? ''
  ).split(',');
  const attestations = ATTESTATIONS.filter((name) => exported.includes(name));
  const platform = variable(environment, BUILD_ENV.platform);
  const durations = durationsOfEvent(info.phases);
  return {
    kind: 'build-succeeded',
    buildId,
    identity: {
      bucket,
      key,
      versionId: variable(environment, BUILD_ENV.versionId),
      eTag: variable(environment, BUILD_ENV.eTag),
    },
    ...(digest ? { digest } : {}),
    ...(attestations.length > 0 ? { attestations } : {}),
    ...(platform ? { platform } : {}),
    ...(durations ? { durations } : {}),
  };
}

function scanEvent(detail: Json): ReleaseInput {
  const rawRepository = str(detail['repository-name']);
  const digest = str(detail['image-digest']);
  const status = str(detail['scan-status']);
  if (!rawRepository || !digest || !status || !DIGEST.test(digest)) {
    return { kind: 'ignore', why: 'a scan event without repository-name, image-digest or scan-status' };
  }
  return {
    kind: 'scan',
    repository: repositoryName(rawRepository),
    digest,
    status,
    counts: normalizeCounts(detail['finding-severity-counts']),
  };
}

function overrideRequest(event: Json): ReleaseInput {
  const record = str(event.record);
  const reason = str(event.reason)?.trim();
  const by = str(event.by);
  if (!record || !reason || !by) return { kind: 'ignore', why: 'an override without record, reason or by' };
  return {
    kind: 'override',
    request: { action: 'override', record, reason: reason.slice(0, 1000), by: by.slice(0, 300) },
  };
}

/** Reads one invocation's payload. */
export function parseInput(event: unknown, config: Config): ReleaseInput {
  if (!isObject(event)) return { kind: 'ignore', why: 'the payload is not a JSON object' };
  if (event.action === 'override') return overrideRequest(event);
  if (event.action === 'check-pending') return { kind: 'check-pending' };
  const detail = event.detail;
  if (!isObject(detail)) return { kind: 'ignore', why: 'not an event this function handles' };
  switch (`${String(event.source)}|${String(event['detail-type'])}`) {
    case 'aws.codebuild|CodeBuild Build State Change':
      return buildEvent(detail, config);
    case 'aws.ecr|ECR Image Scan':
    case 'aws.inspector2|Inspector2 Scan':
      return scanEvent(detail);
    default:
      return { kind: 'ignore', why: `event ${String(event.source)} / ${String(event['detail-type'])}` };
  }
}

/** True when `key` is an upload record of this stack (an override names one). */
export function isRecordKey(config: Config, key: string): boolean {
  const dir = `${config.keyPrefix}${UPLOAD_RECORD_DIR}`;
  return key.startsWith(dir) && /^[a-f0-9]{64}\.json$/.test(key.slice(dir.length));
}
