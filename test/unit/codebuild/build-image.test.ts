/**
 * buildspec/build-image.sh on its AWS path (CodeBuild standard image with a Docker engine), with
 * stand-ins for `docker` and `aws` that record what they were asked: there is no Docker engine here.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = new URL('../../../buildspec/build-image.sh', import.meta.url).pathname;
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function run(buildEnv: string, extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'build-image-test-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  const work = join(dir, 'work');
  mkdirSync(bin);
  mkdirSync(join(work, 'context'), { recursive: true });
  const calls = join(dir, 'calls');
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/bash
printf '%s\\n' "docker $*" >>"${calls}"
case "$1 \${2:-}" in
  "info "*) exit 0 ;;
  "login "*) cat >/dev/null; exit 0 ;;
  "buildx inspect") exit 1 ;;
  "buildx build")
    while [ $# -gt 0 ]; do
      if [ "$1" = --metadata-file ] && [ -n "\${STUB_NO_DIGEST:-}" ]; then printf '{}' >"$2"
      elif [ "$1" = --metadata-file ]; then printf '{"containerimage.digest":"sha256:%064d"}' 7 >"$2"; fi
      shift
    done ;;
esac
exit 0
`,
  );
  writeFileSync(join(bin, 'aws'), `#!/bin/bash\nprintf '%s\\n' "aws $*" >>"${calls}"\necho password\n`);
  chmodSync(join(bin, 'docker'), 0o755);
  chmodSync(join(bin, 'aws'), 0o755);
  writeFileSync(join(work, 'build.env'), buildEnv);
  writeFileSync(join(work, 'build-args'), 'VERSION=1.2.3\0EMPTY=\0');
  const out = spawnSync('bash', [script, join(work, 'context'), work], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      IMAGE_REPOSITORY_URI: `${REGISTRY}/team-a/api`,
      IMAGE_TAG: 'v1.2.3',
      CONTEXT_BUCKET: 'contexts',
      CONTEXT_KEY: 'team-a/api/v1.2.3.tar.gz',
      CONTEXT_VERSION_ID: 'version-1',
      AWS_REGION: 'eu-west-1',
      CODEBUILD_BUILD_ID: 'ecr-pipeline-prod:1234',
      ...extraEnv,
    },
  });
  const lines = (() => {
    try {
      return readFileSync(calls, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  })();
  const digest = (() => {
    try {
      return readFileSync(join(work, 'digest'), 'utf8');
    } catch {
      return undefined;
    }
  })();
  return { ...out, calls: lines, digest };
}

describe('buildspec/build-image.sh with Docker', () => {
  it('logs in to ECR, builds and pushes with buildx, labels, build args, the registry cache, and keeps the digest', () => {
    const out = run("DOCKERFILE=docker/Dockerfile\nBUILD_TARGET=app\nBUILD_PLATFORMS=''\n", {
      CACHE_REPOSITORY_URI: `${REGISTRY}/ecr-pipeline-prod/build-cache`,
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls).toContain('aws ecr get-login-password --region eu-west-1');
    expect(out.calls).toContain(`docker login --username AWS --password-stdin ${REGISTRY}`);
    const build = out.calls.find((line) => line.startsWith('docker buildx build')) ?? '';
    for (const part of [
      '--builder ecr-pipeline',
      '--file ',
      'docker/Dockerfile',
      '--target app',
      '--build-arg VERSION=1.2.3',
      '--build-arg EMPTY=',
      '--label org.opencontainers.image.source=s3://contexts/team-a/api/v1.2.3.tar.gz',
      '--label org.opencontainers.image.version=v1.2.3',
      '--label org.opencontainers.image.revision=version-1',
      '--label ecr-pipeline.context.version-id=version-1',
      '--label ecr-pipeline.build-id=ecr-pipeline-prod:1234',
      `--cache-from type=registry,ref=${REGISTRY}/ecr-pipeline-prod/build-cache:team-a_api`,
      `--cache-to type=registry,ref=${REGISTRY}/ecr-pipeline-prod/build-cache:team-a_api,mode=max,image-manifest=true,oci-mediatypes=true`,
      '--provenance=false',
      `--tag ${REGISTRY}/team-a/api:v1.2.3 --push`,
    ]) {
      expect(build).toContain(part);
    }
    expect(build).not.toContain('--tls-verify');
    expect(build).not.toContain('--platform');
    expect(out.digest).toBe(`sha256:${'7'.padStart(64, '0')}`);
    expect(out.stdout).toContain(`pushed ${REGISTRY}/team-a/api:v1.2.3@sha256:`);
  });

  it('builds the platforms an upload asks for and leaves the registry cache out when told to', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n", {
      CACHE_REPOSITORY_URI: `${REGISTRY}/ecr-pipeline-prod/build-cache`,
      REGISTRY_CACHE: 'off',
    });
    expect(out.status, out.stderr).toBe(0);
    const build = out.calls.find((line) => line.startsWith('docker buildx build')) ?? '';
    expect(build).toContain('--platform linux/amd64,linux/arm64');
    expect(build).not.toContain('--cache-to');
    expect(build).not.toContain('--target');
    expect(out.calls.some((line) => line.startsWith('docker run --privileged --rm tonistiigi/binfmt'))).toBe(
      true,
    );
  });

  it('says so when the builder reported no digest for the pushed image', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n", { STUB_NO_DIGEST: '1' });
    expect(out.status).toBe(1);
    expect(out.stderr.trim()).toMatch(
      new RegExp(
        `^ecr-pipeline: \\[\\d+s\\] the builder reported no digest for ${REGISTRY}/team-a/api:v1.2.3$`,
      ),
    );
  });

  it('refuses an unknown BUILDER', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n", { BUILDER: 'nonesuch' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('unknown BUILDER "nonesuch"');
  });
});
