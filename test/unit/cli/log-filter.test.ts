/** The build log without CodeBuild's plumbing, unless --verbose. */
import { describe, expect, it } from 'vitest';
import { LogFilter, plainLine } from '../../../cli/log-filter.ts';

const LOG = [
  '[Container] 2026/12/01 10:00:00.100000 Waiting for agent ping',
  '[Container] 2026/12/01 10:00:00.200000 Entering phase BUILD',
  '[Container] 2026/12/01 10:00:00.300000 Running command ecoh hello',
  '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
  '',
  '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully ecoh hello exit status 127',
  '[Container] 2026/12/01 10:00:00.500000 Phase complete: BUILD State: FAILED',
  '[Container] 2026/12/01 10:00:00.600000 Phase context status code: COMMAND_EXECUTION_ERROR Message: Error',
].join('\n');

describe('a line of the default log', () => {
  it("leaves out CodeBuild's own lines, keeps the commands it runs as $ lines", () => {
    expect(plainLine('[Container] 2026/12/01 10:00:00.100000 Entering phase BUILD')).toBeUndefined();
    expect(plainLine('[Container] 2026/12/01 10:00:00.300000 Running command make all')).toBe('$ make all');
    expect(plainLine('[Container] odd line')).toBeUndefined();
    expect(plainLine('building')).toBe('building');
    expect(plainLine('')).toBe('');
    expect(plainLine('  [Container] quoted by a build')).toBe('  [Container] quoted by a build');
  });
});

describe('the log filter', () => {
  it('keeps what the build wrote and the commands', () => {
    const filter = new LogFilter(false);
    expect(filter.push(`${LOG}\n`) + filter.flush()).toBe(
      '$ ecoh hello\n/codebuild/output/tmp/script.sh: 4: ecoh: not found\n\n',
    );
  });

  it('keeps every line with --verbose', () => {
    const filter = new LogFilter(true);
    expect(filter.push(`${LOG}\n`) + filter.flush()).toBe(`${LOG}\n`);
  });

  it('holds a cut line until its end arrives', () => {
    const filter = new LogFilter(false);
    expect(filter.push('[Container] 2026/12/01 10:00:00.1 Entering ')).toBe('');
    expect(filter.push('phase BUILD\nhel')).toBe('');
    expect(filter.push('lo\n')).toBe('hello\n');
  });

  it('prints a last line without its newline once the log has ended, unless it is plumbing', () => {
    const filter = new LogFilter(false);
    expect(filter.push('done')).toBe('');
    expect(filter.flush()).toBe('done\n');
    expect(filter.flush()).toBe('');
    filter.push('[Container] 2026/12/01 10:00:00.1 Phase complete');
    expect(filter.flush()).toBe('');
  });
});
