/**
 * Credentials the local cloud issues, as STS would when Lambda or CodeBuild assumes a role: one
 * access key per role and session (a function, the build project), and the principal it stands for.
 * The gateway identifies a caller by the access key id of its SigV4 `Credential=`; signatures are
 * not verified (moto does not check them either, and every caller is a process of this machine).
 * Any other access key (`test`, the local default) is the person at the console: an administrator.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NamedPolicy } from './evaluate.ts';
import type { RoleModel } from './model.ts';

export interface Principal {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  role: RoleModel;
  session: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session>`, as AWS names it in errors. */
  arn: string;
  /** The policy given to AssumeRole, if any: it narrows what the role's policies allow. */
  sessionPolicy?: NamedPolicy;
}

/** The credentials of the local cloud's roles, by access key id. */
export class LocalSts {
  private readonly byKey = new Map<string, Principal>();
  private readonly secret = randomBytes(16).toString('hex');

  constructor(private readonly account: string) {}

  /** The credentials of `role` for `session` (the same ones each time it is asked). */
  issue(role: RoleModel, session: string): Principal {
    const digest = createHash('sha256').update(`${role.arn}\n${session}`).digest('hex').toUpperCase();
    const accessKeyId = `ASIA${digest.slice(0, 16)}`;
    const existing = this.byKey.get(accessKeyId);
    if (existing) return existing;
    const principal: Principal = {
      accessKeyId,
      secretAccessKey: createHash('sha256')
        .update(`${this.secret}${accessKeyId}`)
        .digest('base64')
        .slice(0, 40),
      sessionToken: `local-session-${accessKeyId}`,
      role,
      session,
      arn: `arn:aws:sts::${this.account}:assumed-role/${role.name}/${session}`,
    };
    this.byKey.set(accessKeyId, principal);
    return principal;
  }

  /**
   * New credentials of `role` for an AssumeRole call, each call its own (as STS gives), limited by
   * the session policy when one is given.
   */
  assume(role: RoleModel, session: string, sessionPolicy: NamedPolicy | undefined): Principal {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const principal: Principal = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64').slice(0, 40),
      sessionToken: `local-session-${accessKeyId}`,
      role,
      session,
      arn: `arn:aws:sts::${this.account}:assumed-role/${role.name}/${session}`,
      ...(sessionPolicy ? { sessionPolicy } : {}),
    };
    this.byKey.set(accessKeyId, principal);
    return principal;
  }

  /** The role principal of an access key id; undefined for the console's (administrator) credentials. */
  principal(accessKeyId: string | undefined): Principal | undefined {
    return accessKeyId ? this.byKey.get(accessKeyId) : undefined;
  }

  /** The environment variables a process of this principal gets (Lambda and CodeBuild set these). */
  static env(principal: Principal): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: principal.accessKeyId,
      AWS_SECRET_ACCESS_KEY: principal.secretAccessKey,
      AWS_SESSION_TOKEN: principal.sessionToken,
    };
  }
}
