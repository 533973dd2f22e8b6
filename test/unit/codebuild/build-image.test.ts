/**
 * buildspec/build-image.sh on its AWS path (CodeBuild standard image with a Docker engine), with
 * stand-ins for `docker` and `aws` that record what they were asked: there is no Docker engine here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = new URL('../../../buildspec/build-image.sh', import.meta.url).pathname;
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
let dirs: string[] = [];
const PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).stdout.trim();
const extractPy = new URL('../../../buildspec/extract.py', import.meta.url).pathname;
const cacheTag = (repository: string) =>
  `${repository.replace(/[^a-z0-9._-]/g, '_').slice(0, 100)}-${createHash('sha256').update(repository).digest('hex').slice(0, 16)}`;
const NO_METADATA = "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n";
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function run(
  buildEnv: string,
  extraEnv: Record<string, string> = {},
  workFiles: Record<string, string> = {},
) {
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
    case " $* " in *" --push "*)
      if [ -n "\${STUB_PUSH_ERROR:-}" ]; then printf '%s\n' "$STUB_PUSH_ERROR" >&2; exit 1; fi ;;
    *)
      if [ -n "\${STUB_BUILD_ERROR:-}" ]; then printf '%s\n' "$STUB_BUILD_ERROR" >&2; exit "\${STUB_BUILD_STATUS:-1}"; fi ;;
    esac
    while [ $# -gt 0 ]; do
      if [ "$1" = --metadata-file ] && [ -n "\${STUB_NO_DIGEST:-}" ]; then printf '{}' >"$2"
      elif [ "$1" = --metadata-file ]; then printf '{"containerimage.digest":"sha256:%064d"}' 7 >"$2"; fi
      shift
    done ;;
esac
exit 0
`,
  );
  // head-object answers `--query '[VersionId, ETag]' --output text` with the newest upload of the key.
  writeFileSync(
    join(bin, 'aws'),
    `#!/bin/bash
printf '%s\\n' "aws $*" >>"${calls}"
case "$1 $2" in
  "ssm get-parameters") printf '%s' "$STUB_SSM" ;;
  "s3api head-object") printf '%s\\t%s\\n' "\${STUB_HEAD_VERSION:-version-1}" "\\"\${STUB_HEAD_ETAG:-etag-1}\\"" ;;
  *) echo password ;;
esac
`,
  );
  // The interpreter itself: a pyenv shim would put the real `aws` before the stand-in on PATH.
  writeFileSync(join(bin, 'python3'), `#!/bin/sh\nexec ${PYTHON} "$@"\n`);
  chmodSync(join(bin, 'python3'), 0o755);
  chmodSync(join(bin, 'docker'), 0o755);
  chmodSync(join(bin, 'aws'), 0o755);
  writeFileSync(join(work, 'build.env'), buildEnv);
  writeFileSync(join(work, 'build-args'), 'VERSION=1.2.3\0EMPTY=\0');
  for (const [name, text] of Object.entries(workFiles)) writeFileSync(join(work, name), text);
  const out = spawnSync('bash', [script, join(work, 'context'), work], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      IMAGE_REPOSITORY_URI: `${REGISTRY}/team-a/api`,
      IMAGE_TAG: 'v1.2.3',
      CONTEXT_BUCKET: 'contexts',
      CONTEXT_KEY: 'team-a/api/v1.2.3.tar.gz',
      CONTEXT_VERSION_ID: 'version-1',
      CONTEXT_ETAG: 'etag-1',
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
    const build = out.calls.findLast((line) => line.startsWith('docker buildx build')) ?? '';
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
      `--cache-from type=registry,ref=${REGISTRY}/ecr-pipeline-prod/build-cache:${cacheTag('team-a/api')}`,
      `--cache-to type=registry,ref=${REGISTRY}/ecr-pipeline-prod/build-cache:${cacheTag('team-a/api')},mode=max,image-manifest=true,oci-mediatypes=true`,
      '--provenance=false',
      `--tag ${REGISTRY}/team-a/api:v1.2.3 --push`,
    ]) {
      expect(build).toContain(part);
    }
    expect(build).not.toContain('--tls-verify');
    // Built, checked to be the newest upload, then pushed.
    const builds = out.calls.filter((line) => line.startsWith('docker buildx build'));
    expect(builds).toHaveLength(2);
    expect(builds[0]).not.toContain('--push');
    expect(builds[0]).not.toContain('--cache-to');
    const head = out.calls.indexOf(
      'aws s3api head-object --bucket contexts --key team-a/api/v1.2.3.tar.gz --query [VersionId, ETag] --output text',
    );
    expect(head).toBeGreaterThan(out.calls.indexOf(builds[0] ?? ''));
    expect(head).toBeLessThan(out.calls.indexOf(build));
    expect(out.calls).toContain(
      'docker buildx create --name ecr-pipeline --driver docker-container --driver-opt image=moby/buildkit:v0.31.2@sha256:2f5adac4ecd194d9f8c10b7b5d7bceb5186853db1b26e5abd3a657af0b7e26ec',
    );
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
    const build = out.calls.findLast((line) => line.startsWith('docker buildx build')) ?? '';
    expect(build).toContain('--platform linux/amd64,linux/arm64');
    expect(build).not.toContain('--cache-to');
    expect(build).not.toContain('--target');
    expect(out.calls).toContain(
      'docker run --privileged --rm tonistiigi/binfmt:qemu-v10.2.3@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0 --install all',
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

  it('names the parameter that allows a private base image when IAM denies its pull', () => {
    const out = run(NO_METADATA, {
      STUB_BUILD_ERROR: `ERROR: failed to solve: ${REGISTRY}/other-team/base:1.0: failed to resolve source metadata for ${REGISTRY}/other-team/base:1.0: unexpected status from HEAD request: 403 Forbidden`,
    });
    expect(out.status).toBe(1);
    expect(out.stderr.trim().split('\n').at(-1)).toBe(
      `ecr-pipeline: pulling ${REGISTRY}/other-team/base from this account's ECR registry was denied: the build may pull only this stack's repositories, adopted ones (adoptRepositoryPattern) and the build cache; allow private base images with the basePullPattern parameter`,
    );
    expect(out.calls.filter((line) => line.includes('--push'))).toEqual([]);
  });

  it("keeps a failing RUN step's own output as the reason, with the builder's exit status", () => {
    const out = run(NO_METADATA, {
      STUB_BUILD_ERROR: 'error: configuration missing',
      STUB_BUILD_STATUS: '3',
    });
    expect(out.status).toBe(3);
    expect(out.stdout).toContain('error: configuration missing');
    expect(out.stderr).not.toContain('ecr-pipeline:');
    expect(out.calls.filter((line) => line.includes('--push'))).toEqual([]);
  });

  it('stops as superseded, without pushing, when a newer version of the key was uploaded', () => {
    const out = run(NO_METADATA, { STUB_HEAD_VERSION: 'version-2' });
    expect(out.status).toBe(1);
    expect(out.calls.filter((line) => line.includes('--push'))).toEqual([]);
    expect(out.stderr.trim().split('\n').at(-1)).toBe(
      'ecr-pipeline: superseded: a newer upload of team-a/api/v1.2.3.tar.gz exists (version version-2); this build of version version-1 did not push',
    );
    expect(out.digest).toBeUndefined();
  });

  it('tells a newer upload by its ETag in a bucket without versions', () => {
    const out = run(NO_METADATA, {
      CONTEXT_VERSION_ID: '',
      STUB_HEAD_VERSION: 'None',
      STUB_HEAD_ETAG: 'etag-2',
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      'ecr-pipeline: superseded: a newer upload of team-a/api/v1.2.3.tar.gz exists (version etag-2); this build of version etag-1 did not push',
    );
    expect(run(NO_METADATA, { CONTEXT_VERSION_ID: '', STUB_HEAD_VERSION: 'None' }).status).toBe(0);
  });

  it('turns the registry refusing an existing tag of an immutable repository into one TagAlreadyExists line', () => {
    const out = run(NO_METADATA, {
      STUB_PUSH_ERROR: `ERROR: failed to push ${REGISTRY}/team-a/api:v1.2.3: tag invalid: The image tag 'v1.2.3' already exists in the 'team-a/api' repository and cannot be overwritten because the repository is immutable.`,
    });
    expect(out.status).toBe(1);
    expect(out.stderr.trim().split('\n').at(-1)).toMatch(
      /^ecr-pipeline: TagAlreadyExists: team-a\/api:v1\.2\.3 already exists and tags in this repository are immutable; /,
    );
  });

  it('refuses helper images that are not pinned by digest', () => {
    const out = run(NO_METADATA, { BUILDKIT_IMAGE: 'moby/buildkit:buildx-stable-1' });
    expect(out.status).toBe(1);
    expect(out.stderr.trim()).toBe(
      'ecr-pipeline: unpinned helper: BUILDKIT_IMAGE must name an image by digest (name:tag@sha256:...), got "moby/buildkit:buildx-stable-1"',
    );
    expect(out.calls.filter((line) => line.startsWith('docker buildx'))).toEqual([]);
  });

  it('gives every repository a cache tag of its own that is a valid tag', () => {
    const cacheRef = (repository: string) => {
      const out = run(NO_METADATA, {
        IMAGE_REPOSITORY_URI: `${REGISTRY}/${repository}`,
        CACHE_REPOSITORY_URI: `${REGISTRY}/cache`,
      });
      expect(out.status, out.stderr).toBe(0);
      const from = out.calls.find((line) => line.includes('--cache-from')) ?? '';
      return /--cache-from type=registry,ref=[^ ]+\/cache:([^ ]+)/.exec(from)?.[1] ?? '';
    };
    const ab = cacheRef('a/b');
    expect(ab).not.toBe(cacheRef('a_b'));
    expect(ab).toBe(cacheTag('a/b'));
    const long = cacheRef(`${'x'.repeat(120)}/${'y'.repeat(135)}`);
    expect(long).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
    expect(long).not.toBe(cacheRef(`${'x'.repeat(120)}/${'y'.repeat(134)}z`));
  });
});

describe('buildspec/build-image.sh with build secrets', () => {
  const PREFIX = '/ecr-pipeline/prod/build-secrets/';
  const secretFiles = {
    'extract.py': readFileSync(extractPy, 'utf8'),
    'build-secrets': `npm_token=${PREFIX}npm\0`,
  };
  const ssm = JSON.stringify({
    Parameters: [{ Name: `${PREFIX}npm`, Type: 'SecureString', Value: 'value-never-shown' }],
    InvalidParameters: [],
  });

  it('mounts each secret on the build and the push, never prints it, and removes the files after the push', () => {
    const out = run(NO_METADATA, { STUB_SSM: ssm }, secretFiles);
    expect(out.status, out.stderr).toBe(0);
    const work = join(dirs.at(-1) ?? '', 'work');
    const builds = out.calls.filter((line) => line.startsWith('docker buildx build'));
    expect(builds).toHaveLength(2);
    for (const build of builds) expect(build).toContain(`--secret id=npm_token,src=${work}/secrets/0`);
    expect(out.calls).toContain(
      `aws ssm get-parameters --with-decryption --names ${PREFIX}npm --output json`,
    );
    expect(out.stdout).toContain(
      'ecr-pipeline: build secrets npm_token mounted for the build (values not shown)',
    );
    expect(out.stdout + out.stderr + out.calls.join('\n')).not.toContain('value-never-shown');
    expect(() => statSync(join(work, 'secrets'))).toThrow();
    expect(() => statSync(join(work, 'secret-args'))).toThrow();
  });

  it('stops before building when a secret cannot be read, with the reason in one line', () => {
    const out = run(NO_METADATA, { STUB_SSM: '{"Parameters": [], "InvalidParameters": []}' }, secretFiles);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^ecr-pipeline: build secret npm_token: /m);
    expect(out.calls.filter((line) => line.startsWith('docker buildx build'))).toEqual([]);
  });

  it('asks for no secret when the upload names none', () => {
    const out = run(NO_METADATA);
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls.some((line) => line.startsWith('aws ssm'))).toBe(false);
    expect(out.calls.findLast((line) => line.startsWith('docker buildx build'))).not.toContain('--secret');
  });
});
