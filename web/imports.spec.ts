import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The page's modules form no import cycle, and no view imports another: views
 * register their steps with flow.ts and move on through it.
 */
const root = __dirname;

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each module's relative imports (type-only ones too: they are part of the design), as paths under web/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of modules(root)) {
    const source = readFileSync(file, 'utf8');
    const targets = [...source.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) =>
      relative(root, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts'),
    );
    graph.set(relative(root, file), targets);
  }
  return graph;
}

describe('web/ imports', () => {
  const graph = importGraph();

  it('reads the modules it should (the graph is not empty)', () => {
    expect(graph.get('app.ts')).toEqual(expect.arrayContaining(['flow.ts', 'views/seats.ts']));
    expect(graph.get('views/seats.ts')).toEqual(expect.arrayContaining(['flow.ts', 'seatmap/section-seats.ts']));
  });

  it('no view imports another view', () => {
    const crossings = [...graph].flatMap(([file, targets]) =>
      file.startsWith('views/') ? targets.filter((t) => t.startsWith('views/')).map((t) => `${file} -> ${t}`) : [],
    );
    expect(crossings).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') return void cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) walk(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) walk(file, []);
    expect(cycles).toEqual([]);
  });
});
