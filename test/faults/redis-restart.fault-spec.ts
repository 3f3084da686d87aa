import Redis from 'ioredis';
import { performance } from 'node:perf_hooks';
import { startApp, TestApp, uniqueId } from '../support/app-harness';
import { expectCleanAudit, joinAndAdmit } from '../support/flows';
import { startRedis } from '../support/redis-harness';
import { FAULT_LOG_LEVEL, LoadLoop, LOAD_CAPACITY, orderIds, Poller, prepareLoad, report, show, sleep, tally, unexpectedCalls } from './load';

// Redis goes away for 3 s and comes back, under load, while the service keeps
// running (the same in-process app instance throughout).
//
// Redis runs with an append-only file, fsync'd every second. That is the
// durability window: a crash (SIGKILL, power loss) may lose up to 1 s of
// acknowledged writes; a clean shutdown (SIGTERM, as here) writes and syncs
// the file first and loses none. So here nothing acknowledged may be missing.

describe('Redis stopped for 3 s (SIGTERM, AOF everysec) and started again, under load', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let client: Redis | undefined;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    app = await startApp({ REDIS_URL: redis.url, ...FAULT_LOG_LEVEL });
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  it('answers only 503 UNAVAILABLE while Redis is away, recovers by itself, and loses nothing acknowledged', async () => {
    const { eventIds, users, joiners, readers } = await prepareLoad(app, 'restart');
    const serving = app.app;
    const ready = new Poller(`${app.url}/health/ready`, 100).start();
    const live = new Poller(`${app.url}/health/live`, 200).start();
    const load = new LoadLoop({ users, joiners, readers, capacity: LOAD_CAPACITY, keepUpTo: 4, maxRequests: 40_000, maxDurationMs: 20_000 }).start();
    const t0 = performance.now();

    await sleep(1500);
    const stopAt = performance.now();
    await redis.stop(); // SIGTERM: Redis writes and fsyncs the AOF, then exits
    const stoppedAt = performance.now();
    await sleep(3000);
    const restartAt = performance.now();
    await redis.start(); // same port, same folder: it loads the AOF (start() waits until PING answers)
    const readyAt = await ready.waitFor(200, restartAt, 10_000);
    await sleep(1500);
    await load.stop();
    await Promise.all([ready.stop(), live.stop()]);
    report('restart', load.calls);

    // 1. Every answer is a contract answer; 503 UNAVAILABLE only for requests that overlapped the outage.
    const inOutage = (c: { start: number; end: number }) => c.end >= stopAt && c.start <= readyAt;
    const bad = unexpectedCalls(load.calls, inOutage);
    const loadTally = tally(load.calls);
    expect({ bad: show(bad, t0), tally: loadTally }).toEqual({ bad: [], tally: loadTally });
    expect(load.calls.filter((c) => c.status === 503).length).toBeGreaterThan(0);
    // ...and after readiness came back, the load went on with success answers.
    const after = load.calls.filter((c) => c.start > readyAt);
    expect(after.length).toBeGreaterThan(50);
    expect(after.filter((c) => c.op === 'hold' && c.status === 201).length).toBeGreaterThan(0);

    // 2. Readiness: 503 while Redis was away, 200 again after; liveness never failed; same app instance.
    const whileAway = ready.samples.filter((s) => s.start >= stoppedAt && s.end <= restartAt);
    expect(whileAway.length).toBeGreaterThan(5);
    expect(whileAway.every((s) => s.status === 503)).toBe(true);
    expect(ready.samples.filter((s) => s.start > readyAt).every((s) => s.status === 200)).toBe(true);
    expect(live.samples.length).toBeGreaterThan(10);
    expect(live.samples.every((s) => s.status === 200)).toBe(true);
    expect(app.app).toBe(serving);

    // 3. Nothing acknowledged before the stop is lost.
    client = redis.client();
    const before = <T extends { ackedAt: number }>(list: T[]) => list.filter((x) => x.ackedAt < stopAt);
    const kept = before(load.holds).filter((h) => h.fate === 'held');
    const confirmed = load.holds.filter((h) => h.fate === 'confirmed' && (h.confirmedAt ?? Infinity) < stopAt);
    const joins = before(load.joins);
    expect(kept.length).toBeGreaterThan(0);
    expect(confirmed.length).toBeGreaterThan(0);
    expect(joins.length).toBeGreaterThan(0);
    const lost: string[] = [];
    for (const h of kept) {
      const values = await client.hmget(`qg:{${h.eventId}}:seats`, ...h.seatIds);
      if (values.some((v) => v !== `h:${h.holdId}`)) lost.push(`hold ${h.holdId} ${h.seatIds}: ${values}`);
    }
    const orders = new Map(await Promise.all(eventIds.map(async (id) => [id, await orderIds(client!, id)] as const)));
    for (const h of confirmed) {
      if (!orders.get(h.eventId)?.has(h.orderId!)) lost.push(`order ${h.orderId} not in the orders stream`);
      const values = await client.hmget(`qg:{${h.eventId}}:seats`, ...h.seatIds);
      if (values.some((v) => v !== `s:${h.orderId}`)) lost.push(`order ${h.orderId} ${h.seatIds}: ${values}`);
    }
    for (const j of joins) {
      const r = await app.request('GET', `/v1/events/${j.eventId}/queue/${j.ticket}`);
      if (r.status !== 200) lost.push(`ticket of ${j.userId}: ${r.status} ${r.body?.code}`);
    }
    expect(lost).toEqual([]);

    for (const eventId of eventIds) await expectCleanAudit(app, eventId);
  }, 60_000);
});

// Without persistence a restarted Redis is empty: every event is gone. The
// service cannot bring it back, but it must say so with the contract's 404s,
// not fail with a 500 for a request it simply cannot serve any more.
describe('Redis restarted without its data (no persistence)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'no']);
    app = await startApp({ REDIS_URL: redis.url, ...FAULT_LOG_LEVEL });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await redis?.cleanup();
  });

  it('answers 404 for the vanished event on every route, never 5xx', async () => {
    const eventId = uniqueId('vanished');
    const base = `/v1/events/${eventId}`;
    await app.createEvent(eventId, { capacity: 10 });
    const user = await joinAndAdmit(app, eventId, 'dave');
    const hold = await app.request('POST', `${base}/holds`, { quantity: 1 }, user.auth);
    expect(hold.status).toBe(201);

    await redis.stop();
    await redis.start();
    const ready = new Poller(`${app.url}/health/ready`, 50).start();
    await ready.waitFor(200, 0, 10_000);
    await ready.stop();

    // The access token is still valid (it is signed, not stored): the scripts find no event.
    const answers = {
      view: await app.request('GET', base),
      seats: await app.request('GET', `${base}/seats`),
      join: await app.request('POST', `${base}/queue`, { userId: 'erin' }),
      ticket: await app.request('GET', `${base}/queue/${user.ticket}`),
      hold: await app.request('POST', `${base}/holds`, { quantity: 1 }, user.auth),
      confirm: await app.request('POST', `${base}/holds/${hold.body.holdId}/confirm`, {}, user.auth),
      release: await app.request('DELETE', `${base}/holds/${hold.body.holdId}`, undefined, user.auth),
      audit: await app.admin('GET', `${base}/audit`),
    };
    const got = Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, `${r.status} ${r.body?.code}`]));
    expect(got).toEqual({
      view: '404 EVENT_NOT_FOUND',
      seats: '404 EVENT_NOT_FOUND',
      join: '404 EVENT_NOT_FOUND',
      ticket: '404 EVENT_NOT_FOUND',
      hold: '404 EVENT_NOT_FOUND',
      confirm: '404 EVENT_NOT_FOUND',
      release: '404 EVENT_NOT_FOUND',
      audit: '404 EVENT_NOT_FOUND',
    });
  }, 60_000);
});
