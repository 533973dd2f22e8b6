/** `ecr-pipeline --version`: the version of the package the command runs from. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in the nearest package.json above `from` named ecr-pipeline: the clone's from cli/,
 * the installed package's from dist/cli/. "unknown" when there is none.
 */
export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (name === 'ecr-pipeline' && typeof version === 'string') return version;
    }
    if (dirname(dir) === dir) return 'unknown';
    dir = dirname(dir);
  }
}
