/** Puts a `Release Verdict` event on the stack's bus, where the notifications function tells people. */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, RELEASE_VERDICT, type ReleaseVerdictDetail } from '../shared/contract.ts';
import { classify, PermanentError, TransientError } from './errors.ts';

const TRANSIENT_ENTRY_ERRORS = new Set<string | undefined>([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
]);

/** Puts one verdict; throws a TransientError or PermanentError when EventBridge refuses it. */
export async function announce(
  eventsClient: () => Promise<EventBridgeClient>,
  eventBusName: string,
  detail: ReleaseVerdictDetail,
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
            DetailType: RELEASE_VERDICT,
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
    const message = `PutEvents refused the verdict: ${failed.ErrorCode}: ${failed.ErrorMessage ?? ''}`;
    throw TRANSIENT_ENTRY_ERRORS.has(failed.ErrorCode)
      ? new TransientError(message)
      : new PermanentError(message);
  }
}
