import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { TestApp } from './support/app-harness';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';

// The served OpenAPI document is checked by a linter nobody here wrote:
// `@redocly/cli lint` (version pinned in package.json) with its recommended
// rules, nothing turned off, must report zero errors and zero warnings. And
// what the document says about authentication and client errors is checked
// against the running service.

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const REDOCLY = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

describe('OpenAPI document: lints clean and tells the truth', () => {
  let topology: Topology;
  let app: TestApp;
  let doc: any;
  let dir: string;

  beforeAll(async () => {
    ({ topology, app } = await startTopologyApp('single'));
    doc = (await app.request('GET', '/docs-json')).body;
    dir = mkdtempSync(join(tmpdir(), 'queuegate-openapi-'));
  });
  afterAll(async () => {
    await stopTopologyApp(topology, app);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the lint configuration is the recommended ruleset, with no rule changed and nothing ignored', () => {
    expect(parse(readFileSync(join(ROOT, 'redocly.yaml'), 'utf8'))).toEqual({ extends: ['recommended'] });
    expect(existsSync(join(ROOT, '.redocly.lint-ignore.yaml'))).toBe(false);
  });

  it('`redocly lint` (pinned version) reports zero errors and zero warnings on the served /docs-json', async () => {
    const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies['@redocly/cli'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    // Exits non-zero on any error; the JSON report is on stdout either way.
    const result = await run(process.execPath, [REDOCLY, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const report = JSON.parse(result.stdout) as LintReport & { version: string };
    expect(report.version).toBe(pinned);
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  });

  it('declares servers, an MIT license and the admin and accessToken bearer schemes', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.info.license.name).toBe('MIT');
    expect(doc.components.securitySchemes).toEqual({
      admin: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      accessToken: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
  });

  it('every operation has a 2xx and a 4xx response, and a security statement that the service keeps', async () => {
    const seen = { public: 0, admin: 0, accessToken: 0 };
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        const codes = Object.keys(op.responses);
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, has2xx: codes.some((c) => c.startsWith('2')), has4xx: codes.some((c) => c.startsWith('4')) }).toEqual({
          where,
          has2xx: true,
          has4xx: true,
        });
        // Called without credentials (ids that exist nowhere, an empty body):
        // a secured operation answers 401 before anything else, a public one never does.
        const schemes = (op.security as Record<string, string[]>[]).flatMap((s) => Object.keys(s));
        const url = path.replace(/\{(\w+)\}/g, 'no-such-$1');
        const body = ['post', 'put', 'patch'].includes(method) ? {} : undefined;
        const response = await app.request(method.toUpperCase(), url, body);
        const kind = schemes.length === 0 ? 'public' : (schemes[0] as 'admin' | 'accessToken');
        expect(schemes.length).toBeLessThanOrEqual(1);
        expect({ where, kind, unauthorized: response.status === 401 }).toEqual({ where, kind, unauthorized: kind !== 'public' });
        seen[kind]++;
      }
    }
    // The contract's public, admin and seat routes are all there.
    expect(seen.public).toBeGreaterThanOrEqual(8);
    expect(seen.admin).toBeGreaterThanOrEqual(6);
    expect(seen.accessToken).toBeGreaterThanOrEqual(3);
  });

  it('the 431 documented on the health probes is what they answer to oversized headers', async () => {
    expect(Object.keys(doc.paths['/health/live'].get.responses)).toContain('431');
    const response = await app.request('GET', '/health/live', undefined, { 'x-padding': 'a'.repeat(20_000) });
    expect(response.status).toBe(431);
    expect(response.body).toEqual({ statusCode: 431, error: 'Request Header Fields Too Large', message: expect.any(String) });
  });
});
