import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/types';
import { describe, expect, it, vi } from 'vitest';
import { objectUrl, s3Objects } from '../../../functions/shared/s3-objects.ts';

const credentials = async () => ({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'token',
});
const ENDPOINT = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' };

/** The path the generated S3 client sends for a key (path-style, to a custom endpoint). */
async function sdkPath(bucket: string, key: string): Promise<string> {
  let captured: HttpRequest | undefined;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: ENDPOINT.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    credentials,
    requestHandler: {
      handle: async (request: HttpRequest) => {
        captured = request;
        return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
      },
    },
  });
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
  return captured?.path ?? '';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();

/** SigV4 written from the specification, independent of the signer under test (no query, S3 path rules). */
function signature(
  method: string,
  path: string,
  headers: Record<string, string>,
  secret: string,
  amzDate: string,
  region: string,
): string {
  const names = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .sort();
  const values = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value.trim()]),
  );
  const canonical = [
    method,
    path,
    '',
    ...names.map((name) => `${name}:${values[name]}`),
    '',
    names.join(';'),
    values['x-amz-content-sha256'],
  ].join('\n');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  return createHmac('sha256', key)
    .update(['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n'))
    .digest('hex');
}

function fakeFetch(...responses: Response[]) {
  return vi.fn<typeof fetch>(async () => responses.shift() ?? new Response('', { status: 200 }));
}

describe('objectUrl', () => {
  it.each(['ctx/.ecr-pipeline/uploads/0f3a.json', "a b+c/(1)!*'~_.-/é.json", 'team-a/api/v1.2.3.tar.gz'])(
    'escapes %s exactly like the S3 client',
    async (key) => {
      expect(objectUrl('contexts-bucket', key, 'us-east-1', ENDPOINT).pathname).toBe(
        await sdkPath('contexts-bucket', key),
      );
    },
  );

  it('uses virtual-hosted style on AWS, path style for dotted buckets and configured endpoints', () => {
    expect(objectUrl('my-bucket', 'k.json', 'eu-west-1', {}).href).toBe(
      'https://my-bucket.s3.eu-west-1.amazonaws.com/k.json',
    );
    expect(objectUrl('my.bucket', 'k.json', 'eu-west-1', {}).href).toBe(
      'https://s3.eu-west-1.amazonaws.com/my.bucket/k.json',
    );
    expect(objectUrl('b-1', 'k.json', 'cn-north-1', {}).host).toBe('b-1.s3.cn-north-1.amazonaws.com.cn');
    expect(
      objectUrl('b-1', 'k.json', 'us-east-1', { AWS_ENDPOINT_URL_S3: 'http://localhost:9000/' }).href,
    ).toBe('http://localhost:9000/b-1/k.json');
  });
});

describe('s3Objects', () => {
  it('signs as SigV4 specifies (the checker reproduces the PUT Object example of the S3 documentation)', async () => {
    const body = 'Welcome to Amazon S3.';
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "PUT Object".
    expect(
      signature(
        'PUT',
        '/test%24file.text',
        {
          Host: 'examplebucket.s3.amazonaws.com',
          Date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': sha256(body),
        },
        'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        '20130524T000000Z',
        'us-east-1',
      ),
    ).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');

    const fetch = fakeFetch();
    const s3 = s3Objects({ credentials, region: 'eu-west-1', timeoutMs: 1000, fetch, env: {} });
    await s3.put('my-bucket', "p q/.ecr-pipeline/uploads/$a+b(c)'é.json", '{"a":1}', {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });
    const [url, init] = fetch.mock.calls[0] ?? [];
    const sent = new URL(String(url));
    const headers: Record<string, string> = { ...(init?.headers as Record<string, string>), host: sent.host };
    const auth = headers.authorization ?? '';
    const signed = auth.match(/SignedHeaders=([^,]+)/)?.[1]?.split(';') ?? [];
    const signedHeaders = Object.fromEntries(signed.map((name) => [name, headers[name] ?? '']));
    expect(auth.match(/Signature=([0-9a-f]{64})/)?.[1]).toBe(
      signature('PUT', sent.pathname, signedHeaders, 'secret', headers['x-amz-date'] ?? '', 'eu-west-1'),
    );
  });

  it('puts with If-None-Match, the payload hash and a SigV4 signature over them', async () => {
    const fetch = fakeFetch();
    const s3 = s3Objects({ credentials, region: 'us-east-1', timeoutMs: 1000, fetch, env: {} });
    await s3.put('my-bucket', 'p/.ecr-pipeline/uploads/a.json', '{"a":1}', {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });

    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(String(url)).toBe('https://my-bucket.s3.us-east-1.amazonaws.com/p/.ecr-pipeline/uploads/a.json');
    expect(init?.method).toBe('PUT');
    expect(init?.body).toBe('{"a":1}');
    const headers = init?.headers as Record<string, string>;
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'if-none-match': '*',
      'x-amz-content-sha256': createHash('sha256').update('{"a":1}').digest('hex'),
      'x-amz-security-token': 'token',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
  });

  it('turns a 412 into PreconditionFailed at once, without retrying', async () => {
    const fetch = fakeFetch(
      new Response(
        '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        {
          status: 412,
        },
      ),
    );
    const s3 = s3Objects({ credentials, region: 'us-east-1', timeoutMs: 1000, fetch, env: {} });
    await expect(s3.put('b-1', 'k', 'x', { ifNoneMatch: '*' })).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('retries SlowDown and 5xx, then gives up with the last error', async () => {
    const slowDown = () => new Response('<Error><Code>SlowDown</Code></Error>', { status: 503 });
    const fetch = fakeFetch(slowDown(), slowDown(), slowDown());
    const sleep = vi.fn(async () => {});
    const s3 = s3Objects({
      credentials,
      region: 'us-east-1',
      timeoutMs: 1000,
      fetch,
      env: {},
      sleep,
      attempts: 3,
    });
    await expect(s3.delete('b-1', 'k')).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(fetch.mock.calls[0]?.[1]?.method).toBe('DELETE');
  });

  it('names an error without an XML body by its status', async () => {
    const fetch = fakeFetch(new Response('', { status: 403 }));
    const s3 = s3Objects({ credentials, region: 'us-east-1', timeoutMs: 1000, fetch, env: {} });
    await expect(s3.delete('b-1', 'k')).rejects.toMatchObject({
      name: 'Http403',
      $metadata: { httpStatusCode: 403 },
    });
  });
});
