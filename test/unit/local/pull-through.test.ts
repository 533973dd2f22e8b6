import { describe, expect, it } from 'vitest';
import { cacheRoute, cacheRulesOf, requestLines } from '../../../local/pull-through.ts';
import type { Template } from '../../../local/template.ts';

describe('cacheRoute', () => {
  it("sends a path under a rule's prefix to that rule's cache, as the upstream's own name", () => {
    expect(cacheRoute('/v2/docker-hub/library/busybox/manifests/latest', ['quay', 'docker-hub'])).toEqual({
      prefix: 'docker-hub',
      url: '/v2/library/busybox/manifests/latest',
    });
    expect(cacheRoute('/v2/quay/org/app/blobs/sha256:ab?x=1', ['quay'])).toEqual({
      prefix: 'quay',
      url: '/v2/org/app/blobs/sha256:ab?x=1',
    });
  });

  it('leaves every other path to the registry: other repositories, a name that only starts like a prefix', () => {
    expect(cacheRoute('/v2/team-a/api/manifests/v1', ['docker-hub'])).toBeUndefined();
    expect(cacheRoute('/v2/docker-hubby/x/manifests/v1', ['docker-hub'])).toBeUndefined();
    expect(cacheRoute('/v2/docker-hub', ['docker-hub'])).toBeUndefined();
    expect(cacheRoute('/x/docker-hub/library/busybox/manifests/latest', ['docker-hub'])).toBeUndefined();
    expect(cacheRoute('/v2/docker-hub/library/busybox/manifests/latest', [])).toBeUndefined();
  });
});

describe('requestLines', () => {
  it("reads method and registry path from each line of a registry's access log", () => {
    const log = [
      '127.0.0.1 - - [03/Dec/2026:19:00:00 +0000] "GET /v2/library/busybox/manifests/latest HTTP/1.1" 200 527 "" "buildah"',
      'time="..." level=info msg="response completed"',
      '127.0.0.1 - - [03/Dec/2026:19:00:01 +0000] "HEAD /v2/library/busybox/blobs/sha256:ab HTTP/1.1" 200 0 "" "buildah"',
      '127.0.0.1 - - [03/Dec/2026:19:00:01 +0000] "GET /metrics HTTP/1.1" 404 0 "" "curl"',
    ].join('\n');
    expect(requestLines(log)).toEqual([
      'GET /v2/library/busybox/manifests/latest',
      'HEAD /v2/library/busybox/blobs/sha256:ab',
    ]);
  });
});

describe('cacheRulesOf', () => {
  const rule = (prefix: string) => ({
    Type: 'AWS::ECR::PullThroughCacheRule',
    Properties: { EcrRepositoryPrefix: prefix, UpstreamRegistry: prefix },
  });

  it('gives each rule the settings of the PULL_THROUGH_CACHE creation template of its prefix', () => {
    const template: Template = {
      Resources: {
        Hub: rule('docker-hub'),
        Quay: rule('quay'),
        HubTemplate: {
          Type: 'AWS::ECR::RepositoryCreationTemplate',
          Properties: {
            Prefix: 'docker-hub',
            AppliedFor: ['PULL_THROUGH_CACHE'],
            ImageTagMutability: 'IMMUTABLE',
            EncryptionConfiguration: { EncryptionType: 'KMS' },
            ResourceTags: [{ Key: 'ecr-pipeline:pull-through-cache', Value: 'ecr-pipeline-dev' }],
          },
        },
        // A replication template of the same prefix is not the cache's.
        Replicas: {
          Type: 'AWS::ECR::RepositoryCreationTemplate',
          Properties: { Prefix: 'quay', AppliedFor: ['REPLICATION'], ImageTagMutability: 'IMMUTABLE' },
        },
        Repo: { Type: 'AWS::ECR::Repository', Properties: { RepositoryName: 'docker-hub' } },
      },
    };
    expect(cacheRulesOf(template)).toEqual([
      {
        prefix: 'docker-hub',
        repository: {
          imageTagMutability: 'IMMUTABLE',
          encryptionType: 'KMS',
          tags: [{ Key: 'ecr-pipeline:pull-through-cache', Value: 'ecr-pipeline-dev' }],
        },
      },
      { prefix: 'quay', repository: { imageTagMutability: 'MUTABLE', encryptionType: 'AES256', tags: [] } },
    ]);
  });

  it('has no rule without pullThroughCache, and none of a rule without a prefix', () => {
    expect(cacheRulesOf({ Resources: { Repo: { Type: 'AWS::ECR::Repository' } } })).toEqual([]);
    expect(cacheRulesOf({ Resources: { Odd: { Type: 'AWS::ECR::PullThroughCacheRule' } } })).toEqual([]);
  });
});
