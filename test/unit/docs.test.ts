/**
 * The documentation holds together: the README stays a front door that links every page under
 * `docs/`, each `<!-- section: ... -->` (the topics tests and readers look for) is in exactly one
 * place, and every relative link and anchor in the README and the pages leads somewhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith('.md'),
);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The lines of a Markdown text outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(text: string): Set<string> {
  const anchors = prose(text).flatMap((line) => {
    const heading = /^#+ (.*)$/.exec(line)?.[1];
    return heading === undefined ? [] : [slug(heading)];
  });
  return new Set(anchors);
}

/** Every relative link target of a page: `path#anchor`, `path`, or `#anchor`. */
function linksOf(text: string): string[] {
  return prose(text).flatMap((line) =>
    [...line.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^[a-z]+:/.test(target)),
  );
}

/** The links of `page` (its text, unless given) that lead nowhere: a missing file or heading. */
function brokenLinks(page: string, text = read(page)): string[] {
  return linksOf(text).filter((link) => {
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? page : relative(ROOT, resolve(dirname(join(ROOT, page)), path));
    if (!existsSync(join(ROOT, target))) return true;
    const targetText = path === '' ? text : read(target);
    return anchor !== undefined && target.endsWith('.md') && !anchorsOf(targetText).has(anchor);
  });
}

describe('the documentation', () => {
  it('keeps the README a front door of at most 250 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(250);
  });

  it('links every page under docs/ from the README', () => {
    const linked = new Set(linksOf(read('README.md')).map((link) => link.split('#')[0]));
    const pages = PAGES.filter((page) => page.startsWith('docs/'));
    expect(pages.length).toBeGreaterThanOrEqual(7);
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it('holds every section marker exactly once', () => {
    const markers = PAGES.flatMap((page) =>
      [...read(page).matchAll(/<!-- section: (.*?) -->/g)].map((match) => match[1]),
    );
    for (const topic of [
      'quick start',
      'how it works',
      'key convention',
      'configuration',
      'security model',
      'notifications',
      'local cloud',
      'cli',
      'benchmarks',
      'development',
    ])
      expect(markers).toContain(topic);
    expect(markers.filter((marker, i) => markers.indexOf(marker) !== i)).toEqual([]);
  });

  it.each(PAGES)('has no broken relative link or anchor in %s', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('finds a link to a missing heading or file, and reads no heading inside code', () => {
    expect(anchorsOf('# The `ecr-pipeline` command\n```sh\n# not a heading\n```\n')).toEqual(
      new Set(['the-ecr-pipeline-command']),
    );
    const text = [
      '[ok](docs/cli.md#the-ecr-pipeline-command) [ok](#the-local-cloud) [web](https://example.com)',
      '[a](docs/cli.md#no-such-heading) [b](docs/none.md) [c](#nowhere)',
    ].join('\n');
    expect(brokenLinks('README.md', `# The local cloud\n${text}`)).toEqual([
      'docs/cli.md#no-such-heading',
      'docs/none.md',
      '#nowhere',
    ]);
  });
});
