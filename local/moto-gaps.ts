/**
 * What the deployed stack asks of AWS that moto cannot do, one line each, printed at start-up: the
 * local cloud deploys it anyway (rules, configurations) and says where it stops. Checked against
 * moto 5.2.1 (`moto_server`): PutReplicationConfiguration / DescribeRegistry and
 * PutRegistryScanningConfiguration / GetRegistryScanningConfiguration keep what they are given;
 * DescribeImageReplicationStatus answers 500 ("not been implemented"); a pushed image is not copied
 * to the destination region; moto has no Amazon Inspector events; repository creation templates
 * (CreateRepositoryCreationTemplate, DescribeRepositoryCreationTemplates) answer 500; so do the
 * signing calls (Get/PutSigningConfiguration, DescribeImageSigningStatus), which the local cloud
 * answers itself (registry/signing.ts).
 */
import type { Deployment } from './deploy/deployment.ts';
import type { Template } from './template.ts';

const sourcesOf = (pattern: unknown): string[] => {
  const parsed = typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
  const source = (parsed as { source?: unknown } | undefined)?.source;
  return Array.isArray(source) ? source.map(String) : [];
};

/** The start-up lines for `deployment` (the resources of `template` it created). */
export function motoGaps(
  template: Template,
  deployment: Pick<Deployment, 'resources' | 'customResources'>,
): string[] {
  const deployed = (id: string) => id in deployment.resources;
  const lines: string[] = [];
  const inspectorRules = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::Events::Rule' && deployed(id))
    .filter(([, r]) => sourcesOf(r.Properties?.EventPattern).includes('aws.inspector2'))
    .map(([id]) => id);
  if (inspectorRules.length > 0) {
    lines.push(
      `moto cannot: send Amazon Inspector events (it has no Inspector): ${inspectorRules.join(', ')} deployed, ` +
        'but no enhanced scanning result ever arrives',
    );
  }
  const creationTemplates = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::ECR::RepositoryCreationTemplate' && deployed(id))
    .map(([id]) => id);
  if (creationTemplates.length > 0) {
    lines.push(
      `moto cannot: keep repository creation templates (it answers 500): ${creationTemplates.join(', ')} ` +
        'deployed; the local cloud applies them itself to the repositories its pull-through caches create',
    );
  }
  for (const resource of deployment.customResources) {
    if (resource.type === 'Custom::RegistryReplication') {
      lines.push(
        `moto cannot: replicate images: the replication configuration is kept (${resource.logicalId}), but no ` +
          `image reaches ${String(resource.properties.Regions)} and DescribeImageReplicationStatus is not ` +
          'implemented (status prints "replicas unknown"; the replication check finds nothing to tell)',
      );
    }
    if (resource.type === 'Custom::RegistrySigning') {
      lines.push(
        `moto cannot: sign images (its signing calls answer 500): the local cloud keeps the signing configuration ` +
          `(${resource.logicalId}) and signs each push to a matching repository itself, with its own key, a sigstore ` +
          'signature under sha256-<hex>.sig instead of an AWS Signer (Notation) one; DescribeImageSigningStatus answers ' +
          'from the signatures it made, and no Signer profile or signer:SignPayload is checked',
      );
    }
    if (resource.type === 'Custom::RegistryScanning') {
      lines.push(
        `moto cannot: scan with Amazon Inspector: the registry scanning configuration is kept (${resource.logicalId}), ` +
          'but no image is scanned',
      );
    }
  }
  return lines;
}
