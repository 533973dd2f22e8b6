/**
 * buildspec/session/attest.ts and provenance.ts: the SBOM and the SLSA provenance a build attaches to
 * the image it pushed, against the real distribution registry (the local cloud's, without the
 * referrers API), with stand-ins for the SBOM generator and the builder's image store.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ATTEST_FILES,
  AttestError,
  type AttestInput,
  attest,
  PREDICATE_ANNOTATION,
  PROVENANCE_TYPE,
  SBOM_TYPE,
} from '../../../buildspec/session/attest.ts';
import {
  BUILD_TYPE,
  baseImageNames,
  buildArgNames,
  projectArn,
  provenanceStatement,
  SLSA_PROVENANCE_V1,
  STATEMENT_TYPE,
  sourceUri,
} from '../../../buildspec/session/provenance.ts';
import { freePort, type Service, startRegistry } from '../../../local/processes.ts';
import { listReferrers } from '../../../shared/oci/referrers.ts';
import {
  type Descriptor,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  sha256,
} from '../../../shared/oci/registry.ts';

const BUILD_ARN = 'arn:aws:codebuild:eu-west-1:123456789012:build/ecr-pipeline-dev-build:0b1c2d3e';
const HEX = 'ab'.repeat(32);

describe('provenance.ts', () => {
  it('names the CodeBuild project of a build ARN, in any partition', () => {
    expect(projectArn(BUILD_ARN)).toBe(
      'arn:aws:codebuild:eu-west-1:123456789012:project/ecr-pipeline-dev-build',
    );
    expect(projectArn('arn:aws-cn:codebuild:cn-north-1:123456789012:build/p:x')).toBe(
      'arn:aws-cn:codebuild:cn-north-1:123456789012:project/p',
    );
    expect(() => projectArn('local-1234')).toThrow('"local-1234" is not a CodeBuild build ARN');
    expect(() => projectArn(`x${BUILD_ARN}`)).toThrow('is not a CodeBuild build ARN');
    expect(() => projectArn('arn:aws:codebuild:eu-west-1:123456789012:project/p')).toThrow();
  });

  it('keeps the names of build args and drops their values', () => {
    expect(buildArgNames(['TOKEN=s3cr3t=x', 'EMPTY=', 'junk'])).toEqual(['TOKEN', 'EMPTY']);
  });

  it('writes the source as s3://bucket/key, with the version id when there is one', () => {
    const source = { bucket: 'b', key: 'team/app/v1.tar.gz', versionId: '', sha256: HEX };
    expect(sourceUri(source)).toBe('s3://b/team/app/v1.tar.gz');
    expect(sourceUri({ ...source, versionId: 'a+b/c' })).toBe(
      's3://b/team/app/v1.tar.gz?versionId=a%2Bb%2Fc',
    );
  });

  it('finds the base images of every stage: args substituted, stage names and scratch left out', () => {
    const $ = '$'; // a Dockerfile's ${NAME}, not a template's
    const dockerfile = [
      'ARG BASE=debian:12',
      'ARG TAG',
      'FROM --platform=$BUILDPLATFORM golang:1.23 AS build',
      'RUN go build',
      'ARG LATE=ignored',
      `from ${$}{BASE} as runtime`,
      'FROM build',
      'FROM scratch',
      `FROM registry.example.com/app:${$}{TAG}`,
      'FROM \\',
      `  busybox@sha256:${HEX}`,
      'FROM golang:1.23',
    ].join('\n');
    expect(baseImageNames(dockerfile, { TAG: 'v2' })).toEqual([
      'golang:1.23',
      'debian:12',
      'registry.example.com/app:v2',
      `busybox@sha256:${HEX}`,
    ]);
    expect(baseImageNames('ARG BASE="alpine:3"\nFROM $BASE\nFROM $UNSET\n', {})).toEqual(['alpine:3']);
    expect(baseImageNames('FROM alpine:3\n', { LATE: 'x' })).toEqual(['alpine:3']);
  });

  it('reads only the ARG defaults before the first FROM, quotes around a whole value dropped', () => {
    const text = (...lines: string[]) => lines.join('\n');
    const $ = '$';
    expect(
      baseImageNames(text('ARG A=one', 'FROM $A', 'ARG A=two', 'FROM $A:x', `FROM ${$}{A}`), {}),
    ).toEqual(['one', 'one:x']);
    expect(baseImageNames(text('ARG NONE', 'FROM img$NONE'), {})).toEqual(['img']);
    expect(baseImageNames(text('ARG Q=my"img"', 'FROM $Q'), {})).toEqual(['my"img"']);
    expect(baseImageNames(text('ARG Q="img', 'FROM $Q'), {})).toEqual(['"img']);
    expect(baseImageNames(text('ARG Q="a"b', 'FROM $Q'), {})).toEqual(['"a"b']);
    expect(baseImageNames(text('ARG B=good', '# ARG B=evil', 'FROM $B'), {})).toEqual(['good']);
    expect(
      baseImageNames(text('  arg  V=ok', '  from  --platform=linux/arm64  $V  AS  s1  ', 'FROM s1'), {}),
    ).toEqual(['ok']);
    expect(baseImageNames(text('FROM\\', 'busybox'), {})).toEqual(['busybox']);
    expect(baseImageNames(text('FROM a b c', 'FROMx y', 'ARG 1X=z', 'FROM $1X'), {})).toEqual(['$1X']);
    expect(baseImageNames(text('xFROM a', 'FROM a AS'), {})).toEqual([]);
  });

  it('writes an in-toto statement with the SLSA v1 predicate from the build facts', () => {
    const statement = provenanceStatement({
      repositoryUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app',
      digest: `sha256:${HEX}`,
      tag: 'v1',
      source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1', sha256: 'cd'.repeat(32) },
      dockerfile: 'docker/Dockerfile',
      target: 'app',
      platforms: 'linux/amd64',
      buildArgNames: ['GREETING'],
      baseImages: [{ name: 'busybox', digest: `sha256:${'ef'.repeat(32)}` }, { name: 'unknown:1' }],
      builder: 'podman',
      buildArn: BUILD_ARN,
      startedOn: new Date('2026-12-03T10:00:00Z'),
      finishedOn: new Date('2026-12-03T10:05:00Z'),
    });
    expect(statement).toEqual({
      _type: STATEMENT_TYPE,
      subject: [{ name: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app', digest: { sha256: HEX } }],
      predicateType: SLSA_PROVENANCE_V1,
      predicate: {
        buildDefinition: {
          buildType: BUILD_TYPE,
          externalParameters: {
            source: {
              bucket: 'contexts',
              key: 'team/app/v1.tar.gz',
              versionId: 'ver-1',
              sha256: 'cd'.repeat(32),
            },
            dockerfile: 'docker/Dockerfile',
            target: 'app',
            platforms: 'linux/amd64',
            buildArgs: ['GREETING'],
            tag: 'v1',
          },
          internalParameters: { builder: 'podman' },
          resolvedDependencies: [
            { uri: 's3://contexts/team/app/v1.tar.gz?versionId=ver-1', digest: { sha256: 'cd'.repeat(32) } },
            { uri: 'busybox', digest: { sha256: 'ef'.repeat(32) } },
            { uri: 'unknown:1' },
          ],
        },
        runDetails: {
          builder: { id: 'arn:aws:codebuild:eu-west-1:123456789012:project/ecr-pipeline-dev-build' },
          metadata: {
            invocationId: BUILD_ARN,
            startedOn: '2026-12-03T10:00:00.000Z',
            finishedOn: '2026-12-03T10:05:00.000Z',
          },
        },
      },
    });
    expect(STATEMENT_TYPE).toBe('https://in-toto.io/Statement/v1');
    expect(SLSA_PROVENANCE_V1).toBe('https://slsa.dev/provenance/v1');
  });
});

describe('attest', () => {
  let registry: Service | undefined;
  let client: RegistryClient;
  let host: string;
  let dir: string;
  let work: string;
  let context: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'attest-'));
    const port = await freePort();
    registry = await startRegistry(port, dir);
    host = `127.0.0.1:${port}`;
    client = new RegistryClient({ host, password: 'unused' });
  }, 40_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'attest-work-'));
    context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(
      join(context, 'Dockerfile'),
      'ARG BASE=busybox\nFROM $BASE AS base\nFROM base\nFROM alpine:3\nFROM debian:13\n',
    );
    writeFileSync(join(work, ATTEST_FILES.buildArgs), 'GREETING=hello-value\0TOKEN=s3cr3t\0');
    writeFileSync(join(work, ATTEST_FILES.contextSha256), `${'cd'.repeat(32)}\n`);
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  async function pushImage(repository: string, seed: string): Promise<Descriptor> {
    const config = await client.putBlob(
      repository,
      'application/vnd.oci.image.config.v1+json',
      Buffer.from(`{"s":"${seed}"}`),
    );
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
    );
    const { digest } = await client.putManifest(repository, sha256(bytes), OCI_MANIFEST, bytes);
    return { mediaType: OCI_MANIFEST, digest, size: bytes.length };
  }

  function run(digest: string, over: Partial<AttestInput> = {}) {
    writeFileSync(join(work, ATTEST_FILES.digest), `${digest}\n`);
    const scanned: string[] = [];
    const said: string[] = [];
    const deps = {
      registry: client,
      sbom: async (reference: string) => {
        scanned.push(reference);
        return Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', of: reference }));
      },
      baseDigest: async (name: string) => {
        if (name === 'debian:13') throw new Error('Error: locating item named "manifest"\nsecond line');
        if (name === 'odd:1') return Promise.reject('no store\nat all');
        return name === 'busybox' ? `sha256:${'ef'.repeat(32)}` : undefined;
      },
      now: () => new Date('2026-12-03T10:05:00Z'),
      say: (line: string) => said.push(line),
    };
    const input: AttestInput = {
      workDir: work,
      contextDir: context,
      repositoryUri: `${host}/team/app`,
      repository: 'team/app',
      tag: 'v1',
      source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1' },
      dockerfile: 'Dockerfile',
      target: '',
      platforms: '',
      builder: 'podman',
      buildArn: BUILD_ARN,
      startedOn: new Date('2026-12-03T10:00:00Z'),
      ...over,
    };
    return { promise: attest(deps, input), scanned, said };
  }

  async function body(descriptor: Descriptor | undefined): Promise<string> {
    const manifest = JSON.parse(
      (await client.getManifest('team/app', descriptor?.digest ?? ''))?.bytes.toString() ?? '{}',
    );
    return (await client.getBlob('team/app', manifest.layers[0].digest)).toString();
  }

  it('attaches the SBOM of the pushed image and its provenance, and says so for the buildspec', async () => {
    const image = await pushImage('team/app', 'one');
    const { promise, scanned, said } = run(image.digest);
    expect(await promise).toEqual(['sbom', 'provenance']);
    expect(scanned).toEqual([`${host}/team/app@${image.digest}`]);
    expect(readFileSync(join(work, ATTEST_FILES.attestations), 'utf8')).toBe('sbom,provenance');
    const listed = await listReferrers(client, 'team/app', image.digest);
    expect(listed.descriptors.map((d) => d.artifactType)).toEqual([SBOM_TYPE, PROVENANCE_TYPE]);
    expect(listed.descriptors[1]?.annotations).toEqual({ [PREDICATE_ANNOTATION]: SLSA_PROVENANCE_V1 });
    expect(JSON.parse(await body(listed.descriptors[0]))).toEqual({ bomFormat: 'CycloneDX', of: scanned[0] });
    const statement = await body(listed.descriptors[1]);
    expect(statement).not.toContain('hello-value');
    expect(statement).not.toContain('s3cr3t');
    const parsed = JSON.parse(statement);
    expect(parsed.subject[0].digest.sha256).toBe(image.digest.slice(7));
    expect(parsed.predicate.buildDefinition.externalParameters).toMatchObject({
      source: { bucket: 'contexts', key: 'team/app/v1.tar.gz', versionId: 'ver-1', sha256: 'cd'.repeat(32) },
      buildArgs: ['GREETING', 'TOKEN'],
    });
    expect(parsed.predicate.buildDefinition.resolvedDependencies.slice(1)).toEqual([
      { uri: 'busybox', digest: { sha256: 'ef'.repeat(32) } },
      { uri: 'alpine:3' },
      { uri: 'debian:13' },
    ]);
    expect(parsed.predicate.runDetails.metadata).toEqual({
      invocationId: BUILD_ARN,
      startedOn: '2026-12-03T10:00:00.000Z',
      finishedOn: '2026-12-03T10:05:00.000Z',
    });
    expect(said).toEqual([
      'no digest for the base image alpine:3 (the builder reports none): the provenance names it without one',
      'no digest for the base image debian:13 (Error: locating item named "manifest"): the provenance names it without one',
      `attached the SBOM and the provenance of ${host}/team/app@${image.digest} (fallback tag)`,
    ]);
  });

  it("attaches an SBOM to each platform's image of an index and the provenance to the index", async () => {
    const amd = await pushImage('team/app', 'amd64');
    const arm = await pushImage('team/app', 'arm64');
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm, platform: { os: 'linux', architecture: 'arm64' } },
          { ...arm, digest: amd.digest, platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      }),
    );
    const { digest } = await client.putManifest('team/app', sha256(bytes), OCI_INDEX, bytes);
    const { promise, scanned, said } = run(digest, { platforms: 'linux/amd64,linux/arm64' });
    await promise;
    expect(said.filter((line) => line.startsWith('attached'))).toEqual([
      `attached the SBOM of ${host}/team/app@${amd.digest}`,
      `attached the SBOM of ${host}/team/app@${arm.digest}`,
      `attached the provenance of ${host}/team/app@${digest} (fallback tag)`,
    ]);
    expect(scanned).toEqual([`${host}/team/app@${amd.digest}`, `${host}/team/app@${arm.digest}`]);
    for (const leg of [amd, arm])
      expect(
        (await listReferrers(client, 'team/app', leg.digest)).descriptors.map((d) => d.artifactType),
      ).toEqual([SBOM_TYPE]);
    expect((await listReferrers(client, 'team/app', digest)).descriptors.map((d) => d.artifactType)).toEqual([
      PROVENANCE_TYPE,
    ]);
  });

  it('reads and writes the files build-image.sh and the buildspec name', () => {
    expect(ATTEST_FILES).toEqual({
      digest: 'digest',
      buildArgs: 'build-args',
      contextSha256: 'context.sha256',
      attestations: 'attestations',
    });
  });

  it('takes the digest a FROM pins, resolves build-arg overrides of ARG defaults, and reads no build args when there are none', async () => {
    const pinned = `sha256:${'12'.repeat(32)}`;
    writeFileSync(join(context, 'Dockerfile'), `ARG BASE=busybox\nFROM $BASE\nFROM alpine@${pinned}\n`);
    writeFileSync(join(work, ATTEST_FILES.buildArgs), 'BASE=reg.example.com/base:1\0');
    const image = await pushImage('team/app', 'pinned');
    const { promise, said } = run(image.digest);
    await promise;
    const provenance = (await listReferrers(client, 'team/app', image.digest, PROVENANCE_TYPE))
      .descriptors[0];
    const statement = JSON.parse(await body(provenance));
    expect(statement.predicate.buildDefinition.externalParameters.buildArgs).toEqual(['BASE']);
    expect(statement.predicate.buildDefinition.resolvedDependencies.slice(1)).toEqual([
      { uri: 'reg.example.com/base:1' },
      { uri: `alpine@${pinned}`, digest: { sha256: '12'.repeat(32) } },
    ]);
    expect(said[0]).toBe(
      'no digest for the base image reg.example.com/base:1 (the builder reports none): the provenance names it without one',
    );

    rmSync(join(work, ATTEST_FILES.buildArgs));
    const other = await pushImage('team/app', 'no-args');
    await run(other.digest).promise;
    const second = (await listReferrers(client, 'team/app', other.digest, PROVENANCE_TYPE)).descriptors[0];
    const parsed = JSON.parse(await body(second));
    expect(parsed.predicate.buildDefinition.externalParameters.buildArgs).toEqual([]);
    expect(parsed.predicate.buildDefinition.resolvedDependencies[1]).toEqual({
      uri: 'busybox',
      digest: { sha256: 'ef'.repeat(32) },
    });
  });

  it('says why a base image has no digest when the builder fails with something that is not an Error', async () => {
    writeFileSync(join(context, 'Dockerfile'), 'FROM odd:1\n');
    const image = await pushImage('team/app', 'odd-failure');
    const { promise, said } = run(image.digest);
    await promise;
    expect(said[0]).toBe(
      'no digest for the base image odd:1 (no store): the provenance names it without one',
    );
  });

  it('names the file it cannot read and the digest it cannot use', async () => {
    await expect(run('sha256:nothex').promise).rejects.toThrow(
      new AttestError('the pushed digest "sha256:nothex" is not a sha256 digest'),
    );
    rmSync(join(context, 'Dockerfile'));
    const image = await pushImage('team/app', 'no-dockerfile');
    await expect(run(image.digest).promise).rejects.toThrow(
      new RegExp(`^the Dockerfile \\(${join(context, 'Dockerfile')}\\) cannot be read: ENOENT`),
    );
    rmSync(join(work, ATTEST_FILES.digest));
    const missing = await attest({} as never, { workDir: work } as AttestInput).catch((e: Error) => e);
    expect(missing).toBeInstanceOf(AttestError);
    expect(missing).toMatchObject({
      name: 'AttestError',
      message: expect.stringMatching(/^the pushed digest \(.+\/digest\) cannot be read: /),
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });

  it('refuses a digest file that holds no digest, and an image the registry does not hold', async () => {
    await expect(run('sha256:nothex').promise).rejects.toThrow(AttestError);
    await expect(run(`sha256:${'0'.repeat(64)}`).promise).rejects.toThrow('is not in the registry');
    rmSync(join(work, ATTEST_FILES.contextSha256));
    const image = await pushImage('team/app', 'two');
    await expect(run(image.digest).promise).rejects.toThrow("the archive's sha256");
    expect(() => readFileSync(join(work, ATTEST_FILES.attestations))).toThrow();
  });
});
