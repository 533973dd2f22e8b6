import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImageSigningStatusCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { localSignature, managedSignature, renderReport, type VerifyReport } from '../../../cli/verify.ts';
import type { RegistryClient } from '../../../shared/oci/registry.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const ecrMock = mockClient(ECRClient);
const ecr = new ECRClient({ region: 'us-east-1' });
const dir = mkdtempSync(join(tmpdir(), 'verify-signature-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('managedSignature (ECR managed signing, on AWS)', () => {
  beforeEach(() => ecrMock.reset());
  const statuses = (signingStatuses: object[]) =>
    ecrMock.on(DescribeImageSigningStatusCommand).resolves({ signingStatuses });

  it('says signed for COMPLETE, naming the profile, asking for the digest', async () => {
    statuses([{ status: 'COMPLETE', signingProfileArn: 'arn:p' }]);
    expect(await managedSignature(ecr)('team/api', DIGEST)).toEqual({
      status: 'signed',
      by: 'ECR managed signing',
      detail: 'arn:p',
    });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImageSigningStatusCommand, {
      repositoryName: 'team/api',
      imageId: { imageDigest: DIGEST },
    });
  });

  it('says failed with the code and reason, in-progress, unsigned, or unreadable', async () => {
    statuses([{ status: 'FAILED', failureCode: 'C', failureReason: 'R' }]);
    expect(await managedSignature(ecr)('r', DIGEST)).toMatchObject({ status: 'failed', detail: 'C: R' });
    statuses([{ status: 'IN_PROGRESS' }]);
    expect(await managedSignature(ecr)('r', DIGEST)).toMatchObject({ status: 'in-progress' });
    statuses([]);
    expect(await managedSignature(ecr)('r', DIGEST)).toMatchObject({ status: 'unsigned' });
    ecrMock
      .on(DescribeImageSigningStatusCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    expect(await managedSignature(ecr)('r', DIGEST)).toMatchObject({
      status: 'unreadable',
      detail: 'DescribeImageSigningStatus: AccessDeniedException',
    });
  });
});

describe('localSignature', () => {
  it('says unreadable, naming the file, without the local public key', async () => {
    const check = localSignature({} as RegistryClient, join(dir, 'missing.pub'));
    expect(await check('r', DIGEST)).toEqual({
      status: 'unreadable',
      by: `local key ${join(dir, 'missing.pub')}`,
      detail: `no public key at ${join(dir, 'missing.pub')}`,
    });
  });
});

describe('renderReport with a signature', () => {
  const report = (signature: VerifyReport['signature'], problems: string[] = []): VerifyReport => ({
    image: `h/r@${DIGEST}`,
    digest: DIGEST,
    scheme: 'tag',
    sboms: [],
    signature,
    problems,
  });

  it('says signed in its last line only when signed', () => {
    const signed = renderReport(report({ status: 'signed', by: 'local key k' }));
    expect(signed).toContain('signature   signed (local key k)\n');
    expect(signed.trim().split('\n').at(-1)).toBe('verified: SBOM, provenance, signed');
    const unsigned = renderReport(report({ status: 'unsigned', by: 'ECR managed signing' }));
    expect(unsigned.trim().split('\n').at(-1)).toBe('verified: SBOM, provenance');
    const bad = renderReport(
      report({ status: 'invalid', by: 'local key k', detail: 'x' }, ['signature: invalid: x']),
    );
    expect(bad).toContain('signature   invalid (local key k): x\n');
    expect(bad.trim().split('\n').at(-1)).toBe('NOT verified');
  });
});
