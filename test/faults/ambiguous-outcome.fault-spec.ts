import type Redis from 'ioredis';
import { performance } from 'node:perf_hooks';
import { startApp, TestApp, uniqueId } from '../support/app-harness';
import { Admitted, expectCleanAudit, joinAndAdmit } from '../support/flows';
import { startRedis } from '../support/redis-harness';
import { FAULT_LOG_LEVEL, LoadLoop, LOAD_CAPACITY, orderIds, prepareLoad, report, show, sleep, tally, unexpectedCalls } from './load';

// The ambiguous outcome: the client gives up on a hold (or a confirm) while
// the server still carries it out, so the client cannot know whether it
// happened. Redis is paused for writes for 300 ms (CLIENT PAUSE WRITE) so the
// server is certainly still working when the client aborts; the script then
// runs anyway. The client retries with the same Idempotency-Key: it must get
// the first outcome back, and exactly one hold (one order) must exist.

const PAUSE_MS = 300;

describe('an ambiguous outcome (the client gave up, the server went on), retried with the same Idempotency-Key', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, ...FAULT_LOG_LEVEL });
    client = redis.client();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  /** Sends a request and aborts it after `abortAfterMs`, while Redis holds writes for PAUSE_MS: the client never sees the answer. */
  async function sendAndGiveUp(path: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await client.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 100);
    const outcome = await fetch(app.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: abort.signal,
    }).then(
      (r) => `answered ${r.status}`,
      (err: Error) => err.name,
    );
    clearTimeout(timer);
    expect(outcome).toBe('AbortError');
  }

  async function view(eventId: string) {
    return (await app.request('GET', `/v1/events/${eventId}`)).body as { held: number; sold: number; available: number };
  }

  /** Waits (bounded) until the event view shows what the abandoned request did. */
  async function until(eventId: string, done: (v: { held: number; sold: number }) => boolean): Promise<void> {
    for (let i = 0; i < 100 && !done(await view(eventId)); i += 1) await sleep(20);
    expect(done(await view(eventId))).toBe(true);
  }

  it('gives the first hold and the first order back, and makes exactly one of each', async () => {
    const { eventIds, users, joiners, readers } = await prepareLoad(app, 'ambiguous');
    const load = new LoadLoop({ users, joiners, readers, capacity: LOAD_CAPACITY, maxRequests: 20_000, maxDurationMs: 15_000 }).start();
    const t0 = performance.now();

    const eventId = uniqueId('ambiguous');
    const base = `/v1/events/${eventId}`;
    await app.createEvent(eventId, { capacity: 10, maxSeatsPerUser: 4, admission: { ratePerSecond: 100 } });
    const user: Admitted = await joinAndAdmit(app, eventId, 'carol');
    const holdKey = { ...user.auth, 'idempotency-key': 'hold-attempt-1' };

    // 1. The hold: the client gives up, the server holds 2 seats anyway.
    await sendAndGiveUp(`${base}/holds`, { quantity: 2 }, holdKey);
    await until(eventId, (v) => v.held === 2);
    const live = await client.zrange(`qg:{${eventId}}:holds`, 0, -1);
    expect(live).toHaveLength(1);

    // The retry (and five more at once, as an impatient client would) answer the first hold.
    const retries = await Promise.all(Array.from({ length: 6 }, () => app.request('POST', `${base}/holds`, { quantity: 2 }, holdKey)));
    expect(retries.map((r) => r.status)).toEqual(retries.map(() => 201));
    // The live-hold index member is '<holdId>|<userId>|<seat1,seat2>'.
    const [liveHoldId, liveUser, liveSeats] = live[0].split('|');
    expect(liveUser).toBe('carol');
    expect(new Set(retries.map((r) => r.body.holdId))).toEqual(new Set([liveHoldId]));
    expect(new Set(retries.map((r) => r.body.seatIds.join(',')))).toEqual(new Set([liveSeats]));
    expect(await client.hget(`qg:{${eventId}}:hold:${liveHoldId}`, 'seatIds')).toBe(liveSeats);
    expect(await view(eventId)).toMatchObject({ held: 2, sold: 0, available: 8 });
    expect(await client.zrange(`qg:{${eventId}}:holds`, 0, -1)).toEqual(live);
    await expectCleanAudit(app, eventId);

    // 2. The confirm: the client gives up, the server sells the seats anyway.
    const holdId = liveHoldId;
    const confirmKey = { ...user.auth, 'idempotency-key': 'confirm-attempt-1' };
    await sendAndGiveUp(`${base}/holds/${holdId}/confirm`, { paymentRef: 'pay-1' }, confirmKey);
    await until(eventId, (v) => v.sold === 2);
    const orders = [...(await orderIds(client, eventId))];
    expect(orders).toHaveLength(1);
    const confirms = await Promise.all(Array.from({ length: 6 }, () => app.request('POST', `${base}/holds/${holdId}/confirm`, { paymentRef: 'pay-1' }, confirmKey)));
    expect(confirms.map((r) => r.status)).toEqual(confirms.map(() => 201));
    expect(new Set(confirms.map((r) => r.body.orderId))).toEqual(new Set(orders));
    expect([...(await orderIds(client, eventId))]).toEqual(orders);
    expect(await view(eventId)).toMatchObject({ held: 0, sold: 2, available: 8 });
    await expectCleanAudit(app, eventId);

    // The load around it (held up by each 300 ms pause, never failed) saw only contract answers.
    await load.stop();
    report('ambiguous', load.calls);
    const bad = unexpectedCalls(load.calls);
    const loadTally = tally(load.calls);
    expect({ bad: show(bad, t0), tally: loadTally }).toEqual({ bad: [], tally: loadTally });
    expect(load.calls.length).toBeGreaterThan(100);
    for (const id of eventIds) await expectCleanAudit(app, id);
  }, 60_000);
});
