import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { replicationAction } from '../../../../functions/ecr-events/replication/replication-action.ts';
import { type Route, route } from '../../../../functions/ecr-events/route.ts';
import { event } from '../fixtures.ts';

const options = {
  projectName: 'ecr-pipeline-dev',
  region: 'us-east-1',
  account: '123456789012',
  now: () => new Date(),
};
const DIGEST = 'sha256:4b1a0e2f6c9d8a7b3e5f1c0d2a4b6c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8';

function notification(c: Route): Notification {
  if (c.action !== 'notify') throw new Error(`expected a notification, got ${JSON.stringify(c)}`);
  return c.notification;
}

describe('ECR Replication Action', () => {
  it('tells a failed replication at once, naming the destination, with the source image', () => {
    const routed = route(event('ecr/replication-action-failure.json'), options);
    expect(routed).toMatchObject({ action: 'notify', replicationFailedIn: 'eu-west-1' });
    const n = notification(routed);
    expect(n).toEqual({
      kind: 'replication-failed',
      outcome: 'failure',
      title: 'Replication failed',
      region: 'us-east-1',
      account: '123456789012',
      time: '2026-11-30T10:15:42Z',
      repository: 'team-a/api',
      tag: 'v1.2.3',
      digest: DIGEST,
      detail: 'ECR reported FAILURE replicating the image to eu-west-1.',
      links: [
        {
          label: expect.any(String),
          url: expect.stringContaining(`region=us-east-1`),
        },
      ],
    });
    expect(n.links[0]?.url).toContain(`/123456789012/team-a/api/_/image/${DIGEST}`);
  });

  it('names the destination account when the replica goes to another account', () => {
    const e = event('ecr/replication-action-failure.json');
    e.account = '210987654321';
    expect(notification(route(e, options)).detail).toBe(
      'ECR reported FAILURE replicating the image to eu-west-1 (account 210987654321).',
    );
  });

  it("takes the pushed image's account and region as the event's origin, and refuses another's", () => {
    const e = event('ecr/replication-action-failure.json');
    e.detail['source-account'] = '999999999999';
    expect(route(e, options)).toMatchObject({
      action: 'ignore',
      malformed: true,
      reason: 'event from account "999999999999", not this function\'s (123456789012)',
    });
    const other = event('ecr/replication-action-failure.json');
    other.detail['source-region'] = 'eu-central-1';
    expect(route(other, options)).toMatchObject({ action: 'ignore', malformed: true });
  });

  it('tells nothing for a replica that arrived', () => {
    expect(route(event('ecr/replication-action-success.json'), options)).toEqual({
      action: 'ignore',
      reason: 'replicated to ap-southeast-2',
      malformed: false,
      detailType: 'ECR Replication Action',
      repository: 'team-a/api',
    });
  });

  it('reports an untagged failure without inventing a tag', () => {
    const e = event('ecr/replication-action-failure.json');
    delete e.detail['image-tag'];
    expect(notification(route(e, options)).tag).toBeUndefined();
  });

  it.each(['repository-name', 'result', 'image-digest'])('calls an event without %s malformed', (field) => {
    const e = event('ecr/replication-action-failure.json');
    delete e.detail[field];
    expect(route(e, options)).toMatchObject({
      action: 'ignore',
      malformed: true,
      reason: 'ECR Replication Action without repository-name, result or image-digest',
    });
  });

  it('falls back to the destination when the event names no source', () => {
    const outcome = replicationAction(
      { 'repository-name': 'team-a/api', result: 'FAILURE', 'image-digest': DIGEST },
      { region: 'eu-west-1', account: '123456789012', time: '2026-11-30T10:15:42Z' },
    );
    expect(outcome).toMatchObject({
      told: true,
      notification: { region: 'eu-west-1', account: '123456789012' },
    });
    expect(outcome.told && outcome.notification.detail).toBe(
      'ECR reported FAILURE replicating the image to eu-west-1.',
    );
  });

  it('treats empty and non-string fields as absent', () => {
    const base = { region: 'eu-west-1', account: '123456789012', time: '2026-11-30T10:15:42Z' };
    expect(
      replicationAction({ 'repository-name': '', result: 'FAILURE', 'image-digest': DIGEST }, base),
    ).toMatchObject({
      told: false,
      malformed: true,
    });
    expect(
      replicationAction({ 'repository-name': 7, result: 'FAILURE', 'image-digest': DIGEST }, base),
    ).toMatchObject({
      told: false,
      malformed: true,
    });
    const outcome = replicationAction(
      {
        'repository-name': 'team-a/api',
        result: 'FAILURE',
        'image-digest': DIGEST,
        'image-tag': 3,
        'source-region': '',
        'source-account': '',
      },
      base,
    );
    expect(outcome).toMatchObject({
      told: true,
      notification: { region: 'eu-west-1', account: '123456789012' },
    });
    expect(outcome.told && outcome.notification.tag).toBeUndefined();
  });
});
