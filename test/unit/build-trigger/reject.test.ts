import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/build-trigger/errors.ts';
import { publishRejection } from '../../../functions/build-trigger/reject.ts';
import type { BuildRejectedDetail } from '../../../functions/shared/contract.ts';
import { awsError, BUCKET, clients } from './helpers.ts';

const events = mockClient(clients.events);
const BUS = 'ecr-pipeline-dev-build-rejected';
const detail: BuildRejectedDetail = {
  bucket: BUCKET,
  key: 'team-a/api/v1.tar.gz',
  code: 'EmptyContext',
  reason: 'the build context is empty',
};
const publish = () => publishRejection(async () => clients.events, BUS, detail);

beforeEach(() => events.reset());

describe('publishRejection', () => {
  it('puts one Build Rejected event with the detail on the bus', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await publish();
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          Source: 'ecr-pipeline',
          DetailType: 'Build Rejected',
          Detail: JSON.stringify(detail),
          EventBusName: BUS,
        },
      ],
    });
  });

  it.each(['ThrottlingException', 'InternalFailure', 'InternalException'])(
    'throws a refused entry with %s as transient, with its code and message',
    async (code) => {
      events
        .on(PutEventsCommand)
        .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: code, ErrorMessage: 'try later' }] });
      const result = publish();
      await expect(result).rejects.toBeInstanceOf(TransientError);
      await expect(result).rejects.toThrow(`PutEvents refused the entry: ${code}: try later`);
    },
  );

  it('throws any other refused entry as permanent, with its code even without a message', async () => {
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException' }] });
    const result = publish();
    await expect(result).rejects.toBeInstanceOf(PermanentError);
    await expect(result).rejects.toThrow(
      new PermanentError('PutEvents refused the entry: AccessDeniedException: '),
    );
  });

  it('says PutEvents failed when the call itself fails', async () => {
    events.on(PutEventsCommand).rejects(awsError('ThrottlingException', 400));
    await expect(publish()).rejects.toThrow(
      new TransientError('PutEvents failed: ThrottlingException: ThrottlingException (test)'),
    );
  });
});
