import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { beforeEach, describe, expect, it } from 'vitest';
import { announce } from '../../../functions/release/announce.ts';
import { PermanentError, TransientError } from '../../../functions/release/errors.ts';
import { eventsMock } from './helpers.ts';

const client = async () => new EventBridgeClient({ region: 'us-west-2' });
const detail = {
  verdict: 'held' as const,
  bucket: 'b',
  key: 'k',
  repository: 'r',
  tag: 't',
  gate: 'scan' as const,
};
beforeEach(() => eventsMock.reset());

describe('announce', () => {
  it('puts one Release Verdict on the bus', async () => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    await announce(client, 'bus', detail);
    expect(eventsMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          Source: 'ecr-pipeline',
          DetailType: 'Release Verdict',
          Detail: JSON.stringify(detail),
          EventBusName: 'bus',
        },
      ],
    });
  });

  it('throws a refused entry: throttled is transient, anything else permanent', async () => {
    eventsMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }],
    });
    await expect(announce(client, 'bus', detail)).rejects.toThrow(
      new TransientError('PutEvents refused the verdict: ThrottlingException: slow'),
    );
    eventsMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException' }] });
    await expect(announce(client, 'bus', detail)).rejects.toBeInstanceOf(PermanentError);
  });
});
