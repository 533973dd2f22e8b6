/**
 * The supply chain end to end through the local cloud: a build attaches an SBOM (the pinned trivy)
 * and its SLSA provenance as OCI referrers (the fallback tag: the local registry has no referrers
 * API), `ecr-pipeline verify` finds them, and a referrer listed for the image but made for another
 * image makes verify fail. Runs the real launcher in a child process, as a user would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVENANCE_TYPE, SBOM_TYPE } from '../../buildspec/session/attest.ts';
import { EXIT } from '../../cli/exit-codes.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { registryPassword } from '../../local/uploads.ts';
import { fallbackTag, listReferrers } from '../../shared/oci/referrers.ts';
import { OCI_INDEX, RegistryClient } from '../../shared/oci/registry.ts';
import { localCliEnv, localEcr, runCli, submitExample, verifyJson } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'supply-chain-e2e-'));
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;
let registry: RegistryClient;
const cli = (...args: string[]) => runCli(env, args);

const submit = (repository: string, tag: string, ...extra: string[]) =>
  submitExample(env, repository, tag, ...extra);
const verify = (image: string) => verifyJson(env, image);

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud'), log: () => undefined });
  await installBaseImage(cloud);
  env = localCliEnv(cloud, work);
  const ecr = localEcr(cloud);
  registry = new RegistryClient({ host: cloud.registry, password: await registryPassword(ecr) });
  ecr.destroy();
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('SBOM and provenance', () => {
  it('builds, verifies, and fails verify once a referrer made for another image is listed for it', async () => {
    const digest = await submit('e2e/attested', 'v1', '--build-arg', 'GREETING=hello-from-the-value');
    const { run, report } = await verify(`e2e/attested:v1`);
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.success);
    expect(report).toMatchObject({ digest, scheme: 'tag', problems: [] });
    expect(report.sboms).toEqual([
      expect.objectContaining({ subject: digest, format: expect.stringMatching(/^CycloneDX /) }),
    ]);
    expect(report.provenance).toMatchObject({
      source: {
        bucket: cloud.bucket,
        key: expect.stringContaining('e2e/attested/v1.tar.gz'),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      builder: expect.stringMatching(/^arn:aws:codebuild:[^:]+:\d{12}:project\//),
      buildArn: expect.stringMatching(/^arn:aws:codebuild:[^:]+:\d{12}:build\//),
      record: 'released',
    });
    const text = await cli('verify', `e2e/attested@${digest}`, '--local');
    expect(text.code).toBe(EXIT.success);
    expect(text.stdout).toContain('verified: SBOM, provenance');

    // The statement names the build arg, never its value, and the base image by digest.
    const listed = await listReferrers(registry, 'e2e/attested', digest, PROVENANCE_TYPE);
    const manifest = JSON.parse(
      (await registry.getManifest('e2e/attested', listed.descriptors[0]?.digest ?? ''))?.bytes.toString() ??
        '{}',
    );
    const statement = (await registry.getBlob('e2e/attested', manifest.layers[0].digest)).toString();
    expect(statement).toContain('"buildArgs":["GREETING"]');
    expect(statement).not.toContain('hello-from-the-value');
    expect(JSON.parse(statement).predicate.buildDefinition.resolvedDependencies[1]).toMatchObject({
      uri: 'busybox',
      digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    // Tamper: another image's genuine provenance listed under this image's fallback tag (written to
    // the registry's storage directly, as whoever controls it could), in place of its own.
    const other = await submit('e2e/attested', 'v2');
    const theirs = await listReferrers(registry, 'e2e/attested', other, PROVENANCE_TYPE);
    const sbom = await listReferrers(registry, 'e2e/attested', digest, SBOM_TYPE);
    const backend = new RegistryClient({
      host: `127.0.0.1:${cloud.ports.registryBackend}`,
      password: 'unused',
    });
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [...sbom.descriptors, ...theirs.descriptors],
    };
    await backend.putManifest(
      'e2e/attested',
      fallbackTag(digest),
      OCI_INDEX,
      Buffer.from(JSON.stringify(index)),
    );
    const tampered = await verify(`e2e/attested:v1`);
    expect(tampered.run.code).toBe(EXIT.unverified);
    expect(tampered.report.problems).toEqual([
      `provenance: referrer ${theirs.descriptors[0]?.digest} is listed for ${digest} but made for ${other}`,
      `no provenance referrer of ${digest}`,
    ]);
    const said = await cli('verify', `e2e/attested:v1`, '--local');
    expect(said.code).toBe(EXIT.unverified);
    expect(said.stdout).toContain('NOT verified');
  }, 600_000);
});
