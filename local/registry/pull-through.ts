/**
 * The registry front's pull-through cache rules, as ECR serves them: a request under a rule's prefix
 * (`/v2/docker-hub/library/busybox/...`) goes to that rule's cache (local/pull-through.ts) as the
 * upstream's name, once the local cloud's IAM allows it. Besides the pull itself (BatchGetImage,
 * GetDownloadUrlForLayer...: checked by the front as for any repository), a manifest pull may import
 * the image from the upstream (`ecr:BatchImportUpstreamImage`) and, the first time, create its
 * repository (`ecr:CreateRepository`), with the settings of the rule's creation template (ECR user
 * guide, "IAM permissions required to sync an upstream registry with an Amazon ECR private registry").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CreateRepositoryCommand, type ECRClient } from '@aws-sdk/client-ecr';
import type { RegistryCaller } from '../iam/index.ts';
import { type CacheRule, cacheRoute } from '../pull-through.ts';
import type { RegistryAccess } from './access.ts';
import { RegistryBackend, registryError } from './backend.ts';

/** A rule and the port of its cache. */
export interface CacheRoute extends CacheRule {
  port: number;
}

/** The requests under the rules' prefixes, served by their caches. */
export class PullThroughRoutes {
  private readonly caches: Map<string, { rule: CacheRoute; backend: RegistryBackend }>;

  constructor(
    private readonly deps: {
      rules: readonly CacheRoute[];
      access: RegistryAccess;
      ecr: ECRClient;
      log: (line: string) => void;
    },
  ) {
    this.caches = new Map(
      deps.rules.map((rule) => [rule.prefix, { rule, backend: new RegistryBackend(rule.port, deps.log) }]),
    );
  }

  /** Whether repository `name` is under a rule's prefix (its requests are the cache's). */
  covers(name: string): boolean {
    return cacheRoute(`/v2/${name}/`, [...this.caches.keys()]) !== undefined;
  }

  /**
   * Serves a request on repository `name`, under a rule's prefix, of a caller the front has already
   * authorized for the pull itself.
   */
  async serve(
    caller: RegistryCaller,
    req: IncomingMessage,
    res: ServerResponse,
    target: { name: string; kind: string },
  ): Promise<void> {
    const route = cacheRoute(req.url ?? '/', [...this.caches.keys()]);
    const cache = route && this.caches.get(route.prefix);
    if (!route || !cache) {
      registryError(res, 404, 'NAME_UNKNOWN', `no pull-through cache rule covers ${target.name}`);
      return;
    }
    const pull = req.method === 'GET' || req.method === 'HEAD';
    if (target.kind === 'manifests' && pull) {
      const refused = await this.importOrCreate(caller, target.name, cache.rule);
      if (refused) {
        registryError(res, 403, 'DENIED', refused);
        return;
      }
    }
    req.url = route.url;
    cache.backend.forward(req, res);
  }

  /** Authorizes the import (and, for a repository not there yet, its creation) and creates it. */
  private async importOrCreate(
    caller: RegistryCaller,
    name: string,
    rule: CacheRule,
  ): Promise<string | undefined> {
    const exists = (await this.deps.access.repository(name)) !== undefined;
    const actions = exists
      ? ['ecr:BatchImportUpstreamImage']
      : ['ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'];
    const denial = await this.deps.access.denialOf(caller, actions, name);
    if (denial) return denial.message;
    if (!exists) await this.create(name, rule);
    return undefined;
  }

  private async create(name: string, rule: CacheRule): Promise<void> {
    const { repository } = rule;
    await this.deps.ecr
      .send(
        new CreateRepositoryCommand({
          repositoryName: name,
          imageTagMutability: repository.imageTagMutability,
          encryptionConfiguration: { encryptionType: repository.encryptionType },
          tags: repository.tags,
        }),
      )
      .catch((error: unknown) => {
        // Two first pulls at once: the other one created it.
        if ((error as Error).name !== 'RepositoryAlreadyExistsException') throw error;
      });
    this.deps.log(`registry: pull-through cache ${rule.prefix} created repository ${name}`);
  }
}
