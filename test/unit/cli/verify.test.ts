/**
 * cli/verify.ts: what `ecr-pipeline verify` accepts and refuses, against the real distribution
 * registry (referrers through the fallback tag) with referrers attached as a build attaches them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImageSigningStatusCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PREDICATE_ANNOTATION, PROVENANCE_TYPE, SBOM_TYPE } from '../../../buildspec/session/attest.ts';
import { SLSA_PROVENANCE_V1 } from '../../../buildspec/session/provenance.ts';
import { UsageError } from '../../../cli/errors.ts';
import {
  localSignature,
  managedSignature,
  parseImageReference,
  renderReport,
  type SignatureFound,
  type VerifyReport,
  verifyImage,
} from '../../../cli/verify.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';
import { freePort, type Service, startRegistry } from '../../../local/processes.ts';
import { type Artifact, attachReferrers } from '../../../shared/oci/referrers.ts';
import {
  type Descriptor,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  sha256,
} from '../../../shared/oci/registry.ts';

const HEX = 'ab'.repeat(32);

describe('parseImageReference', () => {
  it('splits registry, repository and tag or digest the way image references are read', () => {
    expect(parseImageReference('team/app:v1')).toEqual({
      host: undefined,
      repository: 'team/app',
      reference: 'v1',
    });
    expect(parseImageReference('team/app')).toEqual({
      host: undefined,
      repository: 'team/app',
      reference: 'latest',
    });
    expect(parseImageReference(`127.0.0.1:4568/team/app@sha256:${HEX}`)).toEqual({
      host: '127.0.0.1:4568',
      repository: 'team/app',
      reference: `sha256:${HEX}`,
    });
    expect(parseImageReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2')).toEqual({
      host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      repository: 'app',
      reference: 'v2',
    });
    expect(parseImageReference('localhost/app:v3').host).toBe('localhost');
    expect(parseImageReference('app:v4')).toEqual({ host: undefined, repository: 'app', reference: 'v4' });
    expect(parseImageReference(`registry.example.com/team/app:v5@sha256:${HEX}`)).toEqual({
      host: 'registry.example.com',
      repository: 'team/app',
      reference: `sha256:${HEX}`,
    });
  });

  it('refuses what is not an image reference, and a digest that is not sha256', () => {
    for (const bad of ['', ':v1', 'app:', 'app@sha256:short', `app@md5:${HEX}`, `@sha256:${HEX}`])
      expect(() => parseImageReference(bad), bad).toThrow(UsageError);
  });
});

describe('verifyImage', () => {
  let registry: Service | undefined;
  let client: RegistryClient;
  let host: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verify-'));
    const port = await freePort();
    registry = await startRegistry(port, dir);
    host = `127.0.0.1:${port}`;
    client = new RegistryClient({ host, password: 'unused' });
  }, 40_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let seed = 0;
  async function pushImage(): Promise<Descriptor> {
    seed += 1;
    const config = await client.putBlob(
      'team/app',
      'application/vnd.oci.image.config.v1+json',
      Buffer.from(`{"s":${seed}}`),
    );
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
    );
    const { digest } = await client.putManifest('team/app', sha256(bytes), OCI_MANIFEST, bytes);
    return { mediaType: OCI_MANIFEST, digest, size: bytes.length };
  }

  const sbom = (
    bom: object = { bomFormat: 'CycloneDX', specVersion: '1.5', components: [{}, {}] },
  ): Artifact => ({
    artifactType: SBOM_TYPE,
    mediaType: SBOM_TYPE,
    bytes: Buffer.from(JSON.stringify(bom)),
  });
  const provenance = (digest: string, over: Record<string, unknown> = {}): Artifact => ({
    artifactType: PROVENANCE_TYPE,
    mediaType: PROVENANCE_TYPE,
    annotations: { [PREDICATE_ANNOTATION]: SLSA_PROVENANCE_V1 },
    bytes: Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: `${host}/team/app`, digest: { sha256: digest.slice(7) } }],
        predicateType: SLSA_PROVENANCE_V1,
        predicate: {
          buildDefinition: {
            externalParameters: {
              source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1', sha256: HEX },
            },
          },
          runDetails: {
            builder: { id: 'arn:aws:codebuild:eu-west-1:123456789012:project/p' },
            metadata: {
              invocationId: 'arn:aws:codebuild:eu-west-1:123456789012:build/p:1',
              startedOn: 'a',
              finishedOn: 'b',
            },
          },
        },
        ...over,
      }),
    ),
  });
  const recordFor =
    (digest: string, over: Partial<UploadRecord> = {}) =>
    async (): Promise<UploadRecord> => ({
      status: 'released',
      bucket: 'contexts',
      key: 'team/app/v1.tar.gz',
      versionId: 'ver-1',
      digest,
      at: 'now',
      ...over,
    });
  const verify = (image: Descriptor | string, recordOf: () => Promise<UploadRecord | undefined>) =>
    verifyImage(
      { registry: client, recordOf },
      { host, repository: 'team/app', reference: typeof image === 'string' ? image : image.digest },
      'contexts',
    );

  it('verifies an image with its SBOM and a provenance of an upload this stack recorded for it', async () => {
    const image = await pushImage();
    await attachReferrers(client, 'team/app', image, [sbom(), provenance(image.digest)]);
    const report = await verify(image, recordFor(image.digest));
    expect(report).toMatchObject({
      image: `${host}/team/app@${image.digest}`,
      digest: image.digest,
      scheme: 'tag',
      problems: [],
      sboms: [{ subject: image.digest, format: 'CycloneDX 1.5', components: 2 }],
      provenance: {
        builder: 'arn:aws:codebuild:eu-west-1:123456789012:project/p',
        source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1', sha256: HEX },
        record: 'released',
      },
    });
    const text = renderReport(report);
    expect(text).toContain('referrers   OCI 1.1 fallback tag');
    expect(text).toContain('sbom        CycloneDX 1.5, 2 components');
    expect(text).toContain(
      `provenance  SLSA v1 from s3://contexts/team/app/v1.tar.gz version ver-1 (sha256 ${HEX})`,
    );
    expect(text.trim().split('\n').at(-1)).toBe('verified: SBOM, provenance');
  });

  it('says what is missing when an image has no referrers at all', async () => {
    const image = await pushImage();
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems).toEqual([
      `no SBOM referrer of ${image.digest}`,
      `no provenance referrer of ${image.digest}`,
    ]);
    expect(renderReport(report).trim().split('\n').at(-1)).toBe('NOT verified');
  });

  it('refuses referrers listed for the image but made for another one', async () => {
    const image = await pushImage();
    const other = await pushImage();
    const theirs = await attachReferrers(client, 'team/app', other, [sbom(), provenance(other.digest)]);
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: theirs.descriptors };
    await client.putManifest(
      'team/app',
      `sha256-${image.digest.slice(7)}`,
      OCI_INDEX,
      Buffer.from(JSON.stringify(index)),
    );
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems).toEqual([
      `SBOM: referrer ${theirs.descriptors[0]?.digest} is listed for ${image.digest} but made for ${other.digest}`,
      `no SBOM referrer of ${image.digest}`,
      `provenance: referrer ${theirs.descriptors[1]?.digest} is listed for ${image.digest} but made for ${other.digest}`,
      `no provenance referrer of ${image.digest}`,
    ]);
  });

  it('refuses a statement about another image, or that is not SLSA provenance, and an SBOM that is not CycloneDX', async () => {
    const image = await pushImage();
    await attachReferrers(client, 'team/app', image, [
      sbom({ spdxVersion: 'SPDX-2.3' }),
      provenance(`sha256:${'0'.repeat(64)}`, { predicateType: 'https://example.com/other' }),
    ]);
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems).toEqual([
      expect.stringMatching(/^SBOM: referrer sha256:\w+ is not a CycloneDX document$/),
      `no SBOM referrer of ${image.digest}`,
      expect.stringMatching(
        /^provenance sha256:\w+: predicate type is https:\/\/example\.com\/other, not SLSA v1 provenance$/,
      ),
      expect.stringMatching(new RegExp(`its statement is about sha256:0{64}, not ${image.digest}$`)),
      `no provenance referrer of ${image.digest}`,
    ]);
  });

  it('refuses a provenance whose source is not an upload this stack recorded for the image', async () => {
    const image = await pushImage();
    await attachReferrers(client, 'team/app', image, [sbom(), provenance(image.digest)]);
    expect((await verify(image, async () => undefined)).problems).toEqual([
      `provenance: this stack has no upload record of team/app@${image.digest}`,
    ]);
    for (const over of [{ key: 'team/app/v2.tar.gz' }, { versionId: 'ver-2' }, { digest: `sha256:${HEX}` }]) {
      const problems = (await verify(image, recordFor(image.digest, over))).problems;
      expect(problems, JSON.stringify(over)).toEqual([
        expect.stringContaining(
          'provenance: its source s3://contexts/team/app/v1.tar.gz is not the upload this stack recorded',
        ),
      ]);
    }
    const unversioned = await verify(image, recordFor(image.digest, { versionId: undefined }));
    expect(unversioned.problems).toEqual([]);
    const elsewhere = await verifyImage(
      { registry: client, recordOf: recordFor(image.digest) },
      { host, repository: 'team/app', reference: image.digest },
      'other-bucket',
    );
    expect(elsewhere.problems).toEqual([
      'provenance: its source bucket "contexts" is not this stack\'s "other-bucket"',
    ]);
  });

  it('checks the SBOM of each platform image of an index', async () => {
    const amd = await pushImage();
    const arm = await pushImage();
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    const { digest } = await client.putManifest('team/app', sha256(bytes), OCI_INDEX, bytes);
    await attachReferrers(client, 'team/app', amd, [sbom()]);
    await attachReferrers(client, 'team/app', { mediaType: OCI_INDEX, digest, size: bytes.length }, [
      provenance(digest),
    ]);
    const report = await verify(digest, recordFor(digest));
    expect(report.sboms.map((s) => s.subject)).toEqual([amd.digest]);
    expect(report.problems).toEqual([`no SBOM referrer of ${arm.digest}`]);
    expect(renderReport(report)).toContain(`(platform image ${amd.digest})`);
  });

  it('reports the signature, and a signature that is neither signed nor absent as a problem', async () => {
    const image = await pushImage();
    await attachReferrers(client, 'team/app', image, [sbom(), provenance(image.digest)]);
    const withSignature = (signature: SignatureFound) =>
      verifyImage(
        { registry: client, recordOf: recordFor(image.digest), signatureOf: async () => signature },
        { host, repository: 'team/app', reference: image.digest },
        'contexts',
      );
    const by = 'local key k.pub';
    expect(await withSignature({ status: 'signed', by })).toMatchObject({
      signature: { status: 'signed' },
      problems: [],
    });
    expect((await withSignature({ status: 'unsigned', by })).problems).toEqual([]);
    expect((await withSignature({ status: 'invalid', by, detail: 'bad signature' })).problems).toEqual([
      'signature: invalid: bad signature',
    ]);
    expect((await withSignature({ status: 'failed', by })).problems).toEqual(['signature: failed']);
  });

  it('reads what an SBOM or a provenance leaves out as unknown, and keeps the first SBOM', async () => {
    const image = await pushImage();
    const bare = provenance(image.digest);
    const statement = JSON.parse(bare.bytes.toString());
    statement.predicate = {
      buildDefinition: {
        externalParameters: { source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1' } },
      },
      runDetails: { builder: { id: 7 }, metadata: { invocationId: 1, startedOn: 2, finishedOn: 3 } },
    };
    await attachReferrers(client, 'team/app', image, [
      sbom({ bomFormat: 'CycloneDX', components: 'many' }),
      sbom(),
      { ...bare, bytes: Buffer.from(JSON.stringify(statement)) },
    ]);
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems).toEqual([]);
    expect(report.sboms).toEqual([expect.objectContaining({ format: 'CycloneDX ?', components: 0 })]);
    expect(report.provenance).toMatchObject({
      builder: undefined,
      buildArn: undefined,
      startedOn: undefined,
      finishedOn: undefined,
    });
  });

  it('refuses a referrer without a content layer, and reads a body that is no object as empty', async () => {
    const image = await pushImage();
    await client.putBlob('team/app', 'application/vnd.oci.empty.v1+json', Buffer.from('{}'));
    const empty = await client.putBlob('team/app', 'application/json', Buffer.from('[]'));
    const manifest = (layers: unknown[]) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: SBOM_TYPE,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
          layers,
          subject: image,
        }),
      );
    const noLayer = manifest([]);
    const arrayBody = manifest([empty]);
    for (const bytes of [noLayer, arrayBody])
      await client.putManifest('team/app', sha256(bytes), OCI_MANIFEST, bytes);
    const entry = (bytes: Buffer) => ({
      mediaType: OCI_MANIFEST,
      digest: sha256(bytes),
      size: bytes.length,
      artifactType: SBOM_TYPE,
    });
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [entry(noLayer), entry(arrayBody)],
    };
    await client.putManifest(
      'team/app',
      `sha256-${image.digest.slice(7)}`,
      OCI_INDEX,
      Buffer.from(JSON.stringify(index)),
    );
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems.slice(0, 3)).toEqual([
      `SBOM: referrer ${sha256(noLayer)} has no content layer`,
      `SBOM: referrer ${sha256(arrayBody)} is not a CycloneDX document`,
      `no SBOM referrer of ${image.digest}`,
    ]);
  });

  it('says an image the registry does not hold is not there', async () => {
    await expect(verify('v404', async () => undefined)).rejects.toThrow(
      `${host}/team/app:v404 is not in the registry`,
    );
  });
});

describe('renderReport', () => {
  const digest = `sha256:${HEX}`;
  const full: VerifyReport = {
    image: `registry.example.com/team/app@${digest}`,
    digest,
    scheme: 'api',
    sboms: [
      { subject: digest, referrer: 'r1', format: 'CycloneDX 1.6', components: 12 },
      { subject: 'sha256:leg', referrer: 'r2', format: 'CycloneDX 1.5', components: 3 },
    ],
    provenance: {
      referrer: 'r3',
      builder: 'project/p',
      buildArn: 'build/p:1',
      source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1', sha256: 'abc' },
      startedOn: 'start',
      finishedOn: 'end',
      record: 'released',
    },
    signature: { status: 'signed', by: 'ECR managed signing', detail: 'arn:profile' },
    problems: [],
  };

  it('prints every line of a verified, signed image', () => {
    expect(renderReport(full)).toBe(
      [
        `image       registry.example.com/team/app@${digest}`,
        'referrers   referrers API',
        'sbom        CycloneDX 1.6, 12 components',
        'sbom        CycloneDX 1.5, 3 components (platform image sha256:leg)',
        'provenance  SLSA v1 from s3://contexts/team/app/v1.tar.gz version ver-1 (sha256 abc)',
        '            built by project/p (build/p:1), start to end',
        '            upload record: released',
        'signature   signed (ECR managed signing): arn:profile',
        'verified: SBOM, provenance, signed',
        '',
      ].join('\n'),
    );
  });

  it('prints a question mark for what the provenance does not say, and each problem', () => {
    const text = renderReport({
      ...full,
      scheme: 'tag',
      sboms: [],
      provenance: { referrer: 'r3', source: { bucket: 'contexts', key: 'k' } },
      signature: { status: 'unsigned', by: 'local key k.pub' },
      problems: ['one', 'two'],
    });
    expect(text).toBe(
      [
        `image       registry.example.com/team/app@${digest}`,
        'referrers   OCI 1.1 fallback tag',
        'provenance  SLSA v1 from s3://contexts/k (sha256 ?)',
        '            built by ? (?), ? to ?',
        'signature   unsigned (local key k.pub)',
        'problem     one',
        'problem     two',
        'NOT verified',
        '',
      ].join('\n'),
    );
    const bare = renderReport({ ...full, provenance: undefined, signature: undefined });
    expect(bare.split('\n').slice(-3)).toEqual([
      'sbom        CycloneDX 1.5, 3 components (platform image sha256:leg)',
      'verified: SBOM, provenance',
      '',
    ]);
  });
});

describe('managedSignature', () => {
  const ecr = mockClient(ECRClient);
  beforeEach(() => ecr.reset());
  const check = () => managedSignature(new ECRClient({ region: 'eu-west-1' }))('team/app', `sha256:${HEX}`);
  const by = 'ECR managed signing';

  it('asks ECR for the signing status of the image', async () => {
    ecr.on(DescribeImageSigningStatusCommand).resolves({ signingStatuses: [] });
    expect(await check()).toEqual({ status: 'unsigned', by });
    expect(ecr.commandCalls(DescribeImageSigningStatusCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'team/app',
      imageId: { imageDigest: `sha256:${HEX}` },
    });
  });

  it('is signed by a complete status, failed by a failed one, in progress otherwise', async () => {
    ecr.on(DescribeImageSigningStatusCommand).resolves({
      signingStatuses: [
        { status: 'FAILED', failureCode: 'X', failureReason: 'why' },
        { status: 'COMPLETE', signingProfileArn: 'arn:profile' },
      ],
    });
    expect(await check()).toEqual({ status: 'signed', by, detail: 'arn:profile' });
    ecr.on(DescribeImageSigningStatusCommand).resolves({
      signingStatuses: [
        { status: 'IN_PROGRESS' },
        { status: 'FAILED', failureCode: 'AccessDenied', failureReason: 'no SignPayload' },
      ],
    });
    expect(await check()).toEqual({ status: 'failed', by, detail: 'AccessDenied: no SignPayload' });
    ecr
      .on(DescribeImageSigningStatusCommand)
      .resolves({ signingStatuses: [{ status: 'FAILED', failureReason: 'only why' }] });
    expect(await check()).toEqual({ status: 'failed', by, detail: 'only why' });
    ecr.on(DescribeImageSigningStatusCommand).resolves({ signingStatuses: [{ status: 'IN_PROGRESS' }] });
    expect(await check()).toEqual({ status: 'in-progress', by });
    ecr.on(DescribeImageSigningStatusCommand).resolves({});
    expect(await check()).toEqual({ status: 'unsigned', by });
  });

  it('is unreadable when ECR will not answer, naming the error', async () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    ecr.on(DescribeImageSigningStatusCommand).rejects(denied);
    expect(await check()).toEqual({
      status: 'unreadable',
      by,
      detail: 'DescribeImageSigningStatus: AccessDeniedException',
    });
  });
});

describe('localSignature', () => {
  it('is unreadable without the public key, and asks the registry nothing', async () => {
    const asked: string[] = [];
    const registry = new RegistryClient({
      host: 'registry.invalid',
      password: 'p',
      fetch: async (input) => {
        asked.push(String(input));
        return new Response(null, { status: 500 });
      },
    });
    expect(await localSignature(registry, '/nonexistent/key.pub')('team/app', `sha256:${HEX}`)).toEqual({
      status: 'unreadable',
      by: 'local key /nonexistent/key.pub',
      detail: 'no public key at /nonexistent/key.pub',
    });
    expect(asked).toEqual([]);
  });
});
