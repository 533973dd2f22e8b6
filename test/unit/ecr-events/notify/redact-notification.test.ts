import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { redactNotification } from '../../../../functions/ecr-events/notify/redact-notification.ts';
import { HIDDEN_LINE } from '../../../../functions/shared/redact.ts';

const SECRET = 'PGPASSWORD=hunter2 psql -h db';
const base: Notification = {
  kind: 'build-failed',
  outcome: 'failure',
  title: 'Build failed',
  region: 'us-west-2',
  account: '123456789012',
  time: '2026-12-03T10:00:00Z',
  repository: 'team/web',
  tag: 'v1',
  links: [{ label: 'Build', url: 'https://example.com/build' }],
};
const build = { id: 'arn:aws:codebuild:us-west-2:123456789012:build/p:1', project: 'p', status: 'FAILED' };
const rejection = { code: 'bad-key', reason: 'fine', bucket: 'contexts', key: 'team/web/v1.tgz' };

describe('a notification before it reaches Slack, SNS and the upload record', () => {
  it('hides a credential in every text a build, an upload or an error wrote', async () => {
    const n: Notification = {
      ...base,
      detail: `upload failed\n${SECRET}`,
      rejection: { ...rejection, reason: `bad archive: ${SECRET}` },
      build: {
        ...build,
        failureMessage: `COMMAND_EXECUTION_ERROR: ${SECRET}`,
        log: { reason: `stopped: ${SECRET}`, tail: ['step 3/4', SECRET, 'exit 1'] },
      },
    };
    expect(await redactNotification(n)).toStrictEqual({
      ...base,
      detail: `upload failed\n${HIDDEN_LINE}`,
      rejection: { ...rejection, reason: HIDDEN_LINE },
      build: {
        ...build,
        failureMessage: HIDDEN_LINE,
        log: { reason: HIDDEN_LINE, tail: ['step 3/4', HIDDEN_LINE, 'exit 1'] },
      },
    });
  });

  it('hides each text on its own: one field with a credential, the others as they were', async () => {
    const cases: Array<[Notification, Notification]> = [
      [
        { ...base, detail: SECRET },
        { ...base, detail: HIDDEN_LINE },
      ],
      [
        { ...base, rejection: { ...rejection, reason: SECRET } },
        { ...base, rejection: { ...rejection, reason: HIDDEN_LINE } },
      ],
      [
        { ...base, build: { ...build, failureMessage: SECRET } },
        { ...base, build: { ...build, failureMessage: HIDDEN_LINE } },
      ],
      [
        { ...base, build: { ...build, log: { reason: SECRET, tail: [] } } },
        { ...base, build: { ...build, log: { reason: HIDDEN_LINE, tail: [] } } },
      ],
      [
        { ...base, build: { ...build, log: { tail: [SECRET], unavailable: 'throttled' } } },
        { ...base, build: { ...build, log: { tail: [HIDDEN_LINE], unavailable: 'throttled' } } },
      ],
    ];
    for (const [n, shown] of cases) expect(await redactNotification(n)).toStrictEqual(shown);
  });

  it('keeps texts without a credential as they were, and adds no field the notification did not have', async () => {
    const n: Notification = {
      ...base,
      detail: 'the image was pushed',
      build: { ...build, failureMessage: 'exit status 1', log: { tail: ['npm ERR! missing script: build'] } },
    };
    expect(await redactNotification(n)).toStrictEqual(n);
    const noRejection: Notification = { ...base, build: { ...build, log: { tail: [] } } };
    expect(await redactNotification(noRejection)).toStrictEqual(noRejection);
  });

  it('returns a notification without any free text as it is', async () => {
    const n: Notification = { ...base, build };
    expect(await redactNotification(n)).toBe(n);
    expect(await redactNotification(base)).toBe(base);
  });
});
