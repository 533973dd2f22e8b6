/** Puts a `Release Verdict` event on the stack's bus, where the notifications function tells people. */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { RELEASE_VERDICT, type ReleaseVerdictDetail } from '../shared/contract.ts';
import { putStackEvent } from '../shared/put-stack-event.ts';

/** Puts one verdict; throws a TransientError or PermanentError when EventBridge refuses it. */
export function announce(
  eventsClient: () => Promise<EventBridgeClient>,
  eventBusName: string,
  detail: ReleaseVerdictDetail,
): Promise<void> {
  return putStackEvent(eventsClient, () => import('./sdk/eventbridge.ts'), {
    eventBusName,
    detailType: RELEASE_VERDICT,
    detail,
    what: 'the verdict',
  });
}
