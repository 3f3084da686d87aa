import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * No import cycle: the folders named by package.json's `lint:imports` script
 * (dependency-cruiser with .dependency-cruiser.cjs; type-only imports count)
 * must stay free of cycles, the habit that keeps modules layered, and keep the
 * config's other rules. To check another folder, add it to that script's arguments.
 */
const ROOT = resolve(__dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
/** The `depcruise` command of the devDependency, run on the Node running the tests. */
const PACKAGE = join(ROOT, 'node_modules', 'dependency-cruiser');
const DEPCRUISE = join(PACKAGE, JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')).bin.depcruise);
const run = promisify(execFile);

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: { name: string }[];
}

/** The folders the `lint:imports` script checks. */
function checkedFolders(): string[] {
  const script: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['lint:imports'];
  const match = /^depcruise --config \.dependency-cruiser\.cjs ((?:[\w./-]+ ?)+)$/.exec(script);
  if (!match) throw new Error(`lint:imports is not "depcruise --config .dependency-cruiser.cjs <folders>": ${script}`);
  return match[1].trim().split(' ');
}

/** Runs dependency-cruiser on `folders` (relative to `cwd`) and returns each violation as "rule: a → b → a". */
async function violations(folders: string[], cwd: string): Promise<string[]> {
  // Exit code 1 with violations; the JSON report is on stdout either way.
  const { stdout } = await run(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...folders], {
    cwd,
    maxBuffer: 64 << 20,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    if (!err.stdout) throw new Error(`dependency-cruiser failed: ${err.message}\n${err.stderr ?? ''}`);
    return { stdout: err.stdout };
  });
  const report = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(report.summary.totalCruised).toBeGreaterThan(0);
  return report.summary.violations.map((v) => `${v.rule.name}: ${[v.from, ...(v.cycle ?? [{ name: v.to }]).map((c) => c.name)].join(' → ')}`);
}

describe('imports', () => {
  it('src/ and the other checked folders keep the import rules: no cycle, the service never imports src/dev/, no page view imports another', async () => {
    const folders = checkedFolders();
    expect(folders).toEqual(expect.arrayContaining(['src', 'web']));
    expect(await violations(folders, ROOT)).toEqual([]);
  });

  it('a cycle, even one of type-only imports, is found (control)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-imports-'));
    try {
      writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "module": "commonjs", "strict": true } }\n'); // the config reads one
      writeFileSync(join(dir, 'a.ts'), "import { b } from './b';\nexport const a = () => b();\n");
      writeFileSync(join(dir, 'b.ts'), "import type { C } from './c';\nexport const b = (c?: C) => c;\n");
      writeFileSync(join(dir, 'c.ts'), "import { a } from './a';\nexport type C = ReturnType<typeof a>;\n");
      writeFileSync(join(dir, 'd.ts'), "import { a } from './a';\nexport const d = a;\n");
      const found = await violations(['.'], dir);
      expect(found.length).toBeGreaterThan(0);
      expect(found.every((v) => v.startsWith('no-circular: '))).toBe(true);
      expect(found.some((v) => ['a.ts', 'b.ts', 'c.ts'].every((f) => v.includes(f)))).toBe(true);
      expect(found.some((v) => v.includes('d.ts'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a page view importing another view is found, a view importing flow.ts is not (control)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-imports-'));
    try {
      writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "module": "commonjs", "strict": true } }\n');
      mkdirSync(join(dir, 'web', 'views'), { recursive: true });
      writeFileSync(join(dir, 'web', 'flow.ts'), 'export const flow = { go: (step: string) => step };\n');
      writeFileSync(join(dir, 'web', 'views', 'join.ts'), "import { flow } from '../flow';\nexport const join = () => flow.go('wait');\n");
      writeFileSync(join(dir, 'web', 'views', 'wait.ts'), "import { join } from './join';\nexport const wait = join;\n");
      expect(await violations(['web'], dir)).toEqual(['web-views-independent: web/views/wait.ts → web/views/join.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
