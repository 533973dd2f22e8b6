/**
 * STS AssumeRole of a role the stack defines, answered by the local IAM (moto's STS would hand out
 * credentials this IAM does not know, which it would take for the console's): the caller's
 * identity policies must allow `sts:AssumeRole` on the role (the gateway checks that first, as for
 * any request) and the role's trust policy must name the caller; the credentials it issues carry
 * the session policy, which then narrows every request made with them (evaluate.ts).
 */
import type { Principal } from './credentials.ts';
import { evaluate, type NamedPolicy, type PolicyDocument, statementsOf } from './evaluate.ts';
import type { RoleModel } from './model.ts';

/** AWS's limit on a session policy's plain text. */
export const MAX_SESSION_POLICY_CHARS = 2048;

export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  /** The session policy's JSON, if given. */
  policy?: string;
  durationSeconds: number;
}

/** AssumeRole refused: STS's error code and message. */
export class AssumeRoleError extends Error {
  constructor(
    readonly code: 'AccessDenied' | 'MalformedPolicyDocument' | 'PackedPolicyTooLarge' | 'ValidationError',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** The AssumeRole parameters of a query-protocol form body. */
export function assumeRoleInput(form: URLSearchParams): AssumeRoleInput {
  const policy = form.get('Policy');
  return {
    roleArn: form.get('RoleArn') ?? '',
    sessionName: form.get('RoleSessionName') ?? '',
    ...(policy !== null ? { policy } : {}),
    durationSeconds: Number(form.get('DurationSeconds') ?? 3600),
  };
}

/** The session policy of a request, checked as STS checks it. */
export function parseSessionPolicy(role: RoleModel, text: string | undefined): NamedPolicy | undefined {
  if (text === undefined) return undefined;
  if (text.length > MAX_SESSION_POLICY_CHARS)
    throw new AssumeRoleError(
      'PackedPolicyTooLarge',
      'Packed policy consumes more than 100% of allotted space',
    );
  let document: PolicyDocument;
  try {
    document = JSON.parse(text) as PolicyDocument;
    if (document === null || typeof document !== 'object' || document.Statement === undefined)
      throw new Error('no Statement');
    statementsOf(document);
  } catch (error) {
    throw new AssumeRoleError(
      'MalformedPolicyDocument',
      `The session policy is not valid JSON IAM policy: ${error}`,
    );
  }
  return { name: `${role.logicalId}/session-policy`, kind: 'identity', document };
}

/**
 * Whether the role's trust policy lets `caller` assume it: the trust policy is evaluated as the
 * role's resource policy, with the caller's role ARN as `aws:PrincipalArn`.
 */
export function trusts(role: RoleModel, caller: Principal): boolean {
  if (!role.trust) return false;
  const trust: NamedPolicy = { name: `${role.logicalId}/trust`, kind: 'resource', document: role.trust };
  return evaluate(
    {
      principalArn: caller.role.arn,
      action: 'sts:AssumeRole',
      resource: role.arn,
      context: { 'aws:principalarn': caller.role.arn },
    },
    [trust],
  ).allowed;
}

/** Checks an AssumeRole of `role` by `caller` (its identity policies were checked already). */
export function checkAssumeRole(
  role: RoleModel,
  caller: Principal,
  input: AssumeRoleInput,
): NamedPolicy | undefined {
  if (!/^[\w+=,.@-]{2,64}$/.test(input.sessionName))
    throw new AssumeRoleError('ValidationError', `RoleSessionName "${input.sessionName}" is not valid`);
  if (
    !Number.isInteger(input.durationSeconds) ||
    input.durationSeconds < 900 ||
    input.durationSeconds > 43200
  )
    throw new AssumeRoleError('ValidationError', 'DurationSeconds must be from 900 to 43200');
  if (!trusts(role, caller)) {
    throw new AssumeRoleError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`,
    );
  }
  return parseSessionPolicy(role, input.policy);
}

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** STS's AssumeRoleResponse for issued credentials. */
export function assumeRoleResponse(principal: Principal, durationSeconds: number, now: Date): string {
  const expiration = new Date(now.getTime() + durationSeconds * 1000).toISOString();
  return [
    '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>',
    `<AssumedRoleUser><Arn>${xmlEscape(principal.arn)}</Arn>`,
    `<AssumedRoleId>AROA${principal.accessKeyId.slice(4)}:${xmlEscape(principal.session)}</AssumedRoleId></AssumedRoleUser>`,
    `<Credentials><AccessKeyId>${principal.accessKeyId}</AccessKeyId>`,
    `<SecretAccessKey>${xmlEscape(principal.secretAccessKey)}</SecretAccessKey>`,
    `<SessionToken>${xmlEscape(principal.sessionToken)}</SessionToken>`,
    `<Expiration>${expiration}</Expiration></Credentials>`,
    `</AssumeRoleResult><ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
  ].join('');
}

/** STS's error response. */
export function assumeRoleErrorResponse(error: AssumeRoleError): { status: number; body: string } {
  return {
    status: error.code === 'AccessDenied' ? 403 : 400,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`,
  };
}
