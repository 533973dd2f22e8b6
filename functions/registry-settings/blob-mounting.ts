/**
 * The RegistryBlobMounting custom resource (`blobMounting: true`): ECR's account setting
 * `BLOB_MOUNTING` set to `ENABLED`, so that a push of a layer the registry already holds in another
 * repository mounts it instead of uploading it again (ECR user guide, "Blob mounting in Amazon ECR":
 * same registry, identical encryption, and `ecr:GetDownloadUrlForLayer` on the source repository, so
 * a build mounts only from repositories it may pull). The setting is the registry's, one per account
 * and region, and other stacks or teams may rely on it: deleting the resource leaves it as it is
 * (disabling it later keeps the layers already mounted).
 */
import { PutAccountSettingCommand } from '@aws-sdk/client-ecr';
import type { Deps } from './deps.ts';

/** Enables blob mounting on Create and Update; changes nothing on Delete. */
export async function applyBlobMounting(
  deps: Deps,
  kind: 'Create' | 'Update' | 'Delete',
): Promise<Record<string, string>> {
  if (kind === 'Delete') {
    deps.logger.info('blob mounting left as it is: the registry setting may serve others');
    return {};
  }
  // ECR's name of the setting (PutAccountSetting), written here rather than in a module constant,
  // which mutation testing could not reach.
  await deps.ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
  deps.logger.info('blob mounting enabled', { kind });
  return { BlobMounting: 'ENABLED' };
}
