/**
 * cli/verify.ts: what `ecr-pipeline verify` accepts and refuses, against the real distribution
 * registry (referrers through the fallback tag) with referrers attached as a build attaches them.
 */
import { describe, expect, it } from 'vitest';
import { PREDICATE_ANNOTATION, PROVENANCE_TYPE, SBOM_TYPE } from '../../../buildspec/session/attest.ts';
import { SLSA_PROVENANCE_V1 } from '../../../buildspec/session/provenance.ts';
import { UsageError } from '../../../cli/errors.ts';
import { parseImageReference, renderReport, verifyImage } from '../../../cli/verify.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';
import { type Artifact, attachReferrers } from '../../../shared/oci/referrers.ts';
import { type Descriptor, OCI_INDEX, sha256 } from '../../../shared/oci/registry.ts';
import { pushImage, useLocalRegistry } from '../local-registry.ts';

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
  });

  it('refuses what is not an image reference, and a digest that is not sha256', () => {
    for (const bad of ['', ':v1', 'app:', 'app@sha256:short', `app@md5:${HEX}`])
      expect(() => parseImageReference(bad), bad).toThrow(UsageError);
  });
});

describe('verifyImage', () => {
  const registry = useLocalRegistry('verify-');

  let seed = 0;
  /** Pushes a new image to team/app. */
  const push = () => {
    seed += 1;
    return pushImage(registry.client, 'team/app', String(seed));
  };

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
        subject: [{ name: `${registry.host}/team/app`, digest: { sha256: digest.slice(7) } }],
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
      { registry: registry.client, recordOf },
      {
        host: registry.host,
        repository: 'team/app',
        reference: typeof image === 'string' ? image : image.digest,
      },
      'contexts',
    );

  it('verifies an image with its SBOM and a provenance of an upload this stack recorded for it', async () => {
    const image = await push();
    await attachReferrers(registry.client, 'team/app', image, [sbom(), provenance(image.digest)]);
    const report = await verify(image, recordFor(image.digest));
    expect(report).toMatchObject({
      image: `${registry.host}/team/app@${image.digest}`,
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
    const image = await push();
    const report = await verify(image, recordFor(image.digest));
    expect(report.problems).toEqual([
      `no SBOM referrer of ${image.digest}`,
      `no provenance referrer of ${image.digest}`,
    ]);
    expect(renderReport(report).trim().split('\n').at(-1)).toBe('NOT verified');
  });

  it('refuses referrers listed for the image but made for another one', async () => {
    const image = await push();
    const other = await push();
    const theirs = await attachReferrers(registry.client, 'team/app', other, [
      sbom(),
      provenance(other.digest),
    ]);
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: theirs.descriptors };
    await registry.client.putManifest(
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
    const image = await push();
    await attachReferrers(registry.client, 'team/app', image, [
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
    const image = await push();
    await attachReferrers(registry.client, 'team/app', image, [sbom(), provenance(image.digest)]);
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
      { registry: registry.client, recordOf: recordFor(image.digest) },
      { host: registry.host, repository: 'team/app', reference: image.digest },
      'other-bucket',
    );
    expect(elsewhere.problems).toEqual([
      'provenance: its source bucket "contexts" is not this stack\'s "other-bucket"',
    ]);
  });

  it('checks the SBOM of each platform image of an index', async () => {
    const amd = await push();
    const arm = await push();
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
    const { digest } = await registry.client.putManifest('team/app', sha256(bytes), OCI_INDEX, bytes);
    await attachReferrers(registry.client, 'team/app', amd, [sbom()]);
    await attachReferrers(registry.client, 'team/app', { mediaType: OCI_INDEX, digest, size: bytes.length }, [
      provenance(digest),
    ]);
    const report = await verify(digest, recordFor(digest));
    expect(report.sboms.map((s) => s.subject)).toEqual([amd.digest]);
    expect(report.problems).toEqual([`no SBOM referrer of ${arm.digest}`]);
    expect(renderReport(report)).toContain(`(platform image ${amd.digest})`);
  });

  it('says an image the registry does not hold is not there', async () => {
    await expect(verify('v404', async () => undefined)).rejects.toThrow(
      `${registry.host}/team/app:v404 is not in the registry`,
    );
  });
});
