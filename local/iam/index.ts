/**
 * The local cloud's IAM: credentials for the stack's roles (credentials.ts), the registry tokens that
 * name their holder (registry-tokens.ts), and the authorization of every request of a role at the
 * gateway and the registry front (authorizer.ts), recorded for the usage report (usage.ts).
 * Requests with any other credentials are the console's: an administrator's, allowed everything.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_CREDENTIALS } from '../../shared/local-cloud.ts';
import {
  AssumeRoleError,
  assumeRoleErrorResponse,
  assumeRoleInput,
  assumeRoleResponse,
  checkAssumeRole,
  parseSessionPolicy,
} from './assume-role.ts';
import { Authorizer, type Denial } from './authorizer.ts';
import { LocalSts, type Principal } from './credentials.ts';
import { emptyIamModel, type IamModel, type RoleModel } from './model.ts';
import { registryActions } from './registry-request.ts';
import { RegistryTokens } from './registry-tokens.ts';
import { type ApiRequest, type ArnScope, accessKeyIdOf } from './request.ts';
import { apiActions } from './request-rest.ts';
import { type SimulationResult, simulationInput, simulationResponse } from './simulate.ts';
import { formatUsage, type RoleUsage, UsageLog } from './usage.ts';

const CONSOLE_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;

/** ECR operations that change a repository's tags (or its existence). */
const TAG_CHANGES = new Set(['TagResource', 'UntagResource', 'CreateRepository', 'DeleteRepository']);

export type { Denial } from './authorizer.ts';
export type { Principal } from './credentials.ts';
export { LocalSts } from './credentials.ts';
export type { IamModel } from './model.ts';
export type { RoleUsage } from './usage.ts';

export interface LocalIamOptions {
  scope: ArnScope;
  /** Authorize the roles' requests (default); false: let everything through unexamined (`--iam off`). */
  enforce: boolean;
  resourceTags: (arn: string) => Promise<Record<string, string> | undefined>;
}

/** The registry caller a password stands for: a role's principal, or the console (administrator). */
export type RegistryCaller = { kind: 'role'; principal: Principal } | { kind: 'console' };

export class LocalIam {
  readonly sts: LocalSts;
  readonly tokens = new RegistryTokens();
  readonly usage = new UsageLog();
  readonly authorizer: Authorizer;
  private model: IamModel = emptyIamModel();
  /**
   * Repository tags by ARN, read from the local ECR once and dropped whenever an ECR call through
   * the gateway changes them (every tag change goes through it: the stack's, the console's).
   */
  private readonly tags = new Map<string, Promise<Record<string, string> | undefined>>();

  constructor(private readonly options: LocalIamOptions) {
    this.sts = new LocalSts(options.scope.account);
    this.authorizer = new Authorizer({
      ...options,
      model: () => this.model,
      usage: this.usage,
      resourceTags: (arn) => this.resourceTags(arn),
    });
  }

  private resourceTags(arn: string): Promise<Record<string, string> | undefined> {
    const known = this.tags.get(arn);
    if (known) return known;
    const reading = this.options.resourceTags(arn);
    this.tags.set(arn, reading);
    reading.catch(() => this.tags.delete(arn));
    return reading;
  }

  /** An ECR call that moto answered: forgets the tags of the repository it may have changed. */
  ecrAnswered(operation: string, input: Record<string, unknown>): void {
    if (!TAG_CHANGES.has(operation)) return;
    const { region, account } = this.options.scope;
    const arn =
      typeof input.resourceArn === 'string'
        ? input.resourceArn
        : `arn:aws:ecr:${region}:${account}:repository/${String(input.repositoryName)}`;
    this.tags.delete(arn);
  }

  /** Takes the deployed stack's IAM; until then every caller is the console. */
  useModel(model: IamModel): void {
    this.model = model;
  }

  /** The credentials of the role of a function (by key) or a project (by name), if it has one. */
  credentialsOf(kind: 'function' | 'project', name: string, session: string): Principal | undefined {
    const roles = kind === 'function' ? this.model.functionRoles : this.model.projectRoles;
    const role = this.role(roles[name]);
    return role ? this.sts.issue(role, session) : undefined;
  }

  get enforcing(): boolean {
    return this.options.enforce;
  }

  /** The role of a logical id or ARN, if the template has it. */
  role(arnOrId: string | undefined): RoleModel | undefined {
    return this.model.roles.find((r) => r.arn === arnOrId || r.logicalId === arnOrId);
  }

  /** A gateway request: its denial, or undefined when allowed (or made with console credentials). */
  async authorize(request: ApiRequest): Promise<Denial | undefined> {
    if (!this.options.enforce) return undefined;
    const principal = this.sts.principal(accessKeyIdOf(request));
    if (!principal) return undefined;
    return this.authorizer.authorize(principal, apiActions(request, this.options.scope));
  }

  /**
   * What Lambda does with a function's execution role outside the function's code: sending a failed
   * asynchronous invocation to its on-failure destination (`sqs:SendMessage` on a queue,
   * `sns:Publish` on a topic). The denial, or undefined when allowed or not enforced.
   */
  async authorizeDestination(
    functionKey: string,
    session: string,
    destinationArn: string,
  ): Promise<Denial | undefined> {
    if (!this.options.enforce) return undefined;
    const principal = this.credentialsOf('function', functionKey, session);
    if (!principal) return undefined;
    const action = destinationArn.startsWith('arn:aws:sns:') ? 'sns:Publish' : 'sqs:SendMessage';
    return this.authorizer.authorize(principal, [{ action, resource: destinationArn, context: {} }]);
  }

  /**
   * STS AssumeRole of a role the template defines (undefined for any other role: moto answers). The
   * gateway has checked the caller's identity policies; here the role's trust policy (enforcing),
   * then credentials that carry the session policy.
   */
  assumeRole(
    accessKeyId: string | undefined,
    form: URLSearchParams,
  ): { status: number; body: string } | undefined {
    const input = assumeRoleInput(form);
    const role = this.role(input.roleArn);
    if (!role) return undefined;
    try {
      const caller = this.sts.principal(accessKeyId);
      let sessionPolicy = parseSessionPolicy(role, input.policy);
      if (this.options.enforce) {
        if (!caller)
          throw new AssumeRoleError('AccessDenied', `the console's credentials may not assume ${role.arn}`);
        sessionPolicy = checkAssumeRole(role, caller, input);
      }
      const principal = this.sts.assume(role, input.sessionName, sessionPolicy);
      return { status: 200, body: assumeRoleResponse(principal, input.durationSeconds, new Date()) };
    } catch (error) {
      if (error instanceof AssumeRoleError) return assumeRoleErrorResponse(error);
      throw error;
    }
  }

  /**
   * IAM SimulatePrincipalPolicy of a role the template defines (undefined for any other role): each
   * action on each resource decided as a request of the role would be, with the given context keys.
   */
  async simulatePrincipalPolicy(
    form: URLSearchParams,
  ): Promise<{ status: number; body: string } | undefined> {
    const input = simulationInput(form);
    const role = this.role(input.policySourceArn);
    if (!role) return undefined;
    const principal: Principal = {
      accessKeyId: '',
      secretAccessKey: '',
      sessionToken: '',
      role,
      session: 'simulation',
      arn: role.arn,
    };
    const results: SimulationResult[] = [];
    for (const action of input.actions) {
      for (const resource of input.resources) {
        const decision = await this.authorizer.decide(principal, action, resource, input.context);
        results.push({ action, resource, decision });
      }
    }
    return { status: 200, body: simulationResponse(results) };
  }

  /** GetAuthorizationToken's answer, its token replaced by one naming the caller. */
  registryToken(output: unknown, accessKeyId: string | undefined): unknown {
    const answer = output as { authorizationData?: Array<{ authorizationToken?: string }> };
    for (const data of answer.authorizationData ?? [])
      data.authorizationToken = this.tokens.token(accessKeyId ?? '');
    return answer;
  }

  /** Who holds a registry password this cloud issued (undefined: not one of ours). */
  registryCaller(password: string): RegistryCaller | undefined {
    const accessKeyId = this.tokens.accessKeyOf(password);
    if (accessKeyId === undefined) return undefined;
    const principal = this.sts.principal(accessKeyId);
    return principal ? { kind: 'role', principal } : { kind: 'console' };
  }

  /** A registry request of a caller: its denial, or undefined. */
  async authorizeRegistry(caller: RegistryCaller, method: string, url: string): Promise<Denial | undefined> {
    if (caller.kind === 'console' || !this.options.enforce) return undefined;
    return this.authorizer.authorize(caller.principal, registryActions(method, url, this.options.scope));
  }

  /** ECR `actions` on repository `name` for a registry caller: the denial, or undefined. */
  async authorizeRepositoryActions(
    caller: RegistryCaller,
    actions: readonly string[],
    name: string,
  ): Promise<Denial | undefined> {
    if (caller.kind === 'console' || !this.options.enforce) return undefined;
    const { region, account } = this.options.scope;
    const resource = `arn:aws:ecr:${region}:${account}:repository/${name}`;
    return this.authorizer.authorize(
      caller.principal,
      actions.map((action) => ({ action, resource, context: {} })),
    );
  }

  /** A registry password of the console's credentials (the local cloud's own pulls: scans). */
  consolePassword(): string {
    return this.tokens.password(CONSOLE_ACCESS_KEY_ID);
  }

  /** The usage report of this run so far. */
  report(): RoleUsage[] {
    return this.usage.report(this.model);
  }

  /** Writes the report as `iam-report.json` and `iam-report.txt` into `dir`; returns the text. */
  writeReport(dir: string): string {
    const report = this.report();
    const text = `${formatUsage(report)}\n`;
    writeFileSync(join(dir, 'iam-report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(dir, 'iam-report.txt'), text);
    return text;
  }
}
