/**
 * The base image of the local cloud: there is no Docker Hub here, so it is made from Debian's
 * busybox-static (/bin/busybox, one static binary and its applet links) and pushed to the local
 * registry as `library/busybox:latest`. The build environment maps `docker.io` onto the local
 * registry (see local/codebuild/environment.ts), so `FROM busybox` in an example resolves to it
 * locally and to Docker Hub's busybox on AWS. The image is reproducible: same busybox, same digest.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { create } from 'tar';
import { OCI_MANIFEST } from '../functions/shared/media-types.ts';
import { pathSegment, repositoryPath } from '../functions/shared/url.ts';
import { LOCAL_CREDENTIALS } from '../shared/local-cloud.ts';

/** Repository and tag of the base image in the local registry (Docker Hub's name for busybox). */
export const BASE_IMAGE_REPOSITORY = 'library/busybox';
export const BASE_IMAGE_TAG = 'latest';

export interface BaseImageOptions {
  /** The busybox binary; Debian's busybox-static installs it at /bin/busybox. */
  busybox?: string;
  /** Value of an Authorization header, when the registry asks for one. */
  authorization?: string;
}

export interface BaseImage {
  /** `<registry>/library/busybox:latest` */
  reference: string;
  digest: string;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** Makes the busybox image (layer, config, manifest) in memory. */
export async function makeBaseImage(busybox = '/bin/busybox') {
  const stage = mkdtempSync(join(tmpdir(), 'ecr-pipeline-base-'));
  try {
    let applets: string[];
    try {
      applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch (error) {
      throw new Error(
        `cannot run ${busybox}: install Debian's busybox-static (apt-get install busybox-static)`,
        { cause: error },
      );
    }
    const paths = new Set<string>(['bin/busybox', 'etc/passwd', 'etc/group', 'tmp', 'root']);
    mkdirSync(join(stage, 'bin'), { recursive: true });
    copyFileSync(busybox, join(stage, 'bin/busybox'));
    for (const applet of applets) {
      if (applet === 'bin/busybox' || applet.includes('..')) continue;
      mkdirSync(join(stage, dirname(applet)), { recursive: true });
      symlinkSync('/bin/busybox', join(stage, applet));
      paths.add(applet);
    }
    mkdirSync(join(stage, 'etc'));
    writeFileSync(
      join(stage, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
    );
    writeFileSync(join(stage, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
    mkdirSync(join(stage, 'tmp'), { mode: 0o1777 });
    mkdirSync(join(stage, 'root'), { mode: 0o700 });

    const chunks: Buffer[] = [];
    const stream = create({ cwd: stage, portable: true, mtime: new Date(0), noDirRecurse: true }, [
      ...[...directoriesOf(paths)].sort(),
      ...[...paths].sort(),
    ]);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    const layerTar = Buffer.concat(chunks);
    const layer = gzipSync(layerTar, { level: 9 });
    const config = Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: ARCH[process.arch] ?? process.arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
        history: [
          {
            created: '1970-01-01T00:00:00Z',
            created_by: 'ecr-pipeline local base image from busybox-static',
          },
        ],
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: sha256(layer),
            size: layer.length,
          },
        ],
      }),
    );
    return { layer, config, manifest, digest: sha256(manifest) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function directoriesOf(paths: Set<string>): Set<string> {
  const directories = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); dir !== '.'; dir = dirname(dir)) {
      if (!paths.has(dir)) directories.add(dir);
    }
  }
  return directories;
}

/**
 * Pushes the busybox base image to `registry` (host:port, plain HTTP) unless that exact image is
 * already there. Returns its reference and digest.
 */
export async function ensureBaseImage(registry: string, options: BaseImageOptions = {}): Promise<BaseImage> {
  const image = await makeBaseImage(options.busybox);
  const base = `http://${registry}/v2/${repositoryPath(BASE_IMAGE_REPOSITORY)}`;
  const headers: Record<string, string> = options.authorization
    ? { authorization: options.authorization }
    : {};
  const reference = `${registry}/${BASE_IMAGE_REPOSITORY}:${BASE_IMAGE_TAG}`;

  const current = await fetch(`${base}/manifests/${pathSegment(BASE_IMAGE_TAG)}`, {
    method: 'HEAD',
    headers: { ...headers, accept: OCI_MANIFEST },
  });
  if (current.ok && current.headers.get('docker-content-digest') === image.digest) {
    return { reference, digest: image.digest };
  }
  for (const blob of [image.layer, image.config]) {
    const digest = sha256(blob);
    const exists = await fetch(`${base}/blobs/${pathSegment(digest)}`, { method: 'HEAD', headers });
    if (exists.ok) continue;
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers });
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) {
      throw new Error(
        `registry ${registry} refused a blob upload: HTTP ${start.status} ${await start.text()}`,
      );
    }
    const url = new URL(location, `http://${registry}`);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    if (put.status !== 201) {
      throw new Error(`registry ${registry} refused blob ${digest}: HTTP ${put.status} ${await put.text()}`);
    }
  }
  const put = await fetch(`${base}/manifests/${pathSegment(BASE_IMAGE_TAG)}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': OCI_MANIFEST },
    body: image.manifest,
  });
  if (put.status !== 201) {
    throw new Error(
      `registry ${registry} refused the base image manifest: HTTP ${put.status} ${await put.text()}`,
    );
  }
  return { reference, digest: image.digest };
}

/**
 * Puts the base image into a running local cloud: creates the (unmanaged) ECR repository
 * `library/busybox` when missing, then pushes through the registry front with an ECR token.
 * Idempotent; the local cloud calls it at start-up, the demo and tests may call it again.
 */
export async function installBaseImage(cloud: {
  endpoint: string;
  region: string;
  registry: string;
  env: Record<string, string>;
}): Promise<BaseImage> {
  const ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: {
      accessKeyId: cloud.env.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
      secretAccessKey: cloud.env.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
    },
  });
  try {
    await ecr
      .send(
        new CreateRepositoryCommand({ repositoryName: BASE_IMAGE_REPOSITORY, imageTagMutability: 'MUTABLE' }),
      )
      .catch((error: unknown) => {
        if ((error as { name?: string }).name !== 'RepositoryAlreadyExistsException') throw error;
      });
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const authorization = token.authorizationData?.[0]?.authorizationToken;
    return await ensureBaseImage(
      cloud.registry,
      authorization ? { authorization: `Basic ${authorization}` } : {},
    );
  } finally {
    ecr.destroy();
  }
}

/** For a quick look: `npx tsx local/base-image.ts 127.0.0.1:5000`. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const registry = process.argv[2];
  if (!registry) {
    console.error('usage: tsx local/base-image.ts <registry host:port>');
    process.exit(64);
  }
  const { reference, digest } = await ensureBaseImage(registry);
  console.log(`${reference}@${digest}`);
}
