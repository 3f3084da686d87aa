import { TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit } from './support/flows';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Reads one sample's value from Prometheus text, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
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
    // h3 expires by itself (1 s TTL); the sweeper returns it within a second after.
    await new Promise((r) => setTimeout(r, 2300));

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

  it('documents every CONTRACT path in /docs-json', async () => {
    const doc = (await app.request('GET', '/docs-json')).body;
    const contract = readFileSync(resolve(__dirname, '../../shared/CONTRACT.md'), 'utf8');
    const paths = [...contract.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/v1\/[^`]+)`/g)].map(([, method, path]) => ({
      method: method.toLowerCase(),
      path: path.replace(/:(\w+)/g, '{$1}'),
    }));
    expect(paths.length).toBeGreaterThanOrEqual(14);
    for (const { method, path } of paths) {
      expect({ path, method, documented: Boolean(doc.paths[path]?.[method]) }).toEqual({ path, method, documented: true });
    }
    // Every error code the CONTRACT names is in the documented error schema.
    const codes = [...new Set([...contract.matchAll(/`\d{3} ([A-Z_]+)/g)].map((m) => m[1]))];
    const documented = JSON.stringify(doc);
    for (const code of codes) expect({ code, documented: documented.includes(code) }).toEqual({ code, documented: true });
    expect((await app.request('GET', '/docs')).status).toBe(200);
  });
});
