/**
 * `ecr-pipeline verify <image>`: does the image carry what the build attaches (docs/supply-chain.md)?
 * An SBOM referrer of its digest (of each platform's image when it is an index) and a provenance
 * referrer of its digest, each manifest's `subject` that digest (a referrer listed for the image but
 * made for another is refused), and a provenance whose source is an upload of this stack: its bucket,
 * and the upload record the stack wrote for this image naming the same key, version and digest.
 * Where a signature can be checked, its signature too: the local cloud's sigstore signature with its
 * public key, ECR managed signing's status on AWS.
 */
import { readFileSync } from 'node:fs';
import {
  DescribeImageSigningStatusCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type ImageIndex, imageIndexKey, type UploadRecord } from '../functions/shared/upload-record.ts';
import { PROVENANCE_TYPE, SBOM_TYPE, SLSA_PROVENANCE_V1 } from '../shared/oci/attestations.ts';
import { listReferrers } from '../shared/oci/referrers.ts';
import { type Descriptor, isDigest, platformImages, RegistryClient } from '../shared/oci/registry.ts';
import { verifySignature } from '../shared/oci/sigstore.ts';
import { CliError, explain, UsageError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import type { Io } from './submit.ts';
import { resolveTarget, sceneOf, type Target, type TargetFlags } from './target.ts';

export interface VerifyArgs {
  command: 'verify';
  image: string;
  output: 'text' | 'json';
  flags: TargetFlags;
}

/** An image reference: `[host/]repository(:tag|@digest)`. */
export interface ImageReference {
  host?: string | undefined;
  repository: string;
  reference: string;
}

/** Splits an image reference; the host is the first part when it has a dot or a port, or is localhost. */
export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf('@');
  const [name, digest] = at >= 0 ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const host = first !== '' && (/[.:]/.test(first) || first === 'localhost') ? first : undefined;
  const path = host ? name.slice(slash + 1) : name;
  const colon = path.lastIndexOf(':');
  // `name:tag@digest` names the digest: the tag is left out, as docker and podman read it.
  const repository = colon >= 0 ? path.slice(0, colon) : path;
  const reference = digest ?? (colon >= 0 ? path.slice(colon + 1) : 'latest');
  if (repository === '' || reference === '' || (digest !== undefined && !isDigest(digest)))
    throw new UsageError(
      `"${image}" is not an image reference ([registry/]repository:tag or @sha256:<digest>)`,
    );
  return { host, repository, reference };
}

export interface SbomFound {
  /** The image the SBOM describes (the index's platform image, or the image itself). */
  subject: string;
  referrer: string;
  format: string;
  components: number;
}

export interface ProvenanceFound {
  referrer: string;
  builder?: string | undefined;
  buildArn?: string | undefined;
  source?: { bucket?: string; key?: string; versionId?: string; sha256?: string } | undefined;
  startedOn?: string | undefined;
  finishedOn?: string | undefined;
  /** The upload record's status, when the stack has one for this image. */
  record?: string | undefined;
}

/** What verify found; `problems` empty means verified. */
export interface VerifyReport {
  image: string;
  digest: string;
  /** How the registry keeps referrers: its API, or the OCI 1.1 fallback tag. */
  scheme: 'api' | 'tag';
  sboms: SbomFound[];
  provenance?: ProvenanceFound | undefined;
  signature?: SignatureFound | undefined;
  problems: string[];
}

/** The image's signature: `signed`, `unsigned` (none there), or a problem (`invalid`, `failed`, ...). */
export interface SignatureFound {
  status: 'signed' | 'unsigned' | 'invalid' | 'in-progress' | 'failed' | 'unreadable';
  /** How it was checked: `local key <file>` or `ECR managed signing`. */
  by: string;
  detail?: string | undefined;
}

export interface VerifyDeps {
  registry: RegistryClient;
  /** The upload record the stack wrote for repository@digest (through its image index), if any. */
  recordOf: (repository: string, digest: string) => Promise<UploadRecord | undefined>;
  /** The image's signature, where a format can be checked; absent: not checked. */
  signatureOf?: (repository: string, digest: string) => Promise<SignatureFound>;
}

type Json = Record<string, unknown>;

/** A JSON object (not an array, not null). */
function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The referrer's manifest and its one layer, refused unless its subject is `subject`. */
async function artifactOf(deps: VerifyDeps, repository: string, referrer: Descriptor, subject: string) {
  const stored = await deps.registry.getManifest(repository, referrer.digest);
  if (!stored) return { problem: `referrer ${referrer.digest} is listed but not in the registry` };
  const manifest = JSON.parse(stored.bytes.toString('utf8')) as Json;
  const about = isObject(manifest.subject) ? manifest.subject.digest : undefined;
  if (about !== subject)
    return {
      problem: `referrer ${referrer.digest} is listed for ${subject} but made for ${String(about ?? 'no image')}`,
    };
  const layers = Array.isArray(manifest.layers) ? (manifest.layers as Descriptor[]) : [];
  const layer = layers[0];
  if (!layer || !isDigest(String(layer.digest)))
    return { problem: `referrer ${referrer.digest} has no content layer` };
  const body = JSON.parse(
    (await deps.registry.getBlob(repository, layer.digest)).toString('utf8'),
  ) as unknown;
  return { body: isObject(body) ? body : {} };
}

async function checkSboms(deps: VerifyDeps, repository: string, subjects: string[], report: VerifyReport) {
  for (const subject of subjects) {
    const { descriptors } = await listReferrers(deps.registry, repository, subject, SBOM_TYPE);
    let found: SbomFound | undefined;
    for (const referrer of descriptors) {
      const artifact = await artifactOf(deps, repository, referrer, subject);
      if ('problem' in artifact) {
        report.problems.push(`SBOM: ${artifact.problem}`);
        continue;
      }
      const bom = artifact.body;
      if (bom.bomFormat !== 'CycloneDX') {
        report.problems.push(`SBOM: referrer ${referrer.digest} is not a CycloneDX document`);
        continue;
      }
      found ??= {
        subject,
        referrer: referrer.digest,
        format: `CycloneDX ${String(bom.specVersion ?? '?')}`,
        components: Array.isArray(bom.components) ? bom.components.length : 0,
      };
    }
    if (found) report.sboms.push(found);
    else report.problems.push(`no SBOM referrer of ${subject}`);
  }
}

function statementProblems(statement: Json, digest: string): string[] {
  const problems: string[] = [];
  if (statement.predicateType !== SLSA_PROVENANCE_V1)
    problems.push(`predicate type is ${String(statement.predicateType)}, not SLSA v1 provenance`);
  const subjects = Array.isArray(statement.subject) ? (statement.subject as Json[]) : [];
  const names = subjects.map((s) => (isObject(s.digest) ? `sha256:${String(s.digest.sha256)}` : ''));
  if (!names.includes(digest))
    problems.push(`its statement is about ${names.join(', ') || 'no image'}, not ${digest}`);
  return problems;
}

async function checkProvenance(
  deps: VerifyDeps,
  repository: string,
  digest: string,
  bucket: string,
  report: VerifyReport,
) {
  const { descriptors } = await listReferrers(deps.registry, repository, digest, PROVENANCE_TYPE);
  for (const referrer of descriptors) {
    const artifact = await artifactOf(deps, repository, referrer, digest);
    if ('problem' in artifact) {
      report.problems.push(`provenance: ${artifact.problem}`);
      continue;
    }
    const statement = artifact.body;
    const wrong = statementProblems(statement, digest);
    if (wrong.length > 0) {
      report.problems.push(...wrong.map((p) => `provenance ${referrer.digest}: ${p}`));
      continue;
    }
    const predicate = isObject(statement.predicate) ? statement.predicate : {};
    const definition = isObject(predicate.buildDefinition) ? predicate.buildDefinition : {};
    const external = isObject(definition.externalParameters) ? definition.externalParameters : {};
    const source = (isObject(external.source) ? external.source : {}) as NonNullable<
      ProvenanceFound['source']
    >;
    const run = isObject(predicate.runDetails) ? predicate.runDetails : {};
    const builder = isObject(run.builder) ? run.builder : {};
    const metadata = isObject(run.metadata) ? run.metadata : {};
    const record = await deps.recordOf(repository, digest);
    report.provenance = {
      referrer: referrer.digest,
      builder: typeof builder.id === 'string' ? builder.id : undefined,
      buildArn: typeof metadata.invocationId === 'string' ? metadata.invocationId : undefined,
      source,
      startedOn: typeof metadata.startedOn === 'string' ? metadata.startedOn : undefined,
      finishedOn: typeof metadata.finishedOn === 'string' ? metadata.finishedOn : undefined,
      record: record?.status,
    };
    if (source.bucket !== bucket)
      report.problems.push(
        `provenance: its source bucket "${String(source.bucket)}" is not this stack's "${bucket}"`,
      );
    else if (!record)
      report.problems.push(`provenance: this stack has no upload record of ${repository}@${digest}`);
    else if (
      record.key !== source.key ||
      (record.versionId && record.versionId !== source.versionId) ||
      record.digest !== digest
    )
      report.problems.push(
        `provenance: its source s3://${source.bucket}/${String(source.key)} is not the upload this stack recorded for the image (s3://${record.bucket}/${record.key})`,
      );
    return;
  }
  report.problems.push(`no provenance referrer of ${digest}`);
}

/** Looks up the image and checks its referrers; never throws on what it finds, only on what it cannot read. */
export async function verifyImage(
  deps: VerifyDeps,
  image: { host: string; repository: string; reference: string },
  bucket: string,
): Promise<VerifyReport> {
  const stored = await deps.registry.getManifest(image.repository, image.reference);
  if (!stored)
    throw new CliError(`${image.host}/${image.repository}:${image.reference} is not in the registry`);
  const digest = stored.digest;
  const report: VerifyReport = {
    image: `${image.host}/${image.repository}@${digest}`,
    digest,
    scheme: (await deps.registry.referrersIndex(image.repository, digest)) ? 'api' : 'tag',
    sboms: [],
    problems: [],
  };
  await checkSboms(
    deps,
    image.repository,
    platformImages(stored).map((image) => image.digest),
    report,
  );
  await checkProvenance(deps, image.repository, digest, bucket, report);
  if (deps.signatureOf) {
    report.signature = await deps.signatureOf(image.repository, digest);
    const { status, detail } = report.signature;
    if (status !== 'signed' && status !== 'unsigned')
      report.problems.push(`signature: ${status}${detail ? `: ${detail}` : ''}`);
  }
  return report;
}

/** The local cloud's signature of an image, checked with its public key (shared/oci/sigstore.ts). */
export function localSignature(registry: RegistryClient, keyFile: string) {
  return async (repository: string, digest: string): Promise<SignatureFound> => {
    const by = `local key ${keyFile}`;
    let key: string;
    try {
      key = readFileSync(keyFile, 'utf8');
    } catch {
      return { status: 'unreadable', by, detail: `no public key at ${keyFile}` };
    }
    const check = await verifySignature(registry, repository, digest, key);
    if (check.kind === 'signed') return { status: 'signed', by };
    if (check.kind === 'unsigned') return { status: 'unsigned', by };
    return { status: 'invalid', by, detail: check.reason };
  };
}

/** ECR managed signing's status of an image (DescribeImageSigningStatus). */
export function managedSignature(ecr: ECRClient) {
  return async (repository: string, digest: string): Promise<SignatureFound> => {
    const by = 'ECR managed signing';
    try {
      const out = await ecr.send(
        new DescribeImageSigningStatusCommand({
          repositoryName: repository,
          imageId: { imageDigest: digest },
        }),
      );
      const statuses = out.signingStatuses ?? [];
      const complete = statuses.find((s) => s.status === 'COMPLETE');
      if (complete) return { status: 'signed', by, detail: complete.signingProfileArn };
      const failed = statuses.find((s) => s.status === 'FAILED');
      if (failed)
        return {
          status: 'failed',
          by,
          detail: [failed.failureCode, failed.failureReason].filter(Boolean).join(': '),
        };
      return statuses.length > 0 ? { status: 'in-progress', by } : { status: 'unsigned', by };
    } catch (error) {
      return { status: 'unreadable', by, detail: `DescribeImageSigningStatus: ${(error as Error).name}` };
    }
  };
}

/** The report as people read it. */
export function renderReport(report: VerifyReport): string {
  const lines = [
    `image       ${report.image}`,
    `referrers   ${report.scheme === 'api' ? 'referrers API' : 'OCI 1.1 fallback tag'}`,
  ];
  for (const sbom of report.sboms)
    lines.push(
      `sbom        ${sbom.format}, ${sbom.components} components${sbom.subject !== report.digest ? ` (platform image ${sbom.subject})` : ''}`,
    );
  const p = report.provenance;
  if (p) {
    const version = p.source?.versionId ? ` version ${p.source.versionId}` : '';
    lines.push(
      `provenance  SLSA v1 from s3://${p.source?.bucket}/${p.source?.key}${version} (sha256 ${p.source?.sha256 ?? '?'})`,
    );
    lines.push(
      `            built by ${p.builder ?? '?'} (${p.buildArn ?? '?'}), ${p.startedOn ?? '?'} to ${p.finishedOn ?? '?'}`,
    );
    if (p.record) lines.push(`            upload record: ${p.record}`);
  }
  const sig = report.signature;
  if (sig) lines.push(`signature   ${sig.status} (${sig.by})${sig.detail ? `: ${sig.detail}` : ''}`);
  for (const problem of report.problems) lines.push(`problem     ${problem}`);
  const signed = sig?.status === 'signed' ? ', signed' : '';
  lines.push(report.problems.length === 0 ? `verified: SBOM, provenance${signed}` : 'NOT verified');
  return `${lines.join('\n')}\n`;
}

async function recordReader(target: Target) {
  return async (repository: string, digest: string): Promise<UploadRecord | undefined> => {
    const read = async (key: string) => {
      const out = await target.clients.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
      return JSON.parse((await out.Body?.transformToString()) ?? '{}') as unknown;
    };
    try {
      const index = (await read(imageIndexKey(target.prefix, repository, digest))) as ImageIndex;
      if (index.repository !== repository || index.digest !== digest) return undefined;
      return (await read(index.record)) as UploadRecord;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };
}

/** `ecr-pipeline verify <image>`: exit 0 when verified, 7 when not (docs/cli.md). */
export async function verifyCommand(args: VerifyArgs, io: Io): Promise<number> {
  const parsed = parseImageReference(args.image);
  const target = await resolveTarget(args.flags, io.env);
  try {
    const token = await target.clients.ecr.send(new GetAuthorizationTokenCommand({}));
    const data = token.authorizationData?.[0];
    const password = Buffer.from(data?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .replace(/^AWS:/, '');
    const host =
      parsed.host ?? (target.local ? target.registry : data?.proxyEndpoint?.replace(/^https?:\/\//, ''));
    if (!host) throw new CliError('no registry to look in', 'name the image with its registry host');
    const registry = new RegistryClient({ host, password });
    const signatureOf = target.local
      ? localSignature(registry, target.localSigningKey as string)
      : managedSignature(target.clients.ecr);
    const report = await verifyImage(
      { registry, recordOf: await recordReader(target), signatureOf },
      { ...parsed, host },
      target.bucket,
    );
    io.stdout.write(args.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return report.problems.length === 0 ? EXIT.success : EXIT.unverified;
  } catch (error) {
    throw explain(error, sceneOf(target));
  }
}
