import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../cli/exit-codes.ts';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/submit.ts';
import { type UploadRecord, uploadRecordKey } from '../../../functions/shared/upload-record.ts';

const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);
const TARGET = ['--bucket', 'contexts', '--project', 'ecr-pipeline-dev', '--region', 'us-east-1'];
const KEY = 'team/api/v1.tar.gz';
const RECORD_KEY = uploadRecordKey('', { bucket: 'contexts', key: KEY, versionId: 'v1' });
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) }) as never;
const record = (status: UploadRecord['status']): UploadRecord => ({
  status,
  bucket: 'contexts',
  key: KEY,
  versionId: 'v1',
  repository: 'team/api',
  tag: 'v1',
  digest: `sha256:${'a'.repeat(64)}`,
  release: { gate: 'scan', verdict: status === 'held' ? 'held' : undefined },
  at: 'x',
});

function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ECR_PIPELINE_OPERATOR: 'ops@example' },
    out: () => out,
    err: () => err,
  };
}
const release = async (...extra: string[]) => {
  const io = capture();
  const code = await main(['release', KEY, ...TARGET, ...extra], io);
  return { code, io };
};
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

beforeEach(() => {
  s3.reset();
  lambda.reset();
  s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"' });
  s3.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(record('held')) });
});

describe('release --override', () => {
  it('invokes the release function with the record, the reason and who asks; exits 0 once released', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: payload({ kind: 'decided', verdict: 'released' }) as never });
    const { code, io } = await release('--override', '--reason', 'false positive');
    expect(code, io.err()).toBe(EXIT.success);
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('ecr-pipeline-dev-release');
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      action: 'override',
      record: RECORD_KEY,
      reason: 'false positive',
      by: 'ops@example',
    });
    expect(io.out()).toBe(`team/api:v1@sha256:${'a'.repeat(64)}\n`);
  });

  it('needs --override and a reason', async () => {
    expect((await release('--reason', 'x')).code).toBe(EXIT.usage);
    expect((await release('--override')).code).toBe(EXIT.usage);
    expect((await release('--override', '--reason', '  ')).code).toBe(EXIT.usage);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('says who may override when the caller may not invoke the function', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { code, io } = await release('--override', '--reason', 'x');
    expect(code).toBe(EXIT.aws);
    expect(io.err()).toContain('ReleaseOperatorPolicy');
  });

  it('releases nothing that is not held or waiting', async () => {
    s3.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(record('released')) });
    const { code, io } = await release('--override', '--reason', 'x');
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain('nothing to release: the upload is released');
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it("reports the function's failure and an answer that is not a release", async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ FunctionError: 'Unhandled', Payload: payload({ error: 'boom' }) as never });
    expect((await release('--override', '--reason', 'x')).io.err()).toContain(
      'the release function failed: boom',
    );
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: payload({ kind: 'unchanged', status: 'superseded' }) as never });
    const other = await release('--override', '--reason', 'x', '--function', 'custom');
    expect(other.code).toBe(EXIT.failed);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'custom' });
  });
});
