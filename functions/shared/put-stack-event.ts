/**
 * Puts one event of the pipeline's own (source `ecr-pipeline`) on the stack's bus, where the
 * notifications function tells people: a build-trigger's `Build Rejected`, a release's verdict.
 */
import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from './contract.ts';
import { classify, PermanentError, TransientError } from './errors.ts';

/** Entry errors of PutEvents worth a retry; any other refusal is permanent. */
const TRANSIENT_ENTRY_ERRORS = new Set<string | undefined>([
  'ThrottlingException',
  'InternalFailure',
  'InternalException',
]);

export interface StackEvent {
  eventBusName: string;
  detailType: string;
  detail: object;
  /** What the entry is, for the error message (`the entry`, `the verdict`). */
  what: string;
}

/**
 * Puts `event`; throws a TransientError or PermanentError when EventBridge refuses it. `loadSdk` is the
 * caller's own dynamic import of the command, so that the EventBridge client is loaded only when used.
 */
export async function putStackEvent(
  eventsClient: () => Promise<EventBridgeClient>,
  loadSdk: () => Promise<{ PutEventsCommand: typeof PutEventsCommand }>,
  event: StackEvent,
): Promise<void> {
  let failed: { ErrorCode?: string | undefined; ErrorMessage?: string | undefined } | undefined;
  try {
    const [{ PutEventsCommand: Command }, events] = await Promise.all([loadSdk(), eventsClient()]);
    const out = await events.send(
      new Command({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            EventBusName: event.eventBusName,
          },
        ],
      }),
    );
    failed = out.FailedEntryCount ? out.Entries?.find((entry) => entry.ErrorCode) : undefined;
  } catch (error) {
    throw classify(error, 'PutEvents');
  }
  if (failed) {
    const message = `PutEvents refused ${event.what}: ${failed.ErrorCode}: ${failed.ErrorMessage ?? ''}`;
    throw TRANSIENT_ENTRY_ERRORS.has(failed.ErrorCode)
      ? new TransientError(message)
      : new PermanentError(message);
  }
}
