/**
 * Sigstore (cosign) signatures of images, as the local cloud makes them in place of ECR managed
 * signing: an ECDSA P-256 key, a "simple signing" payload naming the image's digest and reference,
 * stored under the cosign attachment tag `sha256-<hex>.sig` of the image's repository (an OCI
 * manifest whose one layer is the payload, the signature in its annotation). containers/image reads
 * exactly this (registries.d `use-sigstore-attachments: true`), so `skopeo` and `podman` verify it
 * with a policy.json `sigstoreSigned` requirement; `verifySignature` checks the same here.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { type Descriptor, isDigest, OCI_MANIFEST, type RegistryClient, RegistryError } from './registry.ts';

/** The payload and signature media types and annotation containers/image and cosign use. */
export const SIGSTORE_PAYLOAD = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const EMPTY_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** A key pair as PEM text (PKCS#8 private key, SPKI public key). */
export interface SigningKeys {
  privateKey: string;
  publicKey: string;
}

/** A new ECDSA P-256 key pair. */
export function generateSigningKeys(): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The attachment tag of a digest: `sha256:<hex>` -> `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  if (!isDigest(digest)) throw new RegistryError(`"${digest}" is not a sha256 digest`);
  return `${digest.replace(':', '-')}.sig`;
}

/** The simple signing payload of `reference` (host/repository) at `digest`. */
export function signingPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** Signs `repository@digest` and stores the signature under its attachment tag; returns its digest. */
export async function attachSignature(
  registry: RegistryClient,
  input: { host: string; repository: string; digest: string; privateKey: string },
): Promise<string> {
  const payload = signingPayload(`${input.host}/${input.repository}`, input.digest);
  const signature = sign('sha256', payload, createPrivateKey(input.privateKey)).toString('base64');
  const layer = await registry.putBlob(input.repository, SIGSTORE_PAYLOAD, payload);
  const config = await registry.putBlob(input.repository, EMPTY_CONFIG, Buffer.from('{}'));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...layer, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signature } }],
    }),
  );
  const stored = await registry.putManifest(
    input.repository,
    signatureTag(input.digest),
    OCI_MANIFEST,
    manifest,
  );
  return stored.digest;
}

/** What a signature check found. */
export type SignatureCheck =
  | { kind: 'signed'; signatures: number }
  | { kind: 'unsigned' }
  | { kind: 'invalid'; reason: string };

/**
 * Checks the signatures attached to `repository@digest` with `publicKey`: signed when one of them
 * is a valid signature of a payload naming this digest; invalid, with the reason, when signatures are
 * there and none is.
 */
export async function verifySignature(
  registry: RegistryClient,
  repository: string,
  digest: string,
  publicKey: string,
): Promise<SignatureCheck> {
  const stored = await registry.getManifest(repository, signatureTag(digest));
  if (!stored) return { kind: 'unsigned' };
  const layers = (JSON.parse(stored.bytes.toString('utf8')) as { layers?: Descriptor[] }).layers ?? [];
  const key = createPublicKey(publicKey);
  const reasons: string[] = [];
  let valid = 0;
  for (const layer of layers) {
    const signature = layer.annotations?.[SIGSTORE_SIGNATURE_ANNOTATION];
    if (layer.mediaType !== SIGSTORE_PAYLOAD || !signature) continue;
    const payload = await registry.getBlob(repository, layer.digest);
    if (!verify('sha256', payload, key, Buffer.from(signature, 'base64'))) {
      reasons.push('a signature that the key did not make');
      continue;
    }
    const named = payloadDigest(payload);
    if (named !== digest) {
      reasons.push(`a signature of another image (${named ?? 'no digest'})`);
      continue;
    }
    valid++;
  }
  if (valid > 0) return { kind: 'signed', signatures: valid };
  return {
    kind: 'invalid',
    reason: reasons.length > 0 ? reasons.join('; ') : 'a signature tag with no signature in it',
  };
}

function payloadDigest(payload: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as {
      critical?: { image?: { 'docker-manifest-digest'?: unknown } };
    };
    const digest = parsed.critical?.image?.['docker-manifest-digest'];
    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}
