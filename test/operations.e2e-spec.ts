import { TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit } from './support/flows';
import { metricSample as sample, pollUntil } from './support/inspect';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface ReferenceRoute {
  method: string;
  /** OpenAPI form: /v1/events/{eventId} */
  path: string;
  errors: { status: string; code: string }[];
}

/**
 * Reads docs/api.md: the routes of its endpoint tables (a row whose first cell
 * is `METHOD /path`) with the "<status> <CODE>" errors the row names, the error
 * code table of §7 (code -> statuses), and every "<status> <CODE>" written anywhere.
 */
function parseApiReference(markdown: string) {
  const routes: ReferenceRoute[] = [];
  const codes = new Map<string, string[]>();
  const errorsIn = (text: string) => [...text.matchAll(/\b([1-5]\d\d) ([A-Z][A-Z_]+)\b/g)].map(([, status, code]) => ({ status, code }));
  for (const line of markdown.split('\n')) {
    const route = /^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]*)`/.exec(line);
    if (route) {
      routes.push({ method: route[1], path: route[2].replace(/:(\w+)/g, '{$1}'), errors: errorsIn(line.split(' | ').slice(1).join(' | ')) });
      continue;
    }
    const code = /^\| `([A-Z][A-Z_]+)` \| ([\d, ]+) \|/.exec(line);
    if (code) codes.set(code[1], code[2].split(',').map((s) => s.trim()));
  }
  return { routes, codes, mentions: errorsIn(markdown) };
}

describe('operations: metrics, OpenAPI', () => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp('single')));
  afterAll(() => stopTopologyApp(topology, app));

  it('moves every business counter and gauge by exactly what a scenario did', async () => {
    const eventId = uniqueId('metrics');
    await app.createEvent(eventId, { capacity: 10, holdTtlSeconds: 1, admission: { ratePerSecond: 1000 } });
    const before = (await app.request('GET', '/metrics')).body as string;

    const a = await joinAndAdmit(app, eventId, 'a');
    const b = await joinAndAdmit(app, eventId, 'b');
    expect((await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'a' })).status).toBe(409);
    const h1 = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, a.auth);
    const h2 = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, a.auth);
    const h3 = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 3 }, b.auth);
    expect([h1.status, h2.status, h3.status]).toEqual([201, 201, 201]);
    expect((await app.request('POST', `/v1/events/${eventId}/holds/${h1.body.holdId}/confirm`, {}, a.auth)).status).toBe(201);
    expect((await app.request('DELETE', `/v1/events/${eventId}/holds/${h2.body.holdId}`, undefined, a.auth)).status).toBe(204);
    // h3 expires by itself (1 s TTL); the sweeper returns it within a second after
    // (waited for, not timed: hold-expiry.e2e-spec.ts times it).
    await pollUntil(() => app.request('GET', `/v1/events/${eventId}`), (r) => r.body.held === 0, { timeoutMs: 10_000, intervalMs: 100 });

    const after = (await app.request('GET', '/metrics')).body as string;
    const delta = (name: string) => sample(after, name, { event: eventId }) - sample(before, name, { event: eventId });
    expect(delta('queuegate_joins_total')).toBe(2);
    expect(delta('queuegate_join_duplicates_total')).toBe(1);
    expect(delta('queuegate_admissions_total')).toBe(2);
    expect(delta('queuegate_holds_total')).toBe(3);
    expect(delta('queuegate_confirms_total')).toBe(1);
    expect(delta('queuegate_releases_total')).toBe(1);
    expect(delta('queuegate_expirations_total')).toBe(1);
    expect(sample(after, 'queuegate_event_sold', { event: eventId })).toBe(2);
    expect(sample(after, 'queuegate_event_held', { event: eventId })).toBe(0);
    expect(sample(after, 'queuegate_event_available', { event: eventId })).toBe(8);
    expect(sample(after, 'queuegate_event_active', { event: eventId })).toBe(2);
    expect(sample(after, 'queuegate_event_waiting', { event: eventId })).toBe(0);
    expect(sample(after, 'queuegate_http_request_duration_seconds_count', { route: '/v1/events/:eventId/holds', status: '201' })).toBeGreaterThanOrEqual(3);
    expect(sample(after, 'queuegate_script_duration_seconds_count', { script: 'hold' })).toBeGreaterThanOrEqual(3);
  });

  it('counts script reloads after SCRIPT FLUSH and Redis errors while Redis is away', async () => {
    const client = topology.client();
    const eventId = uniqueId('reload');
    await app.createEvent(eventId, { capacity: 1 });
    const before = (await app.request('GET', '/metrics')).body as string;
    await client.script('FLUSH');
    await client.quit();
    expect((await app.request('GET', '/health/ready')).status).toBe(200);
    const after = (await app.request('GET', '/metrics')).body as string;
    expect(sample(after, 'queuegate_script_reloads')).toBeGreaterThan(sample(before, 'queuegate_script_reloads'));
  });

  it('serves an OpenAPI document with every path and error code of docs/api.md, and nothing it leaves out', async () => {
    const doc = (await app.request('GET', '/docs-json')).body;
    const reference = parseApiReference(readFileSync(resolve(__dirname, '../docs/api.md'), 'utf8'));
    expect(reference.routes.length).toBeGreaterThanOrEqual(20);
    expect(reference.codes.size).toBeGreaterThanOrEqual(20);

    // Every route of the reference is served and documented, and the other way round
    // (/docs is the document itself; /metrics is Prometheus text, left out of OpenAPI).
    const served = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const documented = reference.routes.map((r) => `${r.method} ${r.path}`);
    const notInOpenApi = new Set(['GET /docs', 'GET /metrics']);

    // Each error a route's row names is in that route's OpenAPI responses, under its status.
    const errorsNotServed: string[] = [];
    for (const route of reference.routes) {
      const responses = (doc.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {}) as Record<string, { description?: string }>;
      for (const { status, code } of route.errors) {
        if (!responses[status]?.description?.includes(code)) errorsNotServed.push(`${route.method} ${route.path}: ${status} ${code}`);
      }
    }

    // The error codes: the reference's table and the served document name the same set, and
    // every "<status> <CODE>" the reference writes anywhere is in its table with that status.
    const servedCodes = new Set<string>(doc.components?.schemas?.ErrorBodyDto?.properties?.code?.enum ?? []);
    for (const m of JSON.stringify(doc.paths).matchAll(/code: ([A-Z_]+(?: \| [A-Z_]+)*)/g)) m[1].split(' | ').forEach((c) => servedCodes.add(c));

    // One assertion, so that a failure lists every difference at once.
    expect({
      routesNotServed: documented.filter((r) => !served.includes(r) && !notInOpenApi.has(r)),
      routesNotDocumented: served.filter((r) => !documented.includes(r)),
      errorsNotServed,
      codesNotServed: [...reference.codes.keys()].filter((c) => !servedCodes.has(c)),
      codesNotDocumented: [...servedCodes].filter((c) => !reference.codes.has(c)),
      mentionsNotInTable: reference.mentions.filter(({ status, code }) => !reference.codes.get(code)?.includes(status)),
    }).toEqual({ routesNotServed: [], routesNotDocumented: [], errorsNotServed: [], codesNotServed: [], codesNotDocumented: [], mentionsNotInTable: [] });
    expect((await app.request('GET', '/docs')).status).toBe(200);
  });
});
