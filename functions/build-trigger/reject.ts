import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BUILD_REJECTED, type BuildRejectedDetail, EVENT_SOURCE } from '../shared/contract.ts';
import { classify, PermanentError, TransientError } from './errors.ts';

const TRANSIENT_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

/** Puts a `Build Rejected` event on the bus, where the notifications function tells people. */
export async function publishRejection(
  events: EventBridgeClient,
  eventBusName: string,
  detail: BuildRejectedDetail,
): Promise<void> {
  let failed: { ErrorCode?: string | undefined; ErrorMessage?: string | undefined } | undefined;
  try {
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
    throw TRANSIENT_ENTRY_ERRORS.has(failed.ErrorCode ?? '')
      ? new TransientError(message)
      : new PermanentError(message);
  }
}
