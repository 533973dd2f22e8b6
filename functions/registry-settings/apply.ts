/**
 * One request of the RegistryReplication / RegistryScanning / RegistrySigning custom resources: read
 * the registry's configuration, merge or unmerge this stack's part (merge.ts, signing.ts), write it
 * back.
 */
import {
  DescribeRegistryCommand,
  GetRegistryScanningConfigurationCommand,
  GetSigningConfigurationCommand,
  PutRegistryScanningConfigurationCommand,
  PutReplicationConfigurationCommand,
  PutSigningConfigurationCommand,
  type ReplicationRule,
  type ScanFrequency,
  type SigningRule,
} from '@aws-sdk/client-ecr';
import { applyBlobMounting } from './blob-mounting.ts';
import type { Deps } from './deps.ts';
import {
  destinationRegistryPolicy,
  type MergeResult,
  mergeReplication,
  mergeScanning,
  type OurScanning,
  ourReplicationRule,
  replicationPrefix,
  type ScanType,
  scanningFilter,
  unmergeReplication,
  unmergeScanning,
} from './merge.ts';
import { mergeSigning, ourSigningRule, unmergeSigning } from './signing.ts';

/** A setting this stack cannot make without changing someone else's: the deploy fails with this. */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

/** The custom resource's properties (strings, as CloudFormation passes them). */
export interface SettingProperties {
  Setting: 'replication' | 'scanning' | 'signing' | 'blob-mounting';
  RepositoryPattern: string;
  /** replication: comma-separated regions, and the destination account. */
  Regions?: string;
  DestinationAccountId?: string;
  /** scanning: SCAN_ON_PUSH or CONTINUOUS_SCAN. */
  ScanFrequency?: string;
  /** signing: the AWS Signer signing profile ECR signs this stack's images with on push. */
  SigningProfileArn?: string;
}

export interface SettingRequest {
  kind: 'Create' | 'Update' | 'Delete';
  properties: SettingProperties;
  /** Update: the properties before it. */
  oldProperties?: SettingProperties;
  /** Update and Delete: the resource's physical id (scanning: it names the scan type before the stack). */
  physicalId?: string;
  /** Where the stack is: the source registry. */
  region: string;
  accountId: string;
  partition: string;
}

/** What CloudFormation gets back (Fn::GetAtt). */
export type SettingData = Record<string, string>;

const value = <T>(result: MergeResult<T>): T => {
  if (!result.ok) throw new RefusedError(result.reason);
  return result.value;
};

function replicationRule(request: SettingRequest, properties: SettingProperties) {
  const prefix = value(replicationPrefix(properties.RepositoryPattern));
  const registryId = properties.DestinationAccountId || request.accountId;
  const rule = value(
    ourReplicationRule({
      prefix,
      regions: (properties.Regions ?? '').split(','),
      registryId,
      sourceRegion: request.region,
      sourceRegistryId: request.accountId,
    }),
  );
  return { prefix, rule, registryId };
}

async function applyReplication(deps: Deps, request: SettingRequest): Promise<SettingData> {
  const { prefix, rule, registryId } = replicationRule(request, request.properties);
  const registry = await deps.ecr.send(new DescribeRegistryCommand({}));
  const existing = registry.replicationConfiguration?.rules ?? [];
  let rules: ReplicationRule[];
  if (request.kind === 'Delete') {
    rules = unmergeReplication(existing, rule);
  } else {
    // An update whose old rule cannot be rebuilt (it was refused) had no rule in the registry.
    const previous =
      request.oldProperties && replicationPrefix(request.oldProperties.RepositoryPattern).ok
        ? safely(() => replicationRule(request, request.oldProperties as SettingProperties).rule)
        : undefined;
    rules = value(mergeReplication(existing, rule, previous));
  }
  await deps.ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules } }));
  deps.logger.info('replication configuration written', { kind: request.kind, prefix, rules: rules.length });
  return {
    RepositoryPrefix: prefix,
    DestinationRegistryPolicy: destinationRegistryPolicy(
      request.partition,
      request.accountId,
      registryId,
      prefix,
    ),
  };
}

const safely = <T>(make: () => T): T | undefined => {
  try {
    return make();
  } catch {
    // Refused: there is no such rule of ours.
  }
  return undefined;
};

const FREQUENCIES = new Set(['SCAN_ON_PUSH', 'CONTINUOUS_SCAN']);

function ourScanning(properties: SettingProperties): OurScanning {
  const frequency = properties.ScanFrequency ?? 'SCAN_ON_PUSH';
  if (!FREQUENCIES.has(frequency))
    throw new RefusedError(`scanFrequency must be SCAN_ON_PUSH or CONTINUOUS_SCAN, got "${frequency}"`);
  return {
    filter: value(scanningFilter(properties.RepositoryPattern)),
    frequency: frequency as ScanFrequency,
  };
}

/**
 * How the physical id of a RegistryScanning resource ends: the registry's scan type before the stack
 * created it, so that its deletion never leaves the registry lower than it found it.
 */
const BEFORE = /-before-(BASIC|ENHANCED)$/;

/** The scan type a physical id remembers, or undefined (a resource created by an older version). */
export const scanTypeBefore = (physicalId: string | undefined): ScanType | undefined =>
  BEFORE.exec(physicalId ?? '')?.[1] as ScanType | undefined;

async function applyScanning(deps: Deps, request: SettingRequest): Promise<SettingData> {
  const ours = ourScanning(request.properties);
  const current = await deps.ecr.send(new GetRegistryScanningConfigurationCommand({}));
  const existing = current.scanningConfiguration;
  const before =
    request.kind === 'Create'
      ? ((existing?.scanType as ScanType | undefined) ?? 'BASIC')
      : scanTypeBefore(request.physicalId);
  const next =
    request.kind === 'Delete'
      ? unmergeScanning(existing, ours, before)
      : value(
          mergeScanning(
            existing,
            ours,
            request.oldProperties
              ? safely(() => ourScanning(request.oldProperties as SettingProperties))
              : undefined,
          ),
        );
  await deps.ecr.send(new PutRegistryScanningConfigurationCommand(next));
  deps.logger.info('registry scanning configuration written', {
    kind: request.kind,
    scanType: next.scanType,
  });
  return { ScanType: next.scanType, ...(before ? { ScanTypeBefore: before } : {}) };
}

const signingRule = (properties: SettingProperties): SigningRule =>
  value(ourSigningRule(properties.SigningProfileArn ?? '', properties.RepositoryPattern));

/** The registry's signing rules; a registry that never had a signing configuration has none. */
async function signingRules(deps: Deps): Promise<SigningRule[]> {
  try {
    const current = await deps.ecr.send(new GetSigningConfigurationCommand({}));
    return current.signingConfiguration?.rules ?? [];
  } catch (error) {
    if ((error as Error).name === 'SigningConfigurationNotFoundException') return [];
    throw error;
  }
}

async function applySigning(deps: Deps, request: SettingRequest): Promise<SettingData> {
  const ours = signingRule(request.properties);
  const existing = await signingRules(deps);
  const rules =
    request.kind === 'Delete'
      ? unmergeSigning(existing, ours)
      : value(
          mergeSigning(
            existing,
            ours,
            request.oldProperties
              ? safely(() => signingRule(request.oldProperties as SettingProperties))
              : undefined,
          ),
        );
  await deps.ecr.send(new PutSigningConfigurationCommand({ signingConfiguration: { rules } }));
  deps.logger.info('signing configuration written', { kind: request.kind, rules: rules.length });
  return { SigningProfileArn: ours.signingProfileArn as string };
}

/** Applies one request; throws RefusedError for what must fail the deploy. */
export function applySetting(deps: Deps, request: SettingRequest): Promise<SettingData> {
  switch (request.properties.Setting) {
    case 'blob-mounting':
      return applyBlobMounting(deps, request.kind);
    case 'replication':
      return applyReplication(deps, request);
    case 'signing':
      return applySigning(deps, request);
    default:
      return applyScanning(deps, request);
  }
}
