/**
 * `build-session.mjs --attest <work-dir> <context-dir>`: the build's attach step (attest.ts) with its
 * real parts: the build's own session (the same session policy as prepare: its repository only),
 * the registry password of that session, the pinned SBOM generator (SBOM_GENERATOR, the trivy
 * binary build-image.sh checked) and the builder's own image store for base-image digests.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ConfigError, text } from '../../functions/shared/env-config.ts';
import { RegistryClient, registryBase } from '../../shared/oci/registry.ts';
import { attest } from './attest.ts';
import { type SessionScope, sessionName, sessionPolicy } from './policy.ts';
import type { SessionCredentials } from './prepare.ts';

const run = promisify(execFile);

export interface AttestRunDeps {
  assumeRole: (input: {
    RoleArn: string;
    RoleSessionName: string;
    Policy: string;
    DurationSeconds: number;
  }) => Promise<SessionCredentials>;
  ecr: (credentials: SessionCredentials) => ECRClient;
  say: (line: string) => void;
}

/** The session's registry password (GetAuthorizationToken: base64 of `AWS:<password>`). */
async function registryPassword(ecr: ECRClient): Promise<string> {
  const out = await ecr.send(new GetAuthorizationTokenCommand({}));
  const decoded = Buffer.from(out.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString(
    'utf8',
  );
  if (!decoded.startsWith('AWS:')) throw new Error('the authorization token is not AWS:<password>');
  return decoded.slice('AWS:'.length);
}

/** CycloneDX JSON of an image in the registry, by the pinned generator, offline (no database). */
function sbomGenerator(generator: string, workDir: string, password: string) {
  return async (reference: string): Promise<Buffer> => {
    const host = reference.slice(0, reference.indexOf('/'));
    const output = join(workDir, 'sbom.cdx.json');
    const insecure = registryBase(host).startsWith('http:') ? ['--insecure'] : [];
    await run(
      generator,
      [
        'image',
        '--quiet',
        '--format',
        'cyclonedx',
        '--output',
        output,
        '--image-src',
        'remote',
        '--skip-db-update',
        '--skip-java-db-update',
        '--offline-scan',
        '--cache-dir',
        join(workDir, 'sbom-cache'),
        ...insecure,
        reference,
      ],
      // The password in the environment, never on a command line others can list.
      { env: { ...process.env, TRIVY_USERNAME: 'AWS', TRIVY_PASSWORD: password }, maxBuffer: 16 << 20 },
    );
    const sbom = await readFile(output);
    await rm(output, { force: true });
    return sbom;
  };
}

/** The digest of a base image as the builder's store holds it (what its build used). */
function baseDigest(builder: string) {
  return async (name: string): Promise<string | undefined> => {
    const out =
      builder === 'docker'
        ? await run('docker', ['buildx', 'imagetools', 'inspect', name, '--format', '{{.Manifest.Digest}}'])
        : await run(builder, ['image', 'inspect', '--format', '{{.Digest}}', name]);
    const digest = out.stdout.trim().split('\n')[0] ?? '';
    return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
  };
}

/** Reads the build's variables, assumes its session and attaches the SBOMs and the provenance. */
export async function runAttest(
  deps: AttestRunDeps,
  env: NodeJS.ProcessEnv,
  args: { workDir: string; contextDir: string; region: string; sessionSeconds: number; buildId: string },
): Promise<void> {
  const repositoryUri = text(env, 'IMAGE_REPOSITORY_URI');
  const scope: SessionScope = {
    roleArn: text(env, 'BUILD_SESSION_ROLE_ARN'),
    region: args.region,
    bucket: text(env, 'CONTEXT_BUCKET'),
    key: text(env, 'CONTEXT_KEY'),
    repository: text(env, 'IMAGE_REPOSITORY'),
    basePullPattern: text(env, 'BASE_PULL_PATTERN', ''),
    pullThroughCache: text(env, 'PULL_THROUGH_CACHE', ''),
    signingProfileArn: text(env, 'SIGNING_PROFILE_ARN', ''),
  };
  const generator = text(env, 'SBOM_GENERATOR');
  const credentials = await deps.assumeRole({
    RoleArn: scope.roleArn,
    RoleSessionName: sessionName(args.buildId),
    Policy: sessionPolicy(scope),
    DurationSeconds: args.sessionSeconds,
  });
  const password = await registryPassword(deps.ecr(credentials));
  const host = repositoryUri.slice(0, repositoryUri.indexOf('/'));
  if (host === '') throw new ConfigError(`IMAGE_REPOSITORY_URI "${repositoryUri}" names no registry`);
  const startMs = Number(env.CODEBUILD_START_TIME ?? '');
  await attest(
    {
      registry: new RegistryClient({ host, password }),
      sbom: sbomGenerator(generator, args.workDir, password),
      baseDigest: baseDigest(text(env, 'BUILDER_USED')),
      now: () => new Date(),
      say: deps.say,
    },
    {
      workDir: args.workDir,
      contextDir: args.contextDir,
      repositoryUri,
      repository: scope.repository,
      tag: text(env, 'IMAGE_TAG'),
      source: { bucket: scope.bucket, key: scope.key, versionId: text(env, 'CONTEXT_VERSION_ID', '') },
      dockerfile: text(env, 'DOCKERFILE'),
      target: text(env, 'BUILD_TARGET', ''),
      platforms: text(env, 'BUILD_PLATFORMS', ''),
      builder: text(env, 'BUILDER_USED'),
      buildArn: text(env, 'CODEBUILD_BUILD_ARN'),
      startedOn: Number.isFinite(startMs) && startMs > 0 ? new Date(startMs) : new Date(),
    },
  );
}
