/**
 * Build secrets on the command line (`submit --secret ID=NAME`, docs/build-secrets.md). The build
 * checks them again (buildspec/extract.py, with the same rules) and alone knows the stack's
 * buildSecretsPrefix; here a mistake is caught before anything is uploaded. Only names travel in the
 * upload: the build reads the values itself.
 */
import { UsageError } from './errors.ts';

/** As many as one SSM GetParameters call reads. */
export const MAX_SECRETS = 10;

/** Why a secret id or name is refused, or undefined when it is acceptable. */
export function secretProblem(id: string, name: string): string | undefined {
  // The id a Dockerfile names in `RUN --mount=type=secret,id=ID`; the name: the characters SSM
  // parameter names and Secrets Manager names have in common (less `+=@`).
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id) || /^\.+$/.test(id)) {
    return `the id "${id}" must be 1 to 64 letters, digits, "_", "." and "-" (RUN --mount=type=secret,id=...)`;
  }
  if (!/^[A-Za-z0-9_./-]{1,512}$/.test(name)) {
    return `"${name}" is not an SSM parameter or Secrets Manager name (letters, digits, "_", ".", "-" and "/")`;
  }
  if (!name.startsWith('/') || name.endsWith('/') || name.includes('//') || /\/\.\.?(\/|$)/.test(name)) {
    return `"${name}" must be a full path under the stack's buildSecretsPrefix, like /ecr-pipeline/dev/build-secrets/npm-token`;
  }
  return undefined;
}

/** Parses `--secret ID=NAME` values into {id: name}, in order; throws a UsageError naming the problem. */
export function parseSecrets(values: string[]): Record<string, string> {
  const secrets: Record<string, string> = {};
  if (values.length > MAX_SECRETS) {
    throw new UsageError(`at most ${MAX_SECRETS} --secret flags, got ${values.length}`);
  }
  for (const item of values) {
    const equals = item.indexOf('=');
    if (equals < 0) {
      throw new UsageError(`--secret "${item}": give ID=NAME (the parameter or secret NAME, mounted as ID)`);
    }
    const id = item.slice(0, equals);
    const name = item.slice(equals + 1);
    const problem = secretProblem(id, name);
    if (problem) throw new UsageError(`--secret "${item}": ${problem}`);
    if (Object.hasOwn(secrets, id)) throw new UsageError(`--secret: the id ${id} is given twice`);
    secrets[id] = name;
  }
  return secrets;
}

/** True when a build arg's name looks like it carries a credential (same rule as buildspec/extract.py). */
export function credentialLike(name: string): boolean {
  return /(?:^|_)(?:KEY|PWD|PASSWD|AUTH)(?:_|$)|TOKEN|PASSWORD|SECRET|APIKEY|CREDENTIAL/i.test(name);
}

/** One warning per build arg whose name looks like a credential: its value would be in the image. */
export function credentialArgWarnings(buildArgs: Record<string, string>): string[] {
  return Object.keys(buildArgs)
    .filter(credentialLike)
    .map(
      (name) =>
        `--build-arg ${name} looks like a credential: build arg values are recorded in the image's history; ` +
        'pass it with --secret ID=NAME and read it with RUN --mount=type=secret,id=ID (docs/build-secrets.md)',
    );
}
