/**
 * ECR managed signing, as the local cloud plays it (moto answers its calls with 500): the registry's
 * signing configuration (Get/PutSigningConfiguration) kept here, and each image pushed to a
 * repository a rule's WILDCARD_MATCH filter matches signed on push with the local cloud's own key,
 * before the push is answered. The signature is a sigstore (cosign) one under the `sha256-<hex>.sig`
 * tag (shared/oci/sigstore.ts), not AWS Signer's Notation signature: a format checkable here with
 * the public key alone. DescribeImageSigningStatus answers from what was signed.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageSigningStatus, SigningRule } from '@aws-sdk/client-ecr';
import type { RegistryClient } from '../../shared/oci/registry.ts';
import { attachSignature, generateSigningKeys, type SigningKeys } from '../../shared/oci/sigstore.ts';

/** Where the local cloud keeps its key pair (reused by every start). */
export const SIGNING_KEY = 'signing-key.pem';
export const SIGNING_PUBLIC_KEY = 'signing-key.pub';

/** The key pair under `dir`, made at the first start and read at every later one. */
export function loadOrCreateKeys(dir: string): SigningKeys & { created: boolean } {
  const privatePath = join(dir, SIGNING_KEY);
  const publicPath = join(dir, SIGNING_PUBLIC_KEY);
  if (existsSync(privatePath) && existsSync(publicPath)) {
    return {
      privateKey: readFileSync(privatePath, 'utf8'),
      publicKey: readFileSync(publicPath, 'utf8'),
      created: false,
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = generateSigningKeys();
  writeFileSync(privatePath, keys.privateKey, { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  writeFileSync(publicPath, keys.publicKey);
  return { ...keys, created: true };
}

/** An error answered as ECR answers it (`__type`, HTTP 400). */
export class SigningError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

/** Whether a WILDCARD_MATCH filter (`*` any sequence) matches a repository name. */
export function wildcardMatches(filter: string, name: string): boolean {
  const pattern = filter
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(name);
}

export interface LocalSigningDeps {
  /** The registry storage (the backend, no login): where ECR keeps signatures. */
  registry: RegistryClient;
  /** The registry host users pull from: the signed identity. */
  host: string;
  keys: SigningKeys;
  log: (line: string) => void;
}

/** The local registry's managed signing. */
export class LocalSigning {
  private rules: SigningRule[] | undefined;
  private readonly statuses = new Map<string, ImageSigningStatus[]>();

  constructor(private readonly deps: LocalSigningDeps) {}

  /** Answers the signing calls moto does not implement; undefined for every other call. */
  serve(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'GetSigningConfiguration':
        if (!this.rules)
          throw new SigningError(
            'SigningConfigurationNotFoundException',
            'The registry has no signing configuration.',
          );
        return { registryId: '123456789012', signingConfiguration: { rules: this.rules } };
      case 'PutSigningConfiguration': {
        const configuration = input.signingConfiguration as { rules?: SigningRule[] } | undefined;
        this.rules = configuration?.rules ?? [];
        return { signingConfiguration: { rules: this.rules } };
      }
      case 'DescribeImageSigningStatus': {
        const repository = String(input.repositoryName ?? '');
        const digest = String((input.imageId as { imageDigest?: unknown } | undefined)?.imageDigest ?? '');
        return {
          repositoryName: repository,
          imageId: { imageDigest: digest },
          registryId: '123456789012',
          signingStatuses: this.statuses.get(`${repository}@${digest}`) ?? [],
        };
      }
      default:
        return undefined;
    }
  }

  /** The profiles whose rules sign pushes to `repository` (a rule without filters signs every one). */
  profilesFor(repository: string): string[] {
    return (this.rules ?? [])
      .filter((rule) =>
        (rule.repositoryFilters ?? []).length === 0
          ? true
          : (rule.repositoryFilters ?? []).some((f) => wildcardMatches(f.filter ?? '', repository)),
      )
      .map((rule) => rule.signingProfileArn ?? '');
  }

  /** An image was pushed: sign it as each matching rule would, and remember how that went. */
  async pushed(repository: string, digest: string): Promise<void> {
    const profiles = this.profilesFor(repository);
    if (profiles.length === 0) return;
    const key = `${repository}@${digest}`;
    if (this.statuses.get(key)?.every((s) => s.status === 'COMPLETE')) return;
    this.statuses.set(
      key,
      profiles.map((signingProfileArn) => ({ signingProfileArn, status: 'IN_PROGRESS' })),
    );
    try {
      await attachSignature(this.deps.registry, {
        host: this.deps.host,
        repository,
        digest,
        privateKey: this.deps.keys.privateKey,
      });
      this.statuses.set(
        key,
        profiles.map((signingProfileArn) => ({ signingProfileArn, status: 'COMPLETE' })),
      );
      this.deps.log(`registry: signed ${repository}@${digest} (managed signing, local key)`);
    } catch (error) {
      const failureReason = String(error).slice(0, 300);
      this.statuses.set(
        key,
        profiles.map((signingProfileArn) => ({
          signingProfileArn,
          status: 'FAILED',
          failureCode: 'SigningFailed',
          failureReason,
        })),
      );
      this.deps.log(`registry: signing ${repository}@${digest} failed: ${failureReason}`);
    }
  }
}
