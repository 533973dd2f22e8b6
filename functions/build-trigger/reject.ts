import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { BUILD_REJECTED, type BuildRejectedDetail, EVENT_SOURCE } from '../shared/contract.ts';
import { classify, PermanentError, TransientError } from './errors.ts';

const TRANSIENT_ENTRY_ERRORS = new Set<string | undefined>([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
]);

/**
 * Puts a `Build Rejected` event on the bus, where the notifications function tells people.
 * The EventBridge client and its commands are loaded here, on the rejection path only.
 */
export async function publishRejection(
  eventsClient: () => Promise<EventBridgeClient>,
  eventBusName: string,
  detail: BuildRejectedDetail,
): Promise<void> {
  let failed: { ErrorCode?: string | undefined; ErrorMessage?: string | undefined } | undefined;
  try {
    const [{ PutEventsCommand }, events] = await Promise.all([
      import('./sdk/eventbridge.ts'),
      eventsClient(),
    ]);
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: BUILD_REJECTED,
            Detail: JSON.stringify(detail),
            EventBusName: eventBusName,
          },
        ],
      }),
    );
    failed = out.FailedEntryCount ? out.Entries?.find((entry) => entry.ErrorCode) : undefined;
  } catch (error) {
    throw classify(error, 'PutEvents');
  }
  if (failed) {
    const message = `PutEvents refused the entry: ${failed.ErrorCode}: ${failed.ErrorMessage ?? ''}`;
    throw TRANSIENT_ENTRY_ERRORS.has(failed.ErrorCode)
      ? new TransientError(message)
      : new PermanentError(message);
  }
}
