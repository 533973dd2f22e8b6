import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FunctionSpec, Invoker } from '../../../local/invoker.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** An invoker with one function whose handler always throws. */
function failingFunction(retryDelaysMs: number[]) {
  const dir = mkdtempSync(join(tmpdir(), 'invoker-test-'));
  dirs.push(dir);
  const file = join(dir, 'handler.mjs');
  writeFileSync(file, "export const handler = async () => { throw new Error('always fails'); };\n");
  const spec: FunctionSpec = {
    key: 'failing',
    functionName: 'test-failing',
    file,
    exportName: 'handler',
    env: {},
    timeoutSeconds: 10,
    memorySize: 128,
    maximumRetryAttempts: 2,
  };
  const invoker = new Invoker({ dataDir: join(dir, 'data'), retryDelaysMs, log: () => undefined });
  invoker.register(spec);
  return { invoker, dataDir: join(dir, 'data') };
}

describe('the invoker', () => {
  it('retries a failing asynchronous invocation twice, then keeps an on-failure record', async () => {
    const { invoker, dataDir } = failingFunction([10, 10]);
    await invoker.invokeAsync('failing', { n: 1 });
    expect(invoker.invocations).toHaveLength(3);
    expect(invoker.failures).toEqual([
      { functionName: 'failing', event: { n: 1 }, error: 'Error: always fails', attempts: 3 },
    ]);
    expect(readdirSync(join(dataDir, 'failures'))).toHaveLength(1);
    await invoker.stop();
  });

  it('keeps one request id across the retries of one event, as Lambda does, and a new one per event', async () => {
    const { invoker } = failingFunction([10, 10]);
    await invoker.invokeAsync('failing', { n: 1 });
    await invoker.invokeAsync('failing', { n: 2 });
    const ids = invoker.invocations.map((run) => run.requestId);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(new Set(ids.slice(3)).size).toBe(1);
    expect(ids[3]).not.toBe(ids[0]);
    await invoker.stop();
  });

  it('stops with nothing left waiting to retry', async () => {
    const { invoker } = failingFunction([60_000, 60_000]);
    let settled = false;
    const run = invoker.invokeAsync('failing', {}).then(() => {
      settled = true;
    });
    for (let i = 0; i < 200 && !invoker.invocations[0]?.error; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(invoker.invocations[0]?.error).toBe('Error: always fails');
    await invoker.stop();
    expect(settled).toBe(true);
    await run;
    // The retry never ran: the first attempt is the only one.
    expect(invoker.invocations).toHaveLength(1);
    expect(invoker.failures).toMatchObject([{ functionName: 'failing', attempts: 1 }]);
  });
});

describe("a function's configuration", () => {
  it("answers GetFunctionConfiguration with the template's role and variables, never the runtime's environment", () => {
    const dir = mkdtempSync(join(tmpdir(), 'invoker-test-'));
    dirs.push(dir);
    const invoker = new Invoker({ dataDir: join(dir, 'data'), log: () => undefined });
    invoker.register({
      key: 'release',
      functionName: 'stack-release',
      file: join(dir, 'handler.mjs'),
      exportName: 'handler',
      env: { RELEASE_GATE: 'scan', AWS_SECRET_ACCESS_KEY: 'secret' },
      variables: { RELEASE_GATE: 'scan' },
      role: 'arn:aws:iam::123456789012:role/stack-release',
      timeoutSeconds: 60,
      memorySize: 256,
      maximumRetryAttempts: 2,
    });
    const expected = {
      FunctionName: 'stack-release',
      Role: 'arn:aws:iam::123456789012:role/stack-release',
      Timeout: 60,
      MemorySize: 256,
      Environment: { Variables: { RELEASE_GATE: 'scan' } },
    };
    expect(invoker.configuration('stack-release')).toEqual(expected);
    expect(invoker.configuration('release')).toEqual(expected);
    expect(invoker.configuration('other')).toBeUndefined();
  });
});
