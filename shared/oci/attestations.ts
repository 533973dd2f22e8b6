/**
 * The names of what a build attaches to its image as OCI referrers (docs/supply-chain.md): the build
 * writes them and `ecr-pipeline verify` looks for them.
 */

/** CycloneDX JSON: the SBOM's artifact type and its layer's media type. */
export const SBOM_TYPE = 'application/vnd.cyclonedx+json';
/** An in-toto statement: the provenance's artifact type and its layer's media type. */
export const PROVENANCE_TYPE = 'application/vnd.in-toto+json';
/** The manifest annotation that names an in-toto statement's predicate type. */
export const PREDICATE_ANNOTATION = 'in-toto.io/predicate-type';
/** in-toto statement type and the SLSA v1 provenance predicate type. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
