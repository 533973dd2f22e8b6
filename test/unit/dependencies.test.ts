/**
 * The AWS SDK packages move together: one version of each `@aws-sdk/*` package in the tree, and every
 * client pinned at the same release, so a bundle never carries two copies of the SDK's core.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

describe('AWS SDK versions', () => {
  it('pins every client and lib-storage at one exact release', () => {
    const pinned = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([name]) =>
      /^@aws-sdk\/(client-|lib-storage$)/.test(name),
    );
    expect(pinned.length).toBeGreaterThan(5);
    expect(new Set(pinned.map(([, version]) => version)).size).toBe(1);
    for (const [, version] of pinned) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('installs one version of each @aws-sdk package', () => {
    const versions = new Map<string, Set<string>>();
    for (const [path, entry] of Object.entries(lock.packages)) {
      const name = /node_modules\/(@aws-sdk\/[^/]+)$/.exec(path)?.[1];
      if (!name || !entry.version) continue;
      versions.set(name, (versions.get(name) ?? new Set()).add(entry.version));
    }
    expect(versions.size).toBeGreaterThan(5);
    const several = [...versions]
      .filter(([, set]) => set.size > 1)
      .map(([name, set]) => `${name}: ${[...set]}`);
    expect(several).toEqual([]);
  });
});
