/** `doctor`'s reading of a bucket's notifications: every context extension, and .zip, must reach the function. */
import type { NotificationConfiguration } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { notificationCheck, notifiedSuffixes, requiredSuffixes } from '../../../cli/doctor.ts';

/** A configuration as S3 answers it (the SDK's enum types aside). */
const cfg = (value: unknown) => value as NotificationConfiguration;

const created = (suffix: string, prefix?: string) => ({
  Events: ['s3:ObjectCreated:*'],
  Filter: {
    Key: {
      FilterRules: [
        ...(prefix !== undefined ? [{ Name: 'Prefix', Value: prefix }] : []),
        { Name: 'Suffix', Value: suffix },
      ],
    },
  },
});

describe('the suffixes a bucket sends', () => {
  it('reads Lambda targets (AWS) and queue targets (the local cloud)', () => {
    expect(
      notifiedSuffixes(
        cfg({
          LambdaFunctionConfigurations: [{ LambdaFunctionArn: 'f', ...created('.tar.gz') }],
          QueueConfigurations: [{ QueueArn: 'q', ...created('.tgz') }],
        }),
        '',
      ),
    ).toEqual(['.tar.gz', '.tgz']);
  });

  it('skips other events and rules for another prefix', () => {
    const config = {
      QueueConfigurations: [
        {
          QueueArn: 'q',
          Events: ['s3:ObjectRemoved:*'],
          Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.tar' }] } },
        },
        { QueueArn: 'q', ...created('.zip', 'other/') },
        { QueueArn: 'q', ...created('.tgz', 'ctx/') },
      ],
    };
    expect(notifiedSuffixes(cfg(config), 'ctx/')).toEqual(['.tgz']);
    expect(notifiedSuffixes({}, '')).toEqual([]);
  });
});

describe('the notification check', () => {
  const all = {
    QueueConfigurations: requiredSuffixes().map((suffix) => ({ QueueArn: 'q', ...created(suffix) })),
  };

  it('passes when every suffix reaches the function', () => {
    expect(requiredSuffixes()).toEqual(['.tar.gz', '.tgz', '.tar', '.zip']);
    expect(notificationCheck(cfg(all), '', 'b')).toMatchObject({
      status: 'ok',
      detail: 's3://b/ sends .tar.gz, .tgz, .tar, .zip uploads to build-trigger',
    });
    // A rule without a suffix sends everything.
    expect(
      notificationCheck(
        { QueueConfigurations: [{ QueueArn: 'q', Events: ['s3:ObjectCreated:Put'] }] },
        '',
        'b',
      ).status,
    ).toBe('ok');
  });

  it('names the suffixes that reach nothing, and how to fix it', () => {
    const check = notificationCheck(
      cfg({ QueueConfigurations: all.QueueConfigurations.slice(0, 2) }),
      'ctx/',
      'b',
    );
    expect(check).toMatchObject({
      name: 'notifications',
      status: 'fail',
      detail:
        'uploads ending in .tar, .zip to s3://b/ctx/ reach no function: they would be ignored in silence',
    });
    expect(check.fix).toContain('deploy the stack again');
  });
});
