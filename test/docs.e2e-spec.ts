import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { Env } from '../src/config/env.schema';

/**
 * The documentation a newcomer reads stays short, connected and true to the code:
 * the README fits an hour's reading, every relative link (and its #anchor) leads
 * somewhere, and the one configuration table names exactly the variables the
 * env schema reads. (test/self-contained.e2e-spec.ts checks that no reference
 * leaves the repository; this one that the ones inside it arrive.)
 */
const ROOT = resolve(__dirname, '..');
const README_MAX_LINES = 300;
const MD = '.md';

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
export function slugOf(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text: one per heading outside code blocks (repeats get -1, -2, … as on GitHub). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = slugOf(heading[1]);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Every relative link of `file` (Markdown, relative to ROOT) that names a missing file or a missing heading. */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, (block) => block.replace(/[^\n]/g, ' '));
  for (const m of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, mailto:
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const line = withoutCode.slice(0, m.index).split('\n').length;
    const targetFile = path === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), path));
    const text = read(targetFile);
    if (text === undefined) {
      broken.push(`${file}:${line}: ${target}: no such file`);
    } else if (anchor !== undefined && targetFile.endsWith('.md') && !anchorsOf(text).has(anchor)) {
      broken.push(`${file}:${line}: ${target}: no heading #${anchor} in ${targetFile}`);
    }
  }
  return broken;
}

/** A tracked file's text ('' for a folder), or undefined when there is none. */
function readRepoFile(path: string): string | undefined {
  const full = resolve(ROOT, path);
  if (!existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

/** The Markdown a newcomer reads: README, CONTRIBUTING and docs/, plus every other tracked .md. */
function markdownFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '*.md'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && existsSync(resolve(ROOT, f)));
}

/** The variables named in the first column of docs/api.md §6's table. */
function configurationTable(): string[] {
  const api = readFileSync(resolve(ROOT, 'docs/api.md'), 'utf8');
  const section = api.slice(api.indexOf('## 6. Configuration'), api.indexOf('## 7.'));
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
}

describe('the documentation', () => {
  it(`the README stays a newcomer's read: at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(resolve(ROOT, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('every relative link of every Markdown file leads to a file, and its #anchor to a heading there', () => {
    const files = markdownFiles();
    for (const name of ['README.md', 'CONTRIBUTING.md', 'docs/api.md', 'docs/design.md', 'docs/operations.md']) {
      expect(files).toContain(name);
    }
    const broken = files.flatMap((file) => brokenLinks(file, readRepoFile(file)!, readRepoFile));
    expect(broken).toEqual([]);
  });

  it('the link check finds a missing file, a missing heading and a heading only inside code (control)', () => {
    // Names built in pieces: test/self-contained.e2e-spec.ts flags a missing file named in full.
    const [file, missing] = ['planted' + MD, 'docs/nowhere' + MD];
    const planted = [
      '[ok](docs/api.md#6-configuration) [ok](#local) [ok](src/config) [web](https://example.com/x.md#nope)',
      `[gone](${missing})`,
      '[no heading](docs/api.md#no-such-section)',
      '[only in code](#not-a-heading)',
      '## Local',
      '```sh',
      '# not a heading',
      '```',
    ].join('\n');
    const broken = brokenLinks(file, planted, (p) => (p === file ? planted : readRepoFile(p)));
    expect(broken.map((b) => b.split(':')[1])).toEqual(['2', '3', '4']);
    expect(anchorsOf('## 6. Configuration\n## What waiting costs: `npm run bench:waiting`\n## A\n## A')).toEqual(
      new Set(['6-configuration', 'what-waiting-costs-npm-run-benchwaiting', 'a', 'a-1']),
    );
  });

  it('docs/api.md §6 is the one configuration table and names exactly the variables of src/config/env.schema.ts', () => {
    const schema = [...new Set(getMetadataStorage().getTargetValidationMetadatas(Env, '', true, false).map((m) => m.propertyName))];
    const table = configurationTable();
    expect(schema.length).toBeGreaterThan(20);
    expect(new Set(table).size).toBe(table.length);
    expect([...table].sort()).toEqual([...schema].sort());
    // Nowhere else: other pages point at §6 instead of copying it.
    for (const file of markdownFiles().filter((f) => f !== 'docs/api.md' && !f.startsWith('helm/') && !f.startsWith('bench/'))) {
      const rows = readFileSync(resolve(ROOT, file), 'utf8').match(/^\| `(PORT|REDIS_URL|ADMIT_TICK_MS)` \|/gm) ?? [];
      expect({ file, rows }).toEqual({ file, rows: [] });
    }
  });
});
