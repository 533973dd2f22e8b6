/**
 * Registry passwords that say whose they are: GetAuthorizationToken answers `AWS:<password>` where
 * the password is the caller's access key id and an HMAC of it with a key of this local cloud, so the
 * registry front knows which principal pushes or pulls, as ECR knows from its token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class RegistryTokens {
  private readonly key = randomBytes(32);

  /** The password for `accessKeyId`. */
  password(accessKeyId: string): string {
    return `${Buffer.from(accessKeyId).toString('base64url')}.${this.mac(accessKeyId)}`;
  }

  /** GetAuthorizationToken's `authorizationToken` for `accessKeyId`: base64 of `AWS:<password>`. */
  token(accessKeyId: string): string {
    return Buffer.from(`AWS:${this.password(accessKeyId)}`).toString('base64');
  }

  /** The access key id a password was issued to, or undefined when this cloud did not issue it. */
  accessKeyOf(password: string): string | undefined {
    const [encoded = '', mac = ''] = password.split('.', 2);
    const accessKeyId = Buffer.from(encoded, 'base64url').toString('utf8');
    const expected = Buffer.from(this.mac(accessKeyId));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? accessKeyId : undefined;
  }

  private mac(accessKeyId: string): string {
    return createHmac('sha256', this.key).update(accessKeyId).digest('base64url');
  }
}
