/**
 * The command's exit codes, one per outcome a script may act on. The table in docs/cli.md lists them;
 * keep both in step.
 */
export const EXIT = {
  /** The image was released: its tag names it (and it passed the scan gate when one was asked for). */
  success: 0,
  /** The build failed, or anything else went wrong (a context that cannot be sent, no outcome seen). */
  failed: 1,
  /** Wrong arguments: nothing was uploaded. */
  usage: 2,
  /** The pipeline (or the check before uploading) refused the upload: nothing was built. */
  rejected: 3,
  /** `--fail-on`: the scan found a finding at or above the severity. */
  scanGate: 4,
  /** AWS refused or could not be reached: credentials, permissions, endpoint, bucket. */
  aws: 5,
  /** The stack's release gate held the image: pushed by digest, its tag not moved (`release --override`). */
  held: 6,
  /** `verify`: the image lacks its SBOM or provenance, or they are not this stack's for this image. */
  unverified: 7,
  /** Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
