import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// The supported runtime is Node 24 LTS (or a later LTS line). The machines that
// run `npm test` may carry an older Node of their own (Node 20 is end of life);
// the `node` devDependency puts a Node 24 binary first on PATH for every npm
// script, so this suite, and every process it starts by `process.execPath` or
// by the name `node`, must run on it. These tests fail when that mechanism
// breaks, or when the places that name the Node line disagree.

const ROOT = resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

/** Supported: an LTS line (even major, Node's release scheme) at or above the engines minimum. */
function supported(version: string): boolean {
  const minimum = Number(/^>=\s*(\d+)$/.exec(pkg.engines.node)?.[1]);
  return major(version) >= minimum && major(version) % 2 === 0;
}

describe('runtime: Node 24 LTS', () => {
  it('engines names Node 24 as the minimum, and the node devDependency is a pinned 24.x', () => {
    expect(pkg.engines.node).toBe('>=24');
    expect(pkg.devDependencies.node).toMatch(/^24\.\d+\.\d+$/);
    expect(supported('v20.20.2')).toBe(false);
    expect(supported('v25.0.0')).toBe(false); // odd lines never become LTS
    expect(supported(`v${pkg.devDependencies.node}`)).toBe(true);
  });

  it('this suite runs on a supported Node, the one the node devDependency installs', () => {
    expect(supported(process.versions.node)).toBe(true);
    expect(process.versions.node).toBe(pkg.devDependencies.node);
  });

  it('a child started by the name `node` (as npm scripts and the harness do) runs on the same Node', () => {
    const child = execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    expect(child).toBe(process.versions.node);
  });

  it('the image is built on the same Node line', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const base = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile)?.[1];
    expect(base).toBe(String(major(pkg.devDependencies.node)));
  });
});
