/**
 * Who may use the registry and on what: Basic auth `AWS:<password>` with the password ECR's
 * GetAuthorizationToken gives, and repositories that exist in the local ECR.
 */
import type { IncomingMessage } from 'node:http';
import {
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  type Repository,
} from '@aws-sdk/client-ecr';

/** The registry password (read once from ECR) and the repository lookup. */
export class RegistryAccess {
  private expected?: string;

  constructor(private readonly ecr: ECRClient) {}

  /** The password of user `AWS`, as GetAuthorizationToken gives it. */
  async password(): Promise<string> {
    if (this.expected === undefined) {
      const answer = await this.ecr.send(new GetAuthorizationTokenCommand({}));
      const token = answer.authorizationData?.[0]?.authorizationToken ?? '';
      this.expected ??= Buffer.from(token, 'base64').toString('utf8').replace(/^AWS:/, '');
    }
    return this.expected;
  }

  /** True when the request carries Basic auth with user AWS and the password. */
  async authorized(req: IncomingMessage): Promise<boolean> {
    const header = String(req.headers.authorization ?? '');
    if (!header.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    const expected = await this.password();
    return user === 'AWS' && rest.join(':') === expected;
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
