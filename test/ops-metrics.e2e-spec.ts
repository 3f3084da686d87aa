import { KeyBuilder } from '../src/redis/keys';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit, twoLevelLayout } from './support/flows';
import { metricSample, pollUntil } from './support/inspect';
import { startRedis } from './support/redis-harness';
import { openSse } from './support/sse-client';

/**
 * The metrics the alert rules and the dashboard (ops/) are built on, each
 * moved by what it measures on a real app and a real redis-server: the
 * event-loop delay, the per-event gauges, open streams and snapshot age, the
 * audit outcome, lost hold records, Redis reachability.
 */
describe('operator metrics', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  const scrape = async () => (await app.request('GET', '/metrics')).body as string;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500', LOG_LEVEL: 'fatal' });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.cleanup();
  });

  it('queuegate_event_loop_delay_seconds: a 300 ms block of the event loop lands above the 0.25 s bucket', async () => {
    await scrape(); // starts a new window
    const before = await scrape();
    const bucket = (text: string, le: string) => metricSample(text, 'queuegate_event_loop_delay_seconds_bucket', { le });
    const end = performance.now() + 300;
    while (performance.now() < end); // synchronous work, as a slow handler would do
    await new Promise((r) => setTimeout(r, 50));
    const after = await scrape();
    expect(after).toContain('# TYPE queuegate_event_loop_delay_seconds histogram');
    const delta = (le: string) => bucket(after, le) - bucket(before, le);
    expect(delta('+Inf')).toBeGreaterThan(0);
    expect(delta('+Inf') - delta('0.25')).toBeGreaterThanOrEqual(1); // the blocked tick
    expect(delta('1')).toBe(delta('+Inf')); // nothing near a second
    // Cumulative buckets never decrease from one bound to the next, and count = +Inf.
    const les = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
    const counts = les.map((le) => bucket(after, le));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(metricSample(after, 'queuegate_event_loop_delay_seconds_count')).toBe(bucket(after, '+Inf'));
    expect(metricSample(after, 'queuegate_event_loop_delay_seconds_sum') - metricSample(before, 'queuegate_event_loop_delay_seconds_sum')).toBeGreaterThan(0.2);
  });

  it('per event: seats per price level, configured and observed admission, maxActive, the status one-hot', async () => {
    const eventId = uniqueId('gauges');
    await app.createEvent(eventId, {
      layout: twoLevelLayout(4, 6),
      admission: { ratePerSecond: 250, maxActive: 40 },
    });
    const alice = await joinAndAdmit(app, eventId, 'alice');
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['S1-1-1', 'S1-1-2', 'S2-1-1'] }, alice.auth);
    expect(hold.status).toBe(201);
    const e = { event: eventId };
    // A replica learns of a new event within a second (its event list is read once a second).
    let text = (await pollUntil(scrape, (t) => t.includes(`queuegate_event_level_seats{event="${eventId}"`), { timeoutMs: 5000 })).value;
    const level = (price_level: string, state: string) => metricSample(text, 'queuegate_event_level_seats', { ...e, price_level, state });
    expect([level('A', 'available'), level('A', 'held'), level('A', 'sold')]).toEqual([2, 2, 0]);
    expect([level('B', 'available'), level('B', 'held'), level('B', 'sold')]).toEqual([5, 1, 0]);
    expect(metricSample(text, 'queuegate_event_admission_rate_per_second', e)).toBe(250);
    expect(metricSample(text, 'queuegate_event_observed_admission_rate_per_second', e)).toBeGreaterThan(0);
    expect(metricSample(text, 'queuegate_event_max_active', e)).toBe(40);
    expect(metricSample(text, 'queuegate_event_active', e)).toBe(1);
    expect(metricSample(text, 'queuegate_event_status', { ...e, status: 'open' })).toBe(1);
    expect(metricSample(text, 'queuegate_event_status', { ...e, status: 'paused' })).toBe(0);

    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    text = await scrape();
    expect(metricSample(text, 'queuegate_event_status', { ...e, status: 'paused' })).toBe(1);
    expect(metricSample(text, 'queuegate_event_status', { ...e, status: 'open' })).toBe(0);
  });

  it('open status streams and the queue snapshot age, by event', async () => {
    const eventId = uniqueId('streams');
    await app.createEvent(eventId, { capacity: 10 });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const tickets = await Promise.all(
      ['s1', 's2'].map(async (userId) => (await app.request('POST', `/v1/events/${eventId}/queue`, { userId })).body.ticket as string),
    );
    const streams = await Promise.all(tickets.map((t) => openSse(`${app.url}/v1/events/${eventId}/queue/${t}/events`)));
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const text = await scrape();
    expect(metricSample(text, 'queuegate_sse_streams', { event: eventId })).toBe(2);
    const age = metricSample(text, 'queuegate_queue_snapshot_age_seconds', { event: eventId });
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(2); // refreshed every 0.5 s (generous: the machine is shared)
    for (const s of streams) s.close();
    await pollUntil(scrape, (t) => metricSample(t, 'queuegate_sse_streams', { event: eventId }) === 0, { timeoutMs: 5000 });
  });

  it('the audit outcome (clean, then a counter tampered with) and a lost hold record', async () => {
    const eventId = uniqueId('audit');
    await app.createEvent(eventId, { capacity: 6, holdTtlSeconds: 300 });
    const e = { event: eventId };
    expect((await app.admin('GET', `/v1/events/${eventId}/audit`)).body.ok).toBe(true);
    let text = await scrape();
    expect(metricSample(text, 'queuegate_audits_total', { ...e, result: 'clean' })).toBe(1);
    expect(metricSample(text, 'queuegate_audit_mismatches', e)).toBe(0);

    // A live hold whose record goes (as eviction would): the sweeper gives its seats back and counts it.
    const bob = await joinAndAdmit(app, eventId, 'bob');
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, bob.auth);
    expect(hold.status).toBe(201);
    const client = redis.client();
    const keys = app.app.get(KeyBuilder).event(eventId);
    expect(await client.del(`${keys.holdPrefix}${hold.body.holdId}`)).toBe(1);
    await pollUntil(scrape, (t) => metricSample(t, 'queuegate_lost_hold_records_total', e) === 1, { timeoutMs: 5000 });

    // A counter off by one: the audit says so, and the gauge carries it.
    await client.hincrby(keys.meta, 'sold', 1);
    const audit = await app.admin('GET', `/v1/events/${eventId}/audit`);
    expect(audit.body.ok).toBe(false);
    text = await scrape();
    expect(metricSample(text, 'queuegate_audits_total', { ...e, result: 'mismatch' })).toBe(1);
    expect(metricSample(text, 'queuegate_audit_mismatches', e)).toBe(audit.body.mismatches.length);
    expect(metricSample(text, 'queuegate_audit_mismatches', e)).toBeGreaterThan(0);
    await client.quit();
  });

  it('queuegate_redis_up: 1, then 0 within a fast scrape while Redis is stopped, then 1 again', async () => {
    expect(metricSample(await scrape(), 'queuegate_redis_up')).toBe(1);
    await redis.stop();
    try {
      const started = performance.now();
      const down = await scrape();
      expect(metricSample(down, 'queuegate_redis_up')).toBe(0);
      expect(performance.now() - started).toBeLessThan(2000); // well inside any scrape timeout
    } finally {
      await redis.start();
    }
    await pollUntil(scrape, (t) => metricSample(t, 'queuegate_redis_up') === 1, { timeoutMs: 15_000, intervalMs: 200 });
  });
});
