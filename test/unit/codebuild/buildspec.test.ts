import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderBuildspec } from '../../../buildspec/render.ts';
import {
  BUILD_ENV,
  BUILD_EXPORTED_ATTESTATIONS,
  BUILD_EXPORTED_DIGEST,
  BUILD_EXPORTED_VERDICT,
  UPLOAD_METADATA,
} from '../../../functions/shared/contract.ts';
import { parseBuildspec } from '../../../local/codebuild/buildspec.ts';

const root = new URL('../../../', import.meta.url).pathname;
const extractPy = join(root, 'buildspec/extract.py');
let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildspec-test-'));
  dirs.push(dir);
  return dir;
};

/** Runs extract.py on a tarball made by `make` (a function of the staging folder) with this metadata. */
function extract(make: (stage: string, archive: string) => void, metadata: Record<string, string> = {}) {
  const dir = tempDir();
  const stage = join(dir, 'stage');
  mkdirSync(stage);
  const archive = join(dir, 'context.tar.gz');
  make(stage, archive);
  writeFileSync(join(dir, 'object.json'), JSON.stringify({ ContentLength: 1, Metadata: metadata }));
  const out = spawnSync(
    'python3',
    [extractPy, join(dir, 'object.json'), archive, join(dir, 'context'), join(dir, 'out')],
    {
      encoding: 'utf8',
    },
  );
  return { ...out, dir };
}

const tarOf = (stage: string, archive: string, ...extra: string[]) =>
  execFileSync('tar', ['-czf', archive, '-C', stage, ...extra, '.']);

describe('buildspec/buildspec.yml', () => {
  it('is the rendering of the template and the scripts it embeds', () => {
    expect(readFileSync(join(root, 'buildspec/buildspec.yml'), 'utf8')).toBe(renderBuildspec());
  });

  it('is a valid version 0.2 buildspec that exports the digest and reads every build variable', () => {
    const text = readFileSync(join(root, 'buildspec/buildspec.yml'), 'utf8');
    const spec = parseBuildspec(text);
    expect(spec.exportedVariables).toEqual([
      BUILD_EXPORTED_DIGEST,
      BUILD_EXPORTED_VERDICT,
      BUILD_EXPORTED_ATTESTATIONS,
    ]);
    expect(spec.phases.pre_build?.onFailure).toBe('ABORT');
    const doc = parse(text) as { phases: Record<string, { commands: string[] }> };
    const commands = Object.values(doc.phases)
      .flatMap((phase) => phase.commands)
      .join('\n');
    // Read by the commands and the scripts they embed, or by the build session's program.
    const session = readFileSync(join(root, 'buildspec/session/main.ts'), 'utf8');
    for (const name of Object.values(BUILD_ENV)) {
      expect(`${commands}\n${session}`).toContain(name);
    }
    // The build's AWS calls are the bundled program's, filled in when the stack is packaged.
    expect(commands).toContain('node "$PIPELINE_DIR/build-session.mjs" "$PIPELINE_DIR"');
    expect(commands).toContain('{{@dist/build-session/build-session.mjs}}');
    expect(commands).not.toMatch(/\baws (s3api|ecr|s3) /);
    // The embedded scripts arrive byte for byte.
    expect(commands).toContain(readFileSync(join(root, 'buildspec/build-image.sh'), 'utf8').trimEnd());
    expect(commands).toContain(readFileSync(join(root, 'buildspec/extract.py'), 'utf8').trimEnd());
  });

  it('uses the metadata names of the shared contract', () => {
    const script = readFileSync(extractPy, 'utf8');
    for (const name of Object.values(UPLOAD_METADATA)) expect(script).toContain(`"${name}"`);
  });
});

describe('buildspec/extract.py', () => {
  it('extracts a context and writes the validated metadata for the build script', () => {
    const out = extract(
      (stage, archive) => {
        mkdirSync(join(stage, 'docker'));
        writeFileSync(join(stage, 'docker/Dockerfile.prod'), 'FROM busybox\n');
        tarOf(stage, archive);
      },
      {
        [UPLOAD_METADATA.dockerfile]: 'docker/Dockerfile.prod',
        [UPLOAD_METADATA.buildArgs]: '{"VERSION":"1.2.3","EMPTY":""}',
        [UPLOAD_METADATA.target]: 'app',
        [UPLOAD_METADATA.platforms]: 'linux/amd64, linux/arm64',
      },
    );
    expect(out.status, out.stderr).toBe(0);
    expect(readFileSync(join(out.dir, 'out/build.env'), 'utf8')).toBe(
      'DOCKERFILE=docker/Dockerfile.prod\nBUILD_TARGET=app\nBUILD_PLATFORMS=linux/amd64,linux/arm64\n',
    );
    expect(readFileSync(join(out.dir, 'out/build-args'), 'utf8')).toBe('VERSION=1.2.3\0EMPTY=\0');
  });

  it('hands shell-looking metadata to the build script as data, never as commands', () => {
    const dockerfile = 'x$(touch PWNED)`touch PWNED`;touch PWNED';
    const out = extract(
      (stage, archive) => {
        writeFileSync(join(stage, dockerfile), 'FROM busybox\n');
        tarOf(stage, archive);
      },
      {
        [UPLOAD_METADATA.dockerfile]: dockerfile,
        [UPLOAD_METADATA.buildArgs]: JSON.stringify({ EVIL: "$(touch PWNED)'; touch PWNED; '" }),
      },
    );
    expect(out.status, out.stderr).toBe(0);
    // What build-image.sh does with them: source build.env, read the NUL-separated build args.
    const shown = spawnSync(
      'bash',
      [
        '-c',
        'source out/build.env; printf "%s\\n" "$DOCKERFILE"; while IFS= read -r -d "" arg; do printf "%s\\n" "$arg"; done <out/build-args',
      ],
      { cwd: out.dir, encoding: 'utf8' },
    );
    expect(shown.stdout).toBe(`${dockerfile}\nEVIL=$(touch PWNED)'; touch PWNED; '\n`);
    expect(existsSync(join(out.dir, 'PWNED'))).toBe(false);
  });

  it('fails with a clear message when the context has no Dockerfile', () => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'README.md'), 'no Dockerfile here\n');
      tarOf(stage, archive);
    });
    expect(out.status).toBe(2);
    expect(out.stderr.trim()).toBe('ecr-pipeline: no Dockerfile at Dockerfile in the context');
    // The pipeline reads the verdict from this file (exported as PIPELINE_VERDICT), never from the log.
    expect(readFileSync(join(out.dir, 'out/verdict'), 'utf8')).toBe(
      'no Dockerfile at Dockerfile in the context\n',
    );
  });

  it('refuses an archive with a path that climbs out of the context', () => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'Dockerfile'), 'FROM busybox\n');
      writeFileSync(join(stage, 'evil'), 'x');
      tarOf(stage, archive, '--transform', 's,^\\./evil$,../../evil,');
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('unsafe entry');
    expect(existsSync(join(out.dir, 'evil'))).toBe(false);
  });

  it('refuses an absolute symlink that escapes the context', () => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'Dockerfile'), 'FROM busybox\n');
      symlinkSync('/etc/passwd', join(stage, 'passwd'));
      tarOf(stage, archive);
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('unsafe entry');
  });

  it.each([
    [{ [UPLOAD_METADATA.dockerfile]: '../Dockerfile' }, 'points outside the context'],
    [{ [UPLOAD_METADATA.dockerfile]: '/etc/Dockerfile' }, 'must be a relative path'],
    [{ [UPLOAD_METADATA.buildArgs]: '["A"]' }, 'must be a JSON object of strings'],
    [{ [UPLOAD_METADATA.buildArgs]: '{"1A":"x"}' }, 'is not valid'],
    [{ [UPLOAD_METADATA.buildArgs]: '{"A":1}' }, 'must be a string'],
    [{ [UPLOAD_METADATA.buildArgs]: '{oops' }, 'is not valid JSON'],
    [{ [UPLOAD_METADATA.buildArgs]: '{"A\\n":"x"}' }, 'is not valid'],
    [{ [UPLOAD_METADATA.target]: 'bad target' }, 'is not a valid stage name'],
    [{ [UPLOAD_METADATA.target]: 'app\n' }, 'is not a valid stage name'],
    [{ [UPLOAD_METADATA.platforms]: 'amd64' }, 'is not of the form os/arch'],
    [
      { [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64', [UPLOAD_METADATA.lambdaSafe]: 'true' },
      'would make an image index, which Lambda refuses',
    ],
  ])('refuses invalid metadata %j', (metadata, message) => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'Dockerfile'), 'FROM busybox\n');
      tarOf(stage, archive);
    }, metadata);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain(message);
  });

  it('refuses a GNU long-name header that claims 1 GiB before reading it into memory', () => {
    /** One ustar header block: name, mode, uid, gid, size, mtime, checksum, type, magic. */
    const header = (name: string, type: string, size: number) => {
      const block = Buffer.alloc(512);
      block.write(name, 0);
      block.write('0000644\0', 100);
      block.write('0000000\0', 108);
      block.write('0000000\0', 116);
      block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
      block.write('00000000000\0', 136);
      block.write(type, 156);
      block.write('ustar  \0', 257);
      block.fill(' ', 148, 156);
      const sum = block.reduce((total, byte) => total + byte, 0);
      block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return block;
    };
    const out = extract((_stage, archive) => {
      writeFileSync(archive, Buffer.concat([header('././@LongLink', 'L', 2 ** 30), Buffer.alloc(4096, 'a')]));
    });
    expect(out.stderr.trim()).toBe(
      'ecr-pipeline: the context archive has a long-name or extended header of 1073741824 bytes (at most 65536) and was not extracted',
    );
    expect(out.status).toBe(2);
  });

  it('refuses an archive whose entries stop at a damaged header instead of extracting what comes before', () => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'Dockerfile'), 'FROM busybox\n');
      writeFileSync(join(stage, 'app.txt'), 'app\n');
      execFileSync('tar', ['-cf', archive, '-C', stage, 'Dockerfile', 'app.txt']);
      // The second header (after the Dockerfile's header and data block) becomes garbage.
      const bytes = readFileSync(archive);
      bytes.fill('x', 1024, 1536);
      writeFileSync(archive, bytes);
    });
    expect(out.status).toBe(2);
    expect(out.stderr.trim()).toBe(
      'ecr-pipeline: the context archive is damaged or cut short after Dockerfile',
    );
  });

  it('refuses a tar.gz whose checksum does not match its content', () => {
    const out = extract((stage, archive) => {
      writeFileSync(join(stage, 'Dockerfile'), 'FROM busybox\n');
      tarOf(stage, archive);
      // The gzip trailer: CRC-32, then the size; tarfile stops before it unless told to read on.
      const bytes = readFileSync(archive);
      bytes.writeUInt8((bytes.readUInt8(bytes.length - 8) + 1) % 256, bytes.length - 8);
      writeFileSync(archive, bytes);
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('CRC check failed');
  });

  it('refuses an archive that is not a tarball', () => {
    const out = extract((_stage, archive) => writeFileSync(archive, 'PK\x03\x04 not a tar'));
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('not a readable tar');
  });
});
