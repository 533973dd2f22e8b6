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
});
