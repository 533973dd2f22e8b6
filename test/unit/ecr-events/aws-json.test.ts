import { describe, expect, it, vi } from 'vitest';
import { AwsApiError, awsCaller, endpointFor, SERVICES } from '../../../functions/shared/aws-json.ts';

const credentials = async () => ({
  accessKeyId: 'AKIDTEST',
  secretAccessKey: 'secret',
  sessionToken: 'token',
});
const base = { credentials, region: 'us-west-2', timeoutMs: 1000, env: {}, sleep: async () => {} };

describe('signed AWS JSON caller', () => {
  it('signs a JSON 1.1 call with SigV4 for the service and region, with the session token', async () => {
    const fetch = vi.fn(async (_url: string | URL | Request, _init?: RequestInit) =>
      Response.json({ Parameter: { Value: 'v' } }),
    );
    const out = await awsCaller(SERVICES.ssm, { ...base, fetch }).json('GetParameter', {
      Name: '/a',
      WithDecryption: true,
    });
    expect(out).toEqual({ Parameter: { Value: 'v' } });
    const [url, init] = fetch.mock.calls[0] as [URL, RequestInit];
    expect(String(url)).toBe('https://ssm.us-west-2.amazonaws.com/');
    const headers = new Headers(init.headers);
    expect(headers.get('x-amz-target')).toBe('AmazonSSM.GetParameter');
    expect(headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(headers.get('x-amz-security-token')).toBe('token');
    expect(headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-west-2\/ssm\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends REST GETs with their query string', async () => {
    const fetch = vi.fn(async (_url: string | URL | Request, _init?: RequestInit) =>
      Response.json({ Functions: [] }),
    );
    await awsCaller(SERVICES.lambda, { ...base, fetch }).get('/2015-03-31/functions/', {
      Marker: 'm 1',
      MaxItems: '50',
      Skip: undefined,
    });
    expect(String(fetch.mock.calls[0]?.[0])).toBe(
      'https://lambda.us-west-2.amazonaws.com/2015-03-31/functions/?Marker=m+1&MaxItems=50',
    );
  });

  it('names errors as the service does, from the body or the header', async () => {
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(
        Response.json({ __type: 'com.amazonaws.ssm#ParameterNotFound', message: 'nope' }, { status: 400 }),
      )
      .mockResolvedValueOnce(
        Response.json(
          { Type: 'User', Message: 'Function not found' },
          {
            status: 404,
            headers: { 'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/' },
          },
        ),
      );
    const ssmError = await awsCaller(SERVICES.ssm, { ...base, fetch })
      .json('GetParameter', {})
      .catch((e) => e);
    expect(ssmError).toBeInstanceOf(AwsApiError);
    expect(ssmError).toMatchObject({
      name: 'ParameterNotFound',
      message: 'nope',
      $metadata: { httpStatusCode: 400 },
    });
    const lambdaError = await awsCaller(SERVICES.lambda, { ...base, fetch })
      .get('/x')
      .catch((e) => e);
    expect(lambdaError).toMatchObject({ name: 'ResourceNotFoundException', message: 'Function not found' });
  });

  it('retries throttling a bounded number of times', async () => {
    const fetch = vi.fn(async () =>
      Response.json({ __type: 'ThrottlingException', message: 'Rate exceeded' }, { status: 400 }),
    );
    await expect(
      awsCaller(SERVICES.ecs, { ...base, fetch, attempts: 3 }).json('ListTaskDefinitions', {}),
    ).rejects.toThrow('Rate exceeded');
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('uses the endpoint variables the SDK uses, per service first', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000', AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:5001' };
    expect(String(endpointFor(SERVICES.ssm, 'us-east-1', env))).toBe('http://127.0.0.1:5001/');
    expect(String(endpointFor(SERVICES.ecs, 'us-east-1', env))).toBe('http://127.0.0.1:5000/');
    expect(String(endpointFor(SERVICES.secretsManager, 'cn-north-1', {}))).toBe(
      'https://secretsmanager.cn-north-1.amazonaws.com.cn/',
    );
  });
});
