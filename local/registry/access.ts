/**
 * Who may use the registry and on what: Basic auth `AWS:<password>` with the password ECR's
 * GetAuthorizationToken gives, and repositories that exist in the local ECR. With the local cloud's
 * IAM (local/iam/), the password names its holder, and each request is authorized for that principal
 * on the repository, as ECR authorizes pushes and pulls.
 */
import type { IncomingMessage } from 'node:http';
import {
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import type { Denial, RegistryCaller } from '../iam/index.ts';

/** What the registry asks of the local cloud's IAM. */
export interface RegistryIam {
  /** Who holds a password (undefined: not one the local cloud issued). */
  registryCaller(password: string): RegistryCaller | undefined;
  /** The denial of a registry request of that caller, or undefined. */
  authorizeRegistry(caller: RegistryCaller, method: string, url: string): Promise<Denial | undefined>;
  /** The denial of ECR `actions` on repository `name` for that caller (what a registry request also needs). */
  authorizeRepositoryActions(
    caller: RegistryCaller,
    actions: readonly string[],
    name: string,
  ): Promise<Denial | undefined>;
  /** A password of the console's (administrator) credentials, for the local cloud's own pulls. */
  consolePassword(): string;
}

/** The registry password (read once from ECR) and the repository lookup. */
export class RegistryAccess {
  private expected?: string;

  constructor(
    private readonly ecr: ECRClient,
    private readonly iam?: RegistryIam,
  ) {}

  /** A password of user `AWS` the registry accepts, as GetAuthorizationToken gives it to the console. */
  async password(): Promise<string> {
    if (this.iam) return this.iam.consolePassword();
    if (this.expected === undefined) {
      const answer = await this.ecr.send(new GetAuthorizationTokenCommand({}));
      const token = answer.authorizationData?.[0]?.authorizationToken ?? '';
      this.expected ??= Buffer.from(token, 'base64').toString('utf8').replace(/^AWS:/, '');
    }
    return this.expected;
  }

  /** The caller of a request with Basic auth user AWS and a valid password, else undefined. */
  async caller(req: IncomingMessage): Promise<RegistryCaller | undefined> {
    const header = String(req.headers.authorization ?? '');
    if (!header.startsWith('Basic ')) return undefined;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    if (user !== 'AWS') return undefined;
    const password = rest.join(':');
    if (this.iam) return this.iam.registryCaller(password);
    return password === (await this.password()) ? { kind: 'console' } : undefined;
  }

  /** The denial of a request of this caller (IAM), or undefined. */
  async denial(caller: RegistryCaller, req: IncomingMessage): Promise<Denial | undefined> {
    return this.iam?.authorizeRegistry(caller, req.method ?? 'GET', req.url ?? '/');
  }

  /** The denial of ECR `actions` on repository `name` for this caller (IAM), or undefined. */
  async denialOf(
    caller: RegistryCaller,
    actions: readonly string[],
    name: string,
  ): Promise<Denial | undefined> {
    return this.iam?.authorizeRepositoryActions(caller, actions, name);
  }

  /** The repository in the local ECR, or undefined when there is none of that name. */
  async repository(name: string): Promise<Repository | undefined> {
    try {
      const answer = await this.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
      return answer.repositories?.[0];
    } catch (error) {
      if ((error as Error).name === 'RepositoryNotFoundException') return undefined;
      throw error;
    }
  }
}
