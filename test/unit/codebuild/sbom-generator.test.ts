/**
 * The pinned SBOM generator has one home, buildspec/sbom-generator.sh: build-image.sh sources it,
 * the buildspec writes it beside build-image.sh, and the docs that repeat it say the same.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderBuildspec } from '../../../buildspec/render.ts';
import { sbomGeneratorPin } from './sbom-generator-pin.ts';

const root = new URL('../../../', import.meta.url).pathname;
const pinFile = join(root, 'buildspec/sbom-generator.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The text of a docs page's section: from its `## title` to the next heading of that level. */
function section(page: string, title: string): string {
  const text = readFileSync(join(root, 'docs', page), 'utf8');
  const start = text.indexOf(`\n## ${title}\n`);
  expect(start).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

describe('buildspec/sbom-generator.sh', () => {
  it('pins a trivy version and a distinct sha256 for each machine', () => {
    const pin = sbomGeneratorPin();
    expect(pin.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pin.sha256.x86_64).toMatch(/^[0-9a-f]{64}$/);
    expect(pin.sha256.aarch64).toMatch(/^[0-9a-f]{64}$/);
    expect(pin.sha256.aarch64).not.toBe(pin.sha256.x86_64);
  });

  it('sets the same values in bash as the tests read', () => {
    const out = spawnSync(
      'bash',
      [
        '-c',
        'source "$1" && printf "%s %s %s" "$trivy_version" "$trivy_sha256_x86_64" "$trivy_sha256_aarch64"',
        '-',
        pinFile,
      ],
      { encoding: 'utf8' },
    );
    const pin = sbomGeneratorPin();
    expect(out.stdout).toBe(`${pin.version} ${pin.sha256.x86_64} ${pin.sha256.aarch64}`);
  });

  it('is the only file that writes the version or a checksum: build-image.sh sources it', () => {
    const pin = sbomGeneratorPin();
    const script = readFileSync(join(root, 'buildspec/build-image.sh'), 'utf8');
    expect(script).toMatch(/^source "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)\/sbom-generator\.sh"$/m);
    for (const value of [pin.version, pin.sha256.x86_64, pin.sha256.aarch64])
      expect(script).not.toContain(value);
    for (const file of ['buildspec.template.yml', 'render.ts', 'extract.py'])
      expect(readFileSync(join(root, 'buildspec', file), 'utf8')).not.toContain(pin.sha256.aarch64);
  });

  it('is written by the buildspec beside build-image.sh, byte for byte', () => {
    const buildspec = parse(renderBuildspec()) as { phases: { install: { commands: string[] } } };
    const dir = mkdtempSync(join(tmpdir(), 'sbom-pin-'));
    dirs.push(dir);
    // The install step writes the scripts into a new PIPELINE_DIR under TMPDIR; the packaged bundle's
    // placeholder is not base64, which only that one line minds.
    const out = spawnSync(
      'bash',
      ['-c', `${buildspec.phases.install.commands.join('\n')}\nprintf '%s' "$PIPELINE_DIR"`],
      { encoding: 'utf8', env: { PATH: process.env.PATH, TMPDIR: dir, CODEBUILD_SRC_DIR: dir } },
    );
    const pipelineDir = out.stdout.trim().split('\n').at(-1) ?? '';
    expect(readdirSync(pipelineDir)).toEqual(expect.arrayContaining(['build-image.sh', 'sbom-generator.sh']));
    expect(readFileSync(join(pipelineDir, 'sbom-generator.sh'), 'utf8')).toBe(readFileSync(pinFile, 'utf8'));
  });
});

describe('the docs name the pinned SBOM generator', () => {
  it('with the version of the pin, wherever a page names a trivy release', () => {
    const pin = sbomGeneratorPin();
    const named: string[] = [];
    for (const page of readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'))) {
      const text = readFileSync(join(root, 'docs', page), 'utf8');
      for (const [, version] of text.matchAll(/trivy[_ *]+(\d+\.\d+\.\d+)/gi))
        named.push(`${page}: ${version}`);
    }
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((entry) => !entry.endsWith(`: ${pin.version}`))).toEqual([]);
  });

  it('with the checksums of the pin, each machine its own', () => {
    const pin = sbomGeneratorPin();
    const text = section('supply-chain.md', 'The SBOM generator, pinned');
    expect([...text.matchAll(/\b[0-9a-f]{64}\b/g)].map(([sum]) => sum).sort()).toEqual(
      [pin.sha256.x86_64, pin.sha256.aarch64].sort(),
    );
    const row = (machine: string) => text.split('\n').find((line) => line.includes(`\`${machine}\``)) ?? '';
    expect(row('x86_64')).toContain(`trivy_${pin.version}_Linux-64bit.tar.gz`);
    expect(row('x86_64')).toContain(pin.sha256.x86_64);
    expect(row('aarch64')).toContain(`trivy_${pin.version}_Linux-ARM64.tar.gz`);
    expect(row('aarch64')).toContain(pin.sha256.aarch64);
  });
});
