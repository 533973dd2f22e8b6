/**
 * buildspec/build-image.sh on its AWS path (CodeBuild standard image with a Docker engine), with a
 * stand-in for `docker` that records what it was asked (there is no Docker engine here), and its
 * podman path's push by digest with stand-ins for `podman` and `skopeo` (the local cloud runs them
 * for real: test/e2e/build.test.ts).
 */
import { spawnSync } from 'node:child_process';

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sbomGeneratorPin } from './sbom-generator-pin.ts';

const script = new URL('../../../buildspec/build-image.sh', import.meta.url).pathname;
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
let dirs: string[] = [];
const NO_METADATA = "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n";
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** Where the machine's own tool is, for a stand-in that passes calls on to it. */
function realTool(name: string): string {
  return spawnSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
}

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
  "buildx create")
    while [ $# -gt 0 ]; do
      if [ "$1" = --buildkitd-config ]; then cp "$2" "${calls}.buildkitd.toml"; fi
      shift
    done ;;
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
  // podman: a build that names its image, an image that carries this build's id, a push that
  // reports the digest; skopeo: records what it copies.
  writeFileSync(
    join(bin, 'podman'),
    `#!/bin/bash
printf '%s\\n' "podman $*" >>"${calls}"
if [ -n "\${CONTAINERS_REGISTRIES_CONF:-}" ]; then cp "$CONTAINERS_REGISTRIES_CONF" "${calls}.registries.conf"; fi
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case "\${args[i]}" in
    --iidfile) printf 'image-1' >"\${args[i + 1]}" ;;
    --digestfile) printf 'sha256:%064d' 9 >"\${args[i + 1]}" ;;
    login) cat >/dev/null ;;
    inspect) printf '%s' "$CODEBUILD_BUILD_ID" ;;
  esac
done
exit 0
`,
  );
  writeFileSync(
    join(bin, 'skopeo'),
    `#!/bin/bash
printf '%s\\n' "skopeo $*" >>"${calls}"
exit 0
`,
  );
  // The SBOM generator in place (the local cloud's way), and curl for the pinned download's path:
  // it serves an archive that is not the pinned release.
  writeFileSync(join(bin, 'trivy'), '#!/bin/bash\nexit 0\n');
  writeFileSync(
    join(bin, 'curl'),
    `#!/bin/bash
printf '%s\\n' "curl $*" >>"${calls}"
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then printf 'not trivy' >"$2"; fi; shift; done
exit 0
`,
  );
  // uname answers STUB_MACHINE for -m when it is set; sha256sum records the sums it is asked to
  // check, then checks them for real.
  writeFileSync(
    join(bin, 'uname'),
    `#!/bin/bash
if [ "$1" = -m ] && [ -n "\${STUB_MACHINE:-}" ]; then printf '%s\\n' "$STUB_MACHINE"; exit 0; fi
exec ${realTool('uname')} "$@"
`,
  );
  writeFileSync(
    join(bin, 'sha256sum'),
    `#!/bin/bash
if [ "$1" = -c ]; then
  input=$(cat)
  printf 'sha256sum -c %s\\n' "\${input%% *}" >>"${calls}"
  printf '%s\\n' "$input" | ${realTool('sha256sum')} "$@"
  exit
fi
exec ${realTool('sha256sum')} "$@"
`,
  );
  for (const tool of ['docker', 'podman', 'skopeo', 'trivy', 'curl', 'uname', 'sha256sum'])
    chmodSync(join(bin, tool), 0o755);
  // build-session.mjs --attest: records its arguments and the build parameters it was given.
  writeFileSync(
    join(work, 'build-session.mjs'),
    `import { appendFileSync } from 'node:fs';
const e = process.env;
appendFileSync(${JSON.stringify(calls)}, ['attest', ...process.argv.slice(2), e.DOCKERFILE, e.BUILD_TARGET, e.BUILD_PLATFORMS, e.BUILDER_USED, e.SBOM_GENERATOR].join(' ') + '\\n');
process.exit(Number(e.STUB_ATTEST_STATUS ?? 0));
`,
  );
  writeFileSync(join(work, 'build.env'), buildEnv);
  if (!extraEnv.STUB_REMOVE_PASSWORD) writeFileSync(join(work, 'registry-password'), 'the-session-password');
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
      CODEBUILD_BUILD_ID: 'ecr-pipeline-prod:1234',
      SBOM_GENERATOR: join(bin, 'trivy'),
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
  const passwordLeft = (() => {
    try {
      return readFileSync(join(work, 'registry-password'), 'utf8');
    } catch {
      return undefined;
    }
  })();
  const buildkitd = (() => {
    try {
      return readFileSync(`${calls}.buildkitd.toml`, 'utf8');
    } catch {
      return undefined;
    }
  })();
  const registriesConf = (() => {
    try {
      return readFileSync(`${calls}.registries.conf`, 'utf8');
    } catch {
      return undefined;
    }
  })();
  return { ...out, calls: lines, digest, passwordLeft, buildkitd, registriesConf, work, bin };
}

describe('buildspec/build-image.sh with Docker', () => {
  it('logs in with the session password, builds, pushes by digest with buildx, then tags the digest', () => {
    const out = run("DOCKERFILE=docker/Dockerfile\nBUILD_TARGET=app\nBUILD_PLATFORMS=''\n", {
      IMAGE_CACHE_TAG: 'ecr-pipeline-cache',
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls).toContain(`docker login --username AWS --password-stdin ${REGISTRY}`);
    // The password is used once and not left behind for later steps.
    expect(out.passwordLeft).toBeUndefined();
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
      // The registry cache lives in the image's own repository, under the tag the trigger passed.
      `--cache-from type=registry,ref=${REGISTRY}/team-a/api:ecr-pipeline-cache`,
      `--cache-to type=registry,ref=${REGISTRY}/team-a/api:ecr-pipeline-cache,mode=max,image-manifest=true,oci-mediatypes=true`,
      '--provenance=false',
      `--output type=image,name=${REGISTRY}/team-a/api,push-by-digest=true,name-canonical=true,push=true`,
    ]) {
      expect(build).toContain(part);
    }
    // Never the release tag in the build's push.
    expect(build).not.toContain(':v1.2.3');
    expect(build).not.toContain('--tag');
    expect(build).not.toContain('--tls-verify');
    const builds = out.calls.filter((line) => line.startsWith('docker buildx build'));
    expect(builds).toHaveLength(2);
    expect(builds[0]).not.toContain('--output');
    expect(builds[0]).not.toContain('--cache-to');
    expect(out.calls).toContain(
      'docker buildx create --name ecr-pipeline --driver docker-container --driver-opt image=moby/buildkit:v0.31.2@sha256:2f5adac4ecd194d9f8c10b7b5d7bceb5186853db1b26e5abd3a657af0b7e26ec',
    );
    expect(build).not.toContain('--platform');
    const digest = `sha256:${'7'.padStart(64, '0')}`;
    expect(out.digest).toBe(digest);
    expect(out.stdout).toContain(`pushed ${REGISTRY}/team-a/api@${digest}`);
    // The release tag is the release function's: no call of the build names it.
    expect(out.calls.filter((line) => line.includes(':v1.2.3'))).toEqual([]);
    expect(out.calls.filter((line) => line.includes('imagetools'))).toEqual([]);
    // The SBOM and the provenance are attached to the pushed digest, with the parameters this
    // script built with.
    const attest = `attest --attest ${out.work} ${out.work}/context docker/Dockerfile app  docker ${out.bin}/trivy`;
    expect(out.calls).toContain(attest);
    expect(out.calls.indexOf(attest)).toBeGreaterThan(out.calls.indexOf(build));
    // No `aws` CLI start-up anywhere in the build.
    expect(out.calls.filter((line) => line.startsWith('aws '))).toEqual([]);
  });

  it('builds the platforms an upload asks for and leaves the registry cache out when told to', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n", {
      IMAGE_CACHE_TAG: 'ecr-pipeline-cache',
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

  it("builds one leg natively: its own platform only, no emulator when it is the host's", () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n", {
      BUILD_PLATFORM: 'linux/amd64',
    });
    expect(out.status, out.stderr).toBe(0);
    const build = out.calls.findLast((line) => line.startsWith('docker buildx build')) ?? '';
    expect(build).toContain('--platform linux/amd64 ');
    expect(build).toContain('--provenance=false');
    expect(out.calls.filter((line) => line.startsWith('docker run'))).toEqual([]);
  });

  it('uses no registry cache where the trigger passed no cache tag', () => {
    const out = run(NO_METADATA);
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls.join('\n')).not.toContain('--cache-');
  });

  it('says so when the builder reported no digest for the pushed image', () => {
    const out = run(NO_METADATA, { STUB_NO_DIGEST: '1' });
    expect(out.status).toBe(1);
    expect(out.stderr.trim()).toMatch(
      new RegExp(
        `^ecr-pipeline: \\[\\d+\\.\\d{3}s\\] the builder reported no digest for ${REGISTRY}/team-a/api$`,
      ),
    );
    expect(out.calls.filter((line) => line.includes('imagetools'))).toEqual([]);
  });

  it('refuses to build without the session password', () => {
    const out = run(NO_METADATA, { STUB_REMOVE_PASSWORD: '1' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('the build session did not start');
    expect(out.calls.filter((line) => line.startsWith('docker buildx build'))).toEqual([]);
  });

  it('refuses an unknown BUILDER', () => {
    const out = run(NO_METADATA, { BUILDER: 'nonesuch' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('unknown BUILDER "nonesuch"');
  });

  it('names the parameter that allows a private base image when IAM denies its pull', () => {
    const out = run(NO_METADATA, {
      STUB_BUILD_ERROR: `ERROR: failed to solve: ${REGISTRY}/other-team/base:1.0: failed to resolve source metadata for ${REGISTRY}/other-team/base:1.0: unexpected status from HEAD request: 403 Forbidden`,
    });
    expect(out.status).toBe(1);
    expect(out.stderr.trim().split('\n').at(-1)).toBe(
      `ecr-pipeline: pulling ${REGISTRY}/other-team/base from this account's ECR registry was denied: the build may pull only the repository it builds and private base images the basePullPattern parameter allows`,
    );
    expect(out.calls.filter((line) => line.includes('--output'))).toEqual([]);
  });

  it("keeps a failing RUN step's own output as the reason, with the builder's exit status", () => {
    const out = run(NO_METADATA, {
      STUB_BUILD_ERROR: 'error: configuration missing',
      STUB_BUILD_STATUS: '3',
    });
    expect(out.status).toBe(3);
    expect(out.stdout).toContain('error: configuration missing');
    expect(out.stderr).not.toContain('ecr-pipeline:');
    expect(out.calls.filter((line) => line.includes('--output'))).toEqual([]);
  });

  it('refuses helper images that are not pinned by digest', () => {
    const out = run(NO_METADATA, { BUILDKIT_IMAGE: 'moby/buildkit:buildx-stable-1' });
    expect(out.status).toBe(1);
    expect(out.stderr.trim().split('\n').at(-1)).toBe(
      'ecr-pipeline: unpinned helper: BUILDKIT_IMAGE must name an image by digest (name:tag@sha256:...), got "moby/buildkit:buildx-stable-1"',
    );
    expect(out.calls.filter((line) => line.startsWith('docker buildx'))).toEqual([]);
  });
});

describe('buildspec/build-image.sh with podman', () => {
  it('pushes through an OCI layout to the digest reference with skopeo, and tags nothing', () => {
    const out = run(NO_METADATA, { BUILDER: 'podman', IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api' });
    expect(out.status, out.stderr).toBe(0);
    const digest = `sha256:${'9'.padStart(64, '0')}`;
    const steps = out.calls.filter((line) => !line.startsWith('podman --cgroup-manager=cgroupfs inspect'));
    expect(steps[0]).toBe(
      'podman --cgroup-manager=cgroupfs login --tls-verify=false --username AWS --password-stdin 127.0.0.1:5000',
    );
    expect(steps[1]).toMatch(
      /^podman --cgroup-manager=cgroupfs build --isolation=chroot --layers --tls-verify=false /,
    );
    expect(steps[1]).not.toContain('--tag');
    expect(steps[2]).toMatch(
      /^podman --cgroup-manager=cgroupfs push --digestfile \S+\/digest image-1 oci:\S+\/oci-layout$/,
    );
    expect(steps[3]).toMatch(
      new RegExp(
        `^skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false oci:\\S+/oci-layout docker://127\\.0\\.0\\.1:5000/team-a/api@${digest}$`,
      ),
    );
    // The SBOM and the provenance are attached to the pushed digest; the release tag is the
    // release function's to set.
    expect(steps[4]).toMatch(/^attest --attest \S+ \S+\/context Dockerfile {3}podman \S+\/trivy$/);
    expect(steps).toHaveLength(5);
    expect(out.digest).toBe(digest);
  });

  it('builds one platform as a plain image, never a manifest list (an index Lambda refuses)', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/arm64\n", {
      BUILDER: 'podman',
      IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api',
    });
    expect(out.status, out.stderr).toBe(0);
    const build = out.calls.find((line) => line.includes(' build ')) ?? '';
    expect(build).toContain('--platform linux/arm64');
    expect(build).toContain('--iidfile');
    expect(build).not.toContain('--manifest');
    expect(out.calls.filter((line) => line.includes(' manifest '))).toEqual([]);
    expect(out.calls).toContainEqual(expect.stringMatching(/ push --digestfile \S+\/digest image-1 oci:/));
  });

  it('gathers several platforms of one build in a manifest list', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n", {
      BUILDER: 'podman',
      IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api',
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls).toContainEqual(
      expect.stringMatching(/ build .*--manifest localhost\/ecr-pipeline-build\//),
    );
    expect(out.calls).toContainEqual(expect.stringMatching(/ manifest push --all /));
  });

  it('builds only its own platform as one leg of a multi-platform upload', () => {
    const out = run("DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n", {
      BUILDER: 'podman',
      BUILD_PLATFORM: 'linux/arm64',
      IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api',
    });
    expect(out.status, out.stderr).toBe(0);
    const build = out.calls.find((line) => line.includes(' build ')) ?? '';
    expect(build).toContain('--platform linux/arm64 ');
    expect(build).not.toContain('linux/amd64');
    expect(out.calls.filter((line) => line.includes(' manifest '))).toEqual([]);
  });
});

describe('buildspec/build-image.sh: the SBOM generator and the attach step', () => {
  const pin = sbomGeneratorPin();
  const release = `https://github.com/aquasecurity/trivy/releases/download/v${pin.version}/trivy_${pin.version}`;

  it('downloads the pinned trivy release and refuses an archive whose sha256 is not the pinned one, before building', () => {
    const out = run(NO_METADATA, { SBOM_GENERATOR: '', STUB_MACHINE: 'x86_64' });
    expect(out.status).toBe(1);
    expect(out.calls.find((line) => line.startsWith('curl '))).toMatch(
      new RegExp(` ${release.replaceAll('.', '\\.')}_Linux-64bit\\.tar\\.gz$`),
    );
    expect(out.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(
        `the SBOM generator downloaded from \\S+ is not the pinned trivy ${pin.version} \\(sha256 differs\\)$`,
      ),
    );
    expect(out.calls.some((line) => line.startsWith('docker buildx build'))).toBe(false);
  });

  it('checks the archive of each machine against the pinned sha256 of that machine (arm64: Linux-ARM64)', () => {
    for (const [machine, asset, sum] of [
      ['x86_64', 'Linux-64bit', pin.sha256.x86_64],
      ['aarch64', 'Linux-ARM64', pin.sha256.aarch64],
    ] as const) {
      const out = run(NO_METADATA, { SBOM_GENERATOR: '', STUB_MACHINE: machine });
      expect(out.status).toBe(1);
      const calls = out.calls.filter((line) => line.startsWith('curl ') || line.startsWith('sha256sum -c'));
      expect(calls).toEqual([
        expect.stringMatching(new RegExp(`${asset}\\.tar\\.gz$`)),
        `sha256sum -c ${sum}`,
      ]);
    }
  });

  it('has no SBOM generator for another machine, and says so before building', () => {
    const out = run(NO_METADATA, { SBOM_GENERATOR: '', STUB_MACHINE: 'riscv64' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('no pinned SBOM generator for riscv64');
    expect(out.calls.some((line) => line.startsWith('curl ') || line.startsWith('docker buildx build'))).toBe(
      false,
    );
  });

  it('downloads from the mirror SBOM_GENERATOR_URL names', () => {
    const out = run(NO_METADATA, {
      SBOM_GENERATOR: '',
      SBOM_GENERATOR_URL: 'https://mirror.example.com/trivy',
      STUB_MACHINE: 'aarch64',
    });
    expect(out.calls.find((line) => line.startsWith('curl '))).toMatch(
      new RegExp(
        ` https://mirror\\.example\\.com/trivy/v${pin.version}/trivy_${pin.version}_Linux-ARM64\\.tar\\.gz$`,
      ),
    );
  });

  it('refuses an SBOM_GENERATOR that is not an executable file', () => {
    const out = run(NO_METADATA, { SBOM_GENERATOR: '/nonexistent/trivy' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('SBOM_GENERATOR "/nonexistent/trivy" is not an executable file');
    expect(out.calls.some((line) => line.startsWith('docker buildx build'))).toBe(false);
  });

  it('fails the build, and tags nothing, when the SBOM or the provenance cannot be attached', () => {
    const out = run(NO_METADATA, { STUB_ATTEST_STATUS: '1' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      `attaching the SBOM and the provenance of ${REGISTRY}/team-a/api@sha256:${'7'.padStart(64, '0')} failed`,
    );
    expect(out.calls.some((line) => line.startsWith('docker buildx imagetools create'))).toBe(false);
  });
});

describe('buildspec/build-image.sh with build secrets', () => {
  const PREFIX = '/ecr-pipeline/prod/build-secrets/';
  // build-session.mjs --secrets as the session helper behaves (test/unit/codebuild/build-secrets-session.test.ts
  // tests the real one): a 0600 file per secret and the builder's --secret values, or a refusal (exit 2).
  const session = `import { mkdirSync, writeFileSync } from 'node:fs';
const [, , mode, work] = process.argv;
if (mode === '--attest') process.exit(0);
if (mode !== '--secrets') process.exit(64);
if (process.env.STUB_SECRET_REFUSED) {
  console.error('ecr-pipeline: build secret npm_token: no SSM parameter or Secrets Manager secret is named ${PREFIX}npm');
  process.exit(2);
}
mkdirSync(work + '/secrets', { mode: 0o700 });
writeFileSync(work + '/secrets/0', 'value-never-shown', { mode: 0o600 });
writeFileSync(work + '/secret-args', 'id=npm_token,src=' + work + '/secrets/0\\0');
console.log('ecr-pipeline: build secrets npm_token mounted for the build (values not shown)');
`;
  const secretFiles = { 'build-session.mjs': session, 'build-secrets': `npm_token=${PREFIX}npm\0` };

  it('mounts each secret on the build and the push, never prints it, and removes the files after the push', () => {
    const out = run(NO_METADATA, {}, secretFiles);
    expect(out.status, out.stderr).toBe(0);
    const work = join(dirs.at(-1) ?? '', 'work');
    const builds = out.calls.filter((line) => line.startsWith('docker buildx build'));
    expect(builds).toHaveLength(2);
    for (const build of builds) expect(build).toContain(`--secret id=npm_token,src=${work}/secrets/0`);
    expect(out.stdout).toContain(
      'ecr-pipeline: build secrets npm_token mounted for the build (values not shown)',
    );
    expect(out.stdout + out.stderr + out.calls.join('\n')).not.toContain('value-never-shown');
    expect(() => statSync(join(work, 'secrets'))).toThrow();
    expect(() => statSync(join(work, 'secret-args'))).toThrow();
  });

  it('mounts them on the podman build too', () => {
    const out = run(
      NO_METADATA,
      { BUILDER: 'podman', IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api' },
      secretFiles,
    );
    expect(out.status, out.stderr).toBe(0);
    const work = join(dirs.at(-1) ?? '', 'work');
    const build = out.calls.find((line) => line.startsWith('podman --cgroup-manager=cgroupfs build')) ?? '';
    expect(build).toContain(`--secret id=npm_token,src=${work}/secrets/0`);
    expect(() => statSync(join(work, 'secrets'))).toThrow();
  });

  it('stops before building when a secret cannot be read, with the reason in one line and the verdict', () => {
    const out = run(NO_METADATA, { STUB_SECRET_REFUSED: '1' }, secretFiles);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/^ecr-pipeline: build secret npm_token: no SSM parameter/m);
    const work = join(dirs.at(-1) ?? '', 'work');
    expect(readFileSync(join(work, 'verdict'), 'utf8')).toMatch(/^build secret npm_token: no SSM parameter/);
    expect(out.calls.filter((line) => line.startsWith('docker buildx build'))).toEqual([]);
  });

  it('runs no secrets step when the upload names none', () => {
    const out = run(
      NO_METADATA,
      {},
      { 'build-session.mjs': "process.exit(process.argv[2] === '--attest' ? 0 : 3);" },
    );
    expect(out.status, out.stderr).toBe(0);
    expect(out.calls.findLast((line) => line.startsWith('docker buildx build'))).not.toContain('--secret');
  });
});

describe('buildspec/build-image.sh per build tier (BUILD_COMPUTE)', () => {
  const NO_TARGET = "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n";
  const CACHE = { IMAGE_CACHE_TAG: 'ecr-pipeline-cache' };
  const lastBuild = (calls: string[]) =>
    calls.findLast((line) => line.startsWith('docker buildx build')) ?? '';

  it("uses the Docker server's own layers and exports no registry cache on a Docker server", () => {
    const out = run(NO_TARGET, { ...CACHE, BUILD_COMPUTE: 'docker-server' });
    expect(out.status, out.stderr).toBe(0);
    const builds = out.calls.filter((line) => line.startsWith('docker buildx build'));
    expect(builds).toHaveLength(2);
    for (const build of builds) {
      expect(build).not.toContain('--cache-from');
      expect(build).not.toContain('--cache-to');
      expect(build).toContain('--builder ecr-pipeline');
    }
  });

  it('keeps the registry cache in ECR on a fleet, for builds that land on a cold machine', () => {
    const out = run(NO_TARGET, { ...CACHE, BUILD_COMPUTE: 'fleet' });
    expect(out.status, out.stderr).toBe(0);
    expect(lastBuild(out.calls)).toContain(
      `--cache-to type=registry,ref=${REGISTRY}/team-a/api:ecr-pipeline-cache,mode=max,image-manifest=true,oci-mediatypes=true`,
    );
  });

  it('exports the registry cache on a Docker server only when REGISTRY_CACHE=on', () => {
    const out = run(NO_TARGET, { ...CACHE, BUILD_COMPUTE: 'docker-server', REGISTRY_CACHE: 'on' });
    expect(out.status, out.stderr).toBe(0);
    expect(lastBuild(out.calls)).toContain('--cache-to type=registry');
  });

  it('refuses an unknown tier before it builds anything', () => {
    const out = run(NO_TARGET, { BUILD_COMPUTE: 'warm' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('unknown BUILD_COMPUTE "warm": use on-demand, docker-server or fleet');
    expect(out.calls.filter((line) => line.startsWith('docker buildx build'))).toEqual([]);
  });
});

describe('buildspec/build-image.sh with pull-through cache mirrors (PULL_THROUGH_CACHE)', () => {
  const NO_TARGET = "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n";

  it('gives BuildKit a mirror through ECR per upstream, on a builder named after that configuration', () => {
    const out = run(NO_TARGET, { PULL_THROUGH_CACHE: 'docker.io=docker-hub,quay.io=quay' });
    expect(out.status, out.stderr).toBe(0);
    expect(out.buildkitd).toBe(
      `[registry."docker.io"]\n  mirrors = ["${REGISTRY}/docker-hub"]\n` +
        `[registry."quay.io"]\n  mirrors = ["${REGISTRY}/quay"]\n`,
    );
    const name = `ecr-pipeline-${createHash('sha256')
      .update(out.buildkitd ?? '')
      .digest('hex')
      .slice(0, 12)}`;
    const create = out.calls.find((line) => line.startsWith('docker buildx create')) ?? '';
    expect(create).toContain(`--name ${name} `);
    expect(create).toMatch(/--buildkitd-config \S+\/buildkitd\.toml$/);
    expect(out.calls.findLast((line) => line.startsWith('docker buildx build'))).toContain(
      `--builder ${name}`,
    );
    expect(out.stdout).toContain(
      'base images through the pull-through cache: docker.io=docker-hub, quay.io=quay',
    );
  });

  it('gives podman a registries.conf whose mirror of each upstream is its ECR prefix', () => {
    const out = run(NO_TARGET, {
      BUILDER: 'podman',
      IMAGE_REPOSITORY_URI: '127.0.0.1:5000/team-a/api',
      PULL_THROUGH_CACHE: 'docker.io=docker-hub',
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.registriesConf).toContain(
      '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n[[registry.mirror]]\nlocation = "127.0.0.1:5000/docker-hub"\ninsecure = true\n',
    );
    expect(out.registriesConf).toContain('[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n');
  });

  it('configures no mirror without pull-through cache rules', () => {
    const out = run(NO_TARGET);
    expect(out.status, out.stderr).toBe(0);
    expect(out.buildkitd).toBeUndefined();
    expect(out.calls.find((line) => line.startsWith('docker buildx create'))).not.toContain(
      '--buildkitd-config',
    );
  });

  it('refuses an entry that is not host=prefix (it would reach the builder configuration)', () => {
    const out = run(NO_TARGET, { PULL_THROUGH_CACHE: 'docker.io="]\nevil' });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('bad PULL_THROUGH_CACHE entry');
    expect(out.calls.filter((line) => line.startsWith('docker buildx'))).toEqual([]);
  });
});
