import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { TestApp } from './support/app-harness';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';

// The waiting-room page (web/) takes the service's answer types from
// web/api/schema.d.ts, generated from the OpenAPI document by
// `npm run gen:api-types` (scripts/gen-api-types.js, openapi-typescript).
// The committed file must be what the served document gives today, and the
// page must stop compiling when a response DTO it reads changes.

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const GEN = join(ROOT, 'scripts', 'gen-api-types.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const COMMITTED = join(ROOT, 'web', 'api', 'schema.d.ts');

describe('the page compiles against types generated from the served OpenAPI document', () => {
  let topology: Topology;
  let app: TestApp;
  let doc: any;
  let dir: string;

  /** Runs the generator on `document`; returns the declarations it wrote. */
  async function generate(document: unknown, name: string): Promise<string> {
    const input = join(dir, `${name}.json`);
    const output = join(dir, `${name}.d.ts`);
    writeFileSync(input, JSON.stringify(document));
    await run(process.execPath, [GEN, '--document', input, '--out', output], { cwd: ROOT, timeout: 120_000 });
    return readFileSync(output, 'utf8');
  }

  /** Type-checks a copy of web/ whose api/schema.d.ts is `schema`; returns tsc's exit code and output. */
  async function compilePage(schema: string, name: string): Promise<{ code: number; output: string }> {
    const web = join(dir, name, 'web');
    cpSync(join(ROOT, 'web'), web, { recursive: true });
    writeFileSync(join(web, 'api', 'schema.d.ts'), schema);
    return run(process.execPath, [TSC, '--noEmit', '-p', join(web, 'tsconfig.json')], { cwd: ROOT, timeout: 120_000 }).then(
      (r) => ({ code: 0, output: r.stdout }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, output: err.stdout ?? '' }),
    );
  }

  beforeAll(async () => {
    ({ topology, app } = await startTopologyApp('single'));
    doc = (await app.request('GET', '/docs-json')).body;
    dir = mkdtempSync(join(tmpdir(), 'queuegate-api-types-'));
  });
  afterAll(async () => {
    await stopTopologyApp(topology, app);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('web/api/schema.d.ts is exactly what the served /docs-json generates (else: npm run gen:api-types)', async () => {
    const fresh = await generate(doc, 'served');
    expect(fresh).toContain('export interface operations');
    expect(readFileSync(COMMITTED, 'utf8')).toBe(fresh);
  });

  it('the page type-checks against it, and takes its answer types from it', async () => {
    expect(await compilePage(readFileSync(COMMITTED, 'utf8'), 'as-is')).toEqual({ code: 0, output: '' });
    const types = readFileSync(join(ROOT, 'web', 'api', 'types.ts'), 'utf8');
    expect(types).toMatch(/from '\.\/schema\.js'/);
    expect(types).not.toMatch(/^export interface /m); // no answer type declared by hand
  });

  it('a response DTO change the page reads (JoinedDto loses `ticket`) breaks the page compile', async () => {
    const changed = structuredClone(doc);
    const joined = changed.components.schemas.JoinedDto;
    delete joined.properties.ticket;
    joined.required = joined.required.filter((p: string) => p !== 'ticket');
    const result = await compilePage(await generate(changed, 'changed'), 'changed');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/views\/join\.ts.*Property 'ticket' does not exist/);
  });
});
