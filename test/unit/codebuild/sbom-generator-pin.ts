import { readFileSync } from 'node:fs';

/** The pinned SBOM generator, as buildspec/sbom-generator.sh writes it (the one place it is written). */
export interface SbomGeneratorPin {
  version: string;
  sha256: { x86_64: string; aarch64: string };
}

/** The assignments of buildspec/sbom-generator.sh, read as bash reads them (`name=value` lines). */
export function sbomGeneratorPin(): SbomGeneratorPin {
  const text = readFileSync(new URL('../../../buildspec/sbom-generator.sh', import.meta.url), 'utf8');
  const values = new Map([...text.matchAll(/^(\w+)=(\S*)$/gm)].map(([, name, value]) => [name, value ?? '']));
  return {
    version: values.get('trivy_version') ?? '',
    sha256: {
      x86_64: values.get('trivy_sha256_x86_64') ?? '',
      aarch64: values.get('trivy_sha256_aarch64') ?? '',
    },
  };
}
