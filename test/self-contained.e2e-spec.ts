import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';

/**
 * The repository stands alone: a fresh clone with nothing beside it has every
 * file its code, tests, scripts and docs refer to. This scans every tracked
 * file for references that leave the repository and fails naming each one.
 */
const ROOT = resolve(__dirname, '..');

const UP = '../';
const SHARED = 'shared/';
const FORBIDDEN_TEXT = [UP + SHARED, SHARED + 'CONTRACT', SHARED + 'TARGETS', SHARED + 'STYLE'];
/** Absolute paths of a developer's machine; /tmp, /app, /usr etc. are fine. */
const MACHINE_PATH = /\/work\/|\/home\/|\/Users\/|file:\/\//;
/** This file plants examples of what it looks for. */
const SELF = relative(ROOT, __filename);

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && f !== 'package-lock.json' && f !== SELF);
}

function textOf(file: string): string | undefined {
  const path = resolve(ROOT, file);
  if (!existsSync(path)) return undefined; // deleted in the work tree, not yet in the index
  const buffer = readFileSync(path);
  return buffer.includes(0) ? undefined : buffer.toString('utf8');
}

/**
 * Where a file's code runs from: its own folder, and for TypeScript the
 * folder the build writes it to (src/ -> dist/, scripts/ -> dist/scripts/,
 * bench/ -> dist-bench/bench/), since `__dirname` is that folder there.
 */
function runFolders(file: string): string[] {
  const dir = dirname(file);
  if (!file.endsWith('.ts')) return [dir];
  const built = dir.startsWith('src') ? dir.replace(/^src/, 'dist') : dir.startsWith('scripts') ? `dist/${dir}` : dir.startsWith('bench') ? `dist-bench/${dir}` : undefined;
  return built ? [dir, built] : [dir];
}

const inside = (path: string) => {
  const rel = relative(ROOT, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Every reference in `text` (of `file`) that leaves the repository or names a file it does not have. */
function outsideReferences(file: string, text: string, tracked: Set<string>, trackedDirs: Set<string>, names: Set<string>): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const needle of FORBIDDEN_TEXT) if (line.includes(needle)) found.push(`${at}: refers to ${needle}`);
    const machine = MACHINE_PATH.exec(line);
    if (machine) found.push(`${at}: absolute path of a machine (${machine[0]}…)`);
    // A relative path written as one literal ('../../x', "../y") that climbs out of the
    // repository from every folder the file runs from.
    for (const m of line.matchAll(/(['"`(])((?:\.\.\/)+[^'"`)\s]*)/g)) {
      if (!runFolders(file).some((dir) => inside(resolve(ROOT, dir, m[2])))) found.push(`${at}: ${m[2]} leaves the repository`);
    }
    // A Markdown file named by its file name that the repository does not have (CONTRACT.md, ...);
    // web addresses aside.
    for (const m of line.replace(/\bhttps?:\/\/\S+/g, '').matchAll(/\b([A-Za-z0-9_-]+\.md)\b/g)) {
      if (!names.has(m[1])) found.push(`${at}: ${m[1]} is not in the repository`);
    }
  });
  // Relative links of Markdown: inside the repository, and to something that exists there.
  if (file.endsWith('.md')) {
    for (const m of text.matchAll(/\]\(([^)\s]+)\)|<img [^>]*src="([^"]+)"/g)) {
      const target = (m[1] ?? m[2]).split('#')[0];
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // an anchor, http:, mailto:
      const path = resolve(ROOT, dirname(file), target);
      const rel = relative(ROOT, path);
      const line = text.slice(0, m.index).split('\n').length;
      if (!inside(path)) found.push(`${file}:${line}: link ${target} leaves the repository`);
      else if (!tracked.has(rel) && !trackedDirs.has(rel)) found.push(`${file}:${line}: link ${target} is not a file of the repository`);
    }
  }
  return [...new Set(found)];
}

describe('the repository stands alone', () => {
  const files = trackedFiles();
  const tracked = new Set(files);
  const trackedDirs = new Set(files.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  const names = new Set(files.map((f) => basename(f)));

  it('no tracked file refers to a path outside the repository', () => {
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => {
      const text = textOf(file);
      return text === undefined ? [] : outsideReferences(file, text, tracked, trackedDirs, names);
    });
    expect(found).toEqual([]);
  });

  it('the scan finds each kind of outside reference (control)', () => {
    const planted = [
      `see [the contract](${UP}${UP}${SHARED}CONTRACT.md)`,
      `every figure of \`${SHARED}TARGETS.md\``,
      `readFileSync(resolve(__dirname, '${UP}${UP}${SHARED}x'))`,
      `const p = '${UP}${UP}elsewhere/file.json';`,
      'cd /work/main',
      'the house style (STYLE.md)',
      '[api](docs/nowhere.md)',
    ].join('\n');
    const found = outsideReferences('test/planted.md', planted, tracked, trackedDirs, names);
    for (let line = 1; line <= 7; line += 1) expect(found.some((f) => f.startsWith(`test/planted.md:${line}:`))).toBe(true);
    // What belongs to the repository passes.
    const fine = "[api](../docs/api.md) [bench](../bench/README.md#targets) import x from '../src/main'; https://example.com/a.md /tmp/x";
    expect(outsideReferences('test/fine.md', fine, tracked, trackedDirs, names)).toEqual([]);
  });
});
