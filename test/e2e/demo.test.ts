/** `npm run demo` end to end: every example reaches its expected outcome and the demo says so. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

describe('npm run demo', () => {
  it('uploads every example, sweeps, prints the summary and exits 0', async () => {
    const child = spawn('npx', ['tsx', 'local/demo.ts'], {
      cwd: root,
      env: { ...process.env, ECR_PIPELINE_DEMO_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toMatch(/^OK: (\d+)\/\1 outcomes as expected/m);
    expect(output).not.toMatch(/^FAIL /m);
    for (const title of [
      'copies files',
      'RUN steps, build args and a target stage',
      'invalid upload: a tag Docker does not accept',
      'a Dockerfile whose RUN step fails',
      'a context without a Dockerfile',
      'one tag pushed twice into an immutable repository',
      'release gate none: released',
      'release gate scan: held',
      'two platforms joined into one index',
      'stale-repository sweep (2 rounds)',
    ]) {
      expect(output).toContain(`PASS  ${title}`);
    }
    expect(output).toMatch(/slack\+sns {2}Build failed: examples\/failing:v1/);
    // The failing RUN step's own error line, as the notification carries it.
    expect(output).toMatch(/failing-build +notified: .*error: configuration missing/);
    // One image released and one held by the scan gate, each said with the scan result it judged.
    expect(output).toMatch(/gate v1-released +released$/m);
    expect(output).toMatch(/gate v1-held +held \(the scan found .*\); scan: /);
    expect(output).toMatch(/slack\+sns {2}Image held: examples\/gated:v1-held/);
    expect(output).toMatch(/got +build FAILED; notified: .*error: configuration missing/);
    // --fail-on runs when a scanner is installed, and is skipped (said plainly) otherwise.
    expect(output).toMatch(
      /PASS {2}submit --fail-on stops on a finding\n.*\n.*\n +got +(exit 4, findings|skipped: no scanner \(trivy or grype\))/,
    );
    expect(code).toBe(0);
  });
});
