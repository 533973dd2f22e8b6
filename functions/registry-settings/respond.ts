/**
 * The CloudFormation custom resource protocol: every request gets exactly one response, SUCCESS or
 * FAILED with a reason people read in the stack events; otherwise the stack waits for an hour.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { applySetting, RefusedError, type SettingProperties } from './apply.ts';
import type { Deps } from './deps.ts';

/** The physical id of a setting this function refused to make: deleting it changes nothing. */
export const REFUSED = 'refused';

/** Handles one custom resource event and sends its response. */
export async function handleCustomResource(
  deps: Deps,
  event: CloudFormationCustomResourceEvent,
): Promise<void> {
  const [, partition = 'aws', , region = '', accountId = ''] = event.StackId.split(':');
  const physicalId =
    event.RequestType === 'Create'
      ? `${event.LogicalResourceId}-${accountId}-${region}`
      : event.PhysicalResourceId;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason: string | undefined;
  let data: Record<string, string> | undefined;
  let id = physicalId;
  try {
    if (!(event.RequestType === 'Delete' && physicalId === REFUSED)) {
      data = await applySetting(deps, {
        kind: event.RequestType,
        ...(event.RequestType === 'Create' ? {} : { physicalId }),
        properties: event.ResourceProperties as unknown as SettingProperties,
        oldProperties:
          event.RequestType === 'Update'
            ? (event.OldResourceProperties as unknown as SettingProperties)
            : undefined,
        region,
        accountId,
        partition,
      });
      // The scan type the registry had before: its deletion restores no lower one (apply.ts).
      if (event.RequestType === 'Create' && data.ScanTypeBefore)
        id = `${physicalId}-before-${data.ScanTypeBefore}`;
    }
  } catch (error) {
    status = 'FAILED';
    reason =
      error instanceof RefusedError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    // A refused creation left nothing in the registry: its deletion must not take anything out.
    if (event.RequestType === 'Create') id = REFUSED;
    deps.logger.error('registry setting failed', { requestType: event.RequestType, reason });
  }
  await deps.respond(
    event.ResponseURL,
    JSON.stringify({
      Status: status,
      Reason: reason ?? 'see the function log',
      PhysicalResourceId: id,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: data,
    }),
  );
}
