// ECR pull-through cache rules (`pullThroughCache`, docs/build-speed.md), computed at packaging
// (`${file(resources/pull-through-cache.cjs):<name>}`): the rules and the creation template of the
// repositories they create, the build's mirror list, and the IAM statements that let the build pull
// through the rules' prefixes and nothing else there. A list that cannot work fails the packaging.

// The tables and patterns are built in functions, not at module load, so that mutation testing can
// vary them per test (stryker.config.mjs, MUTATION_SET=pull-through).

/** The upstreams a rule can name: its repository prefix in ECR and the registry host it mirrors. */
function upstreams() {
  return {
    'ecr-public': { url: 'public.ecr.aws', registry: 'ecr-public', host: 'public.ecr.aws' },
    quay: { url: 'quay.io', registry: 'quay', host: 'quay.io' },
    k8s: { url: 'registry.k8s.io', registry: 'k8s', host: 'registry.k8s.io' },
    // Docker Hub's registry is registry-1.docker.io; image references name it docker.io.
    'docker-hub': { url: 'registry-1.docker.io', registry: 'docker-hub', host: 'docker.io' },
  };
}

/** The upstream of prefix `prefix` (only the table's own names: not `toString` or `constructor`). */
function upstreamOf(prefix) {
  const all = upstreams();
  return Object.hasOwn(all, prefix) ? all[prefix] : undefined;
}

// ECR reads an upstream credential only from a secret whose name has this prefix (ECR user guide,
// "Creating a pull through cache rule").
function isCredentialSecret(arn) {
  return /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:ecr-pullthroughcache\/[A-Za-z0-9/_+=.@-]+$/.test(
    arn,
  );
}

function pullActions() {
  return ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
}

function pushActions() {
  return ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'];
}

function values(value) {
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** What is wrong with the parameters, each with what to set; empty when they can work. */
function problems(prefixes, secret) {
  const found = [];
  const unknown = prefixes.filter((p) => upstreamOf(p) === undefined);
  if (unknown.length > 0)
    found.push(
      `pullThroughCache: unknown upstream ${unknown.join(', ')} (use ${Object.keys(upstreams()).join(', ')})`,
    );
  if (prefixes.includes('docker-hub') && !isCredentialSecret(secret))
    found.push(
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret: the ARN of a Secrets Manager secret ' +
        `whose name starts with ecr-pullthroughcache/, got "${secret}"`,
    );
  if (!prefixes.includes('docker-hub') && secret !== '')
    found.push('dockerHubCredentialSecret is set but pullThroughCache does not list docker-hub');
  return found;
}

function logicalId(prefix) {
  return prefix
    .split('-')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

function repositoryArn(name) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${name}` };
}

/** The stack fragment: one rule per upstream and the creation template of their repositories. */
function resources(prefixes, secret, { stack, untaggedExpiryDays }) {
  const found = {};
  for (const prefix of prefixes) {
    const upstream = upstreamOf(prefix);
    found[`PullThroughCache${logicalId(prefix)}`] = {
      Type: 'AWS::ECR::PullThroughCacheRule',
      Properties: {
        EcrRepositoryPrefix: prefix,
        UpstreamRegistry: upstream.registry,
        UpstreamRegistryUrl: upstream.url,
        ...(prefix === 'docker-hub' ? { CredentialArn: secret } : {}),
      },
    };
    // The cache's repositories get settings of ours, not ECR's defaults. MUTABLE: the cache moves a
    // tag when the upstream does. Tagged as a cache, never with managed-by: builds push only into
    // repositories tagged managed-by, and a cache a build could push into would serve its image
    // to every later FROM.
    found[`PullThroughCacheTemplate${logicalId(prefix)}`] = {
      Type: 'AWS::ECR::RepositoryCreationTemplate',
      Properties: {
        Prefix: prefix,
        Description: `${stack}: repositories of the ${prefix} pull-through cache`,
        AppliedFor: ['PULL_THROUGH_CACHE'],
        ImageTagMutability: 'MUTABLE',
        EncryptionConfiguration: { EncryptionType: 'AES256' },
        LifecyclePolicy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'Expire untagged cached layers',
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: Number(untaggedExpiryDays),
              },
              action: { type: 'expire' },
            },
          ],
        }),
        ResourceTags: [{ Key: 'ecr-pipeline:pull-through-cache', Value: stack }],
      },
    };
  }
  return { Resources: found };
}

/**
 * A statement present only with pullThroughCache. Without it, the statement is left out whole (both
 * branches AWS::NoValue): no placeholder resource reaches the template.
 */
function onlyWithRules(prefixes, statement) {
  return prefixes.length > 0
    ? { 'Fn::If': ['PullsThroughCache', statement, { Ref: 'AWS::NoValue' }] }
    : { 'Fn::If': ['PullsThroughCache', { Ref: 'AWS::NoValue' }, { Ref: 'AWS::NoValue' }] };
}

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => String((await resolveVariable(`param:${name}`)) ?? '').trim();
  const prefixes = [...new Set(values(await param('pullThroughCache')))];
  const secret = await param('dockerHubCredentialSecret');
  const found = problems(prefixes, secret);
  if (found.length > 0) throw new Error(`pull-through cache parameters: ${found.join('; ')}`);
  const stack = `${await resolveVariable('self:service')}-${await resolveVariable('sls:stage')}`;
  const cached = prefixes.map((p) => repositoryArn(`${p}/*`));
  return {
    resources: resources(prefixes, secret, {
      stack,
      untaggedExpiryDays: await param('untaggedExpiryDays'),
    }),
    // "host=prefix,..." for build-image.sh: each upstream host and the ECR prefix that mirrors it.
    mirrors: prefixes.map((p) => `${upstreamOf(p).host}=${p}`).join(','),
    // The build pulls through the rules (importing an image the cache does not hold yet, creating
    // its repository the first time: ECR user guide, "IAM permissions required to sync an upstream
    // registry"), only under their prefixes.
    buildPull: onlyWithRules(prefixes, {
      Sid: 'PullThroughCache',
      Effect: 'Allow',
      Action: [...pullActions(), 'ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
      Resource: cached,
    }),
    // No push into the cache, whatever else allows it (repositoryPattern "*", adoptRepositoryPattern).
    buildNoPush: onlyWithRules(prefixes, {
      Sid: 'NeverPushIntoPullThroughCache',
      Effect: 'Deny',
      Action: pushActions(),
      Resource: cached,
    }),
    // The ECR endpoints' policy lets the build import through the rules' prefixes (vpcEndpoints).
    endpointImport: onlyWithRules(prefixes, {
      Sid: 'PullThroughCacheImport',
      Effect: 'Allow',
      Principal: { AWS: [{ 'Fn::GetAtt': ['BuildSessionRole', 'Arn'] }] },
      Action: 'ecr:BatchImportUpstreamImage',
      Resource: cached,
    }),
    // build-trigger never creates a repository under a cache prefix (a later FROM would pull it).
    triggerNoCreate: onlyWithRules(prefixes, {
      Sid: 'NeverCreateInPullThroughCache',
      Effect: 'Deny',
      Action: 'ecr:CreateRepository',
      Resource: cached,
    }),
  };
};
