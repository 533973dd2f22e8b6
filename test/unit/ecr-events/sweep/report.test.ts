/** Stage 4, report: every repository counted once, in discovery order. */
import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../../../functions/ecr-events/sweep/model.ts';
import { buildReport, replicaNote } from '../../../../functions/ecr-events/sweep/report.ts';

const repo = (name: string): Candidate => ({
  name,
  arn: `arn:aws:ecr:us-west-2:1:repository/${name}`,
  account: '1',
  tags: {},
});

describe('the sweep report', () => {
  it('lists each result under its kind, and counts as kept all but the marked, deleted, gone and failed', () => {
    const names = ['m', 'd', 'u', 'p', 'i', 'x', 'a', 'g', 'e', 's'];
    const report = buildReport(
      false,
      names.map(repo),
      [
        { kind: 'marked', note: 'n1' },
        { kind: 'deleted', note: 'n2' },
        { kind: 'unmarked', note: 'used again' },
        { kind: 'pending' },
        { kind: 'in-use', note: '(being built: p:1)' },
        { kind: 'protected' },
        { kind: 'active' },
        { kind: 'gone' },
        { kind: 'error', error: 'Error: boom' },
        { kind: 'skipped' },
      ],
      [{ repository: 'listed', error: 'AccessDeniedException: no' }],
    );
    expect(report).toEqual({
      dryRun: false,
      candidates: 10,
      marked: [{ repository: 'm', note: 'n1' }],
      deleted: [{ repository: 'd', note: 'n2' }],
      unmarked: [{ repository: 'u', note: 'used again' }],
      pending: [{ repository: 'p' }],
      inUse: [{ repository: 'i', note: '(being built: p:1)' }],
      protected: [{ repository: 'x' }],
      kept: 5,
      errors: [
        { repository: 'listed', error: 'AccessDeniedException: no' },
        { repository: 'e', error: 'Error: boom' },
        { repository: 's', error: 'not reached before the invocation timeout; next sweep' },
      ],
    });
  });

  it('keeps the replica regions, and says in a dry run that the replicas of what would be deleted remain', () => {
    const report = buildReport(true, [repo('d')], [{ kind: 'deleted' }], [], ['eu-west-1']);
    expect(report.replicaRegions).toEqual(['eu-west-1']);
    expect(replicaNote(report)).toMatch(
      /^Replicas of the repositories that would be deleted remain in eu-west-1: ECR does not delete replicas/,
    );
    expect(replicaNote(buildReport(true, [repo('d')], [{ kind: 'deleted' }]))).toBeUndefined();
  });

  it('says the replicas of deleted repositories remain, and why the sweeper leaves them', () => {
    const report = buildReport(false, [repo('d')], [{ kind: 'deleted' }], [], ['eu-west-1', 'ap-south-1']);
    expect(replicaNote(report)).toBe(
      'Replicas of the repositories deleted remain in eu-west-1, ap-south-1: ' +
        'ECR does not delete replicas with their source, and the sweeper does not judge or delete them ' +
        '(pulls there are not seen here). Delete them there when nobody needs them.',
    );
  });

  it('says nothing of replicas when nothing was deleted', () => {
    const report = buildReport(false, [repo('m')], [{ kind: 'marked' }], [], ['eu-west-1']);
    expect(replicaNote(report)).toBeUndefined();
    expect(
      replicaNote({ ...report, deleted: [{ repository: 'd' }], replicaRegions: undefined }),
    ).toBeUndefined();
  });

  it('leaves the replica regions out of a report of a stack that does not replicate', () => {
    expect(buildReport(false, [], [], [], [])).not.toHaveProperty('replicaRegions');
    expect(buildReport(false, [], [])).toEqual({
      dryRun: false,
      candidates: 0,
      marked: [],
      deleted: [],
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 0,
      errors: [],
    });
  });

  it('keeps a note-less result without a note key, and does not change the errors passed in', () => {
    const errors = [{ repository: 'listed', error: 'x' }];
    const report = buildReport(
      true,
      [repo('m'), repo('e')],
      [
        { kind: 'marked', note: '' },
        { kind: 'error', error: 'y' },
      ],
      errors,
    );
    expect(report.marked).toEqual([{ repository: 'm' }]);
    expect(errors).toEqual([{ repository: 'listed', error: 'x' }]);
    expect(report.dryRun).toBe(true);
  });
});
