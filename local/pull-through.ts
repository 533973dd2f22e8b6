/**
 * An ECR pull-through cache rule, run locally: a registry process plays the upstream (it holds
 * `library/busybox`, Docker Hub's name for busybox) and a distribution registry in proxy mode
 * (`proxy: remoteurl:`) is its pull-through cache. A registry host sends `/v2/<prefix>/<name>/...`
 * to the cache as `/v2/<name>/...`: the rule's prefix names the upstream, the rest is the upstream's
 * own name. Used by the local cloud's registry front (registry/pull-through.ts) for the rules of the
 * stack (`pullThroughCache`), and by the build harness of local/mirror-build.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBaseImage } from './base-image.ts';
import { freePort, type Service, startRegistry } from './processes.ts';
import type { Template } from './template.ts';

/** A rule's upstream and cache, both running. */
export interface PullThroughCache {
  /** The rule's repository prefix (`docker-hub`). */
  prefix: string;
  /** The port of the cache (the proxy-mode registry). */
  port: number;
  /** The cache's storage folder. */
  storage: string;
  /** The requests the upstream served, as `METHOD /v2/...` lines, oldest first. */
  upstreamRequests(): string[];
  stop(): Promise<void>;
}

/** Starts the upstream of rule `prefix` (holding `library/busybox:latest`) and its cache, under `dir`. */
export async function startPullThroughCache(dir: string, prefix: string): Promise<PullThroughCache> {
  const services: Service[] = [];
  const stop = async () => {
    for (const service of services.reverse()) await service.stop();
  };
  try {
    const upstreamPort = await freePort();
    const upstream = await startRegistry(upstreamPort, join(dir, 'upstream'), { accessLog: true });
    services.push(upstream);
    await ensureBaseImage(`127.0.0.1:${upstreamPort}`);
    const port = await freePort();
    const cache = await startRegistry(port, join(dir, 'cache'), {
      proxyOf: `http://127.0.0.1:${upstreamPort}`,
    });
    services.push(cache);
    return {
      prefix,
      port,
      storage: cache.storage,
      upstreamRequests: () => requestLines(readFileSync(join(dir, 'upstream', 'registry.log'), 'utf8')),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The cache a registry path goes to and the path the cache is asked for, or undefined when the path
 * is under no rule's prefix: `/v2/docker-hub/library/busybox/manifests/latest` goes to `docker-hub`
 * as `/v2/library/busybox/manifests/latest`.
 */
export function cacheRoute(
  url: string,
  prefixes: readonly string[],
): { prefix: string; url: string } | undefined {
  for (const prefix of prefixes) {
    const under = `/v2/${prefix}/`;
    if (url.startsWith(under)) return { prefix, url: `/v2/${url.slice(under.length)}` };
  }
  return undefined;
}

/** `GET /v2/library/busybox/blobs/sha256:...` for each request line of a registry's access log. */
export function requestLines(log: string): string[] {
  return [...log.matchAll(/"(GET|HEAD|PUT|POST|PATCH|DELETE) (\/v2\/[^ "]*) HTTP\/[\d.]+"/g)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
}

/** The settings ECR gives a repository it creates for a rule (its creation template's). */
export interface CacheRepositorySettings {
  imageTagMutability: 'MUTABLE' | 'IMMUTABLE';
  encryptionType: 'AES256' | 'KMS';
  tags: Array<{ Key: string; Value: string }>;
}

/** A pull-through cache rule of a template and the settings of the repositories ECR creates for it. */
export interface CacheRule {
  prefix: string;
  repository: CacheRepositorySettings;
}

/**
 * The template's pull-through cache rules (`AWS::ECR::PullThroughCacheRule`), each with the settings
 * of the creation template (`AppliedFor: PULL_THROUGH_CACHE`) whose prefix is the rule's, else ECR's
 * defaults (MUTABLE, AES256, no tags).
 */
export function cacheRulesOf(template: Template): CacheRule[] {
  const resources = Object.values(template.Resources);
  const creationTemplates = resources.filter(
    (r) =>
      r.Type === 'AWS::ECR::RepositoryCreationTemplate' &&
      (r.Properties?.AppliedFor as unknown[] | undefined)?.includes('PULL_THROUGH_CACHE') === true,
  );
  return resources
    .filter((r) => r.Type === 'AWS::ECR::PullThroughCacheRule')
    .map((r) => String(r.Properties?.EcrRepositoryPrefix ?? ''))
    .filter((prefix) => prefix !== '')
    .map((prefix) => {
      const settings = creationTemplates.find((t) => t.Properties?.Prefix === prefix)?.Properties ?? {};
      const encryption = settings.EncryptionConfiguration as { EncryptionType?: string } | undefined;
      return {
        prefix,
        repository: {
          imageTagMutability: settings.ImageTagMutability === 'IMMUTABLE' ? 'IMMUTABLE' : 'MUTABLE',
          encryptionType: encryption?.EncryptionType === 'KMS' ? 'KMS' : 'AES256',
          tags: ((settings.ResourceTags ?? []) as Array<{ Key: unknown; Value: unknown }>).map((t) => ({
            Key: String(t.Key),
            Value: String(t.Value),
          })),
        },
      };
    });
}
