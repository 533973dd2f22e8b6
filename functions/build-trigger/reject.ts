import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { BUILD_REJECTED, type BuildRejectedDetail } from '../shared/contract.ts';
import { putStackEvent } from '../shared/put-stack-event.ts';

/**
 * Puts a `Build Rejected` event on the bus, where the notifications function tells people.
 * The EventBridge client and its commands are loaded here, on the rejection path only.
 */
export function publishRejection(
  eventsClient: () => Promise<EventBridgeClient>,
  eventBusName: string,
  detail: BuildRejectedDetail,
): Promise<void> {
  return putStackEvent(eventsClient, () => import('./sdk/eventbridge.ts'), {
    eventBusName,
    detailType: BUILD_REJECTED,
    detail,
    what: 'the entry',
  });
}
