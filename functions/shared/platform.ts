/**
 * A build platform, `os/arch[/variant]` (`linux/arm/v7`), as the upload's metadata, the build and
 * the OCI image index name it. One parser: the build-trigger plans legs with it, the release writes
 * an index's platform objects with it.
 */

/** `os/arch[/variant]`, as extract.py and the command-line tool accept it. */
export const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** An OCI platform object (image index descriptor). */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/**
 * `linux/arm/v7` as `{ architecture: 'arm', os: 'linux', variant: 'v7' }`; missing parts are empty.
 * The keys in the OCI spec's order: an index's text, and so its digest, depends on it.
 */
export function parsePlatform(platform: string): Platform {
  const [os = '', architecture = '', variant] = platform.split('/');
  return { architecture, os, ...(variant ? { variant } : {}) };
}
