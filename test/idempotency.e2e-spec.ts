import { TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit } from './support/flows';
import { pollUntil } from './support/inspect';
import { admitAll, counters, eventDigest, expectError, sleep, tally } from './support/seat-flows';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Idempotency-Key on POST .../holds and .../confirm: a retry with the same key
 * and user gets the first answer again and changes nothing (CONTRACT §3),
 * even when the retries arrive all at once.
 */
describe.each(TOPOLOGIES)('Idempotency-Key on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const admission = { ratePerSecond: 100_000, maxActive: 1_000_000 };
  const key = (k: string) => ({ 'idempotency-key': k });
  const liveHolds = (eventId: string) => withClient(topology, (c) => c.zcard(`qg:{${eventId}}:holds`));
  const orderCount = (eventId: string) => withClient(topology, (c) => c.xlen(`qg:{${eventId}}:orders`));

  it('a hold retried with the same key returns the same hold and changes nothing; keys are per user', async () => {
    const eventId = uniqueId('idem-hold');
    await app.createEvent(eventId, { capacity: 10, admission });
    const [alice, bob] = await admitAll(app, eventId, ['alice', 'bob']);
    const hold = (auth: Record<string, string>, body: unknown, k = 'hold-1') => app.request('POST', `/v1/events/${eventId}/holds`, body, { ...auth, ...key(k) });

    const first = await hold(alice.auth, { seatIds: ['GA-1', 'GA-2'] });
    expect(first.status).toBe(201);
    const digest = await eventDigest(topology, eventId);
    const again = await hold(alice.auth, { seatIds: ['GA-1', 'GA-2'] });
    expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: first.body });
    // Even with another body, the key answers what it answered first.
    const otherBody = await hold(alice.auth, { quantity: 1 });
    expect({ status: otherBody.status, body: otherBody.body }).toEqual({ status: 201, body: first.body });
    expect(await eventDigest(topology, eventId)).toBe(digest);
    expect(await counters(app, eventId)).toEqual({ available: 8, held: 2, sold: 0 });
    expect(await liveHolds(eventId)).toBe(1);

    // Bob's same key is his own: a new hold.
    const bobs = await hold(bob.auth, { seatIds: ['GA-3'] });
    expect(bobs.status).toBe(201);
    expect(bobs.body.holdId).not.toBe(first.body.holdId);
    expect(await counters(app, eventId)).toEqual({ available: 7, held: 3, sold: 0 });
    await expectCleanAudit(app, eventId);
  });

  it('10 concurrent holds with one key make exactly one hold, and all get its answer', async () => {
    const eventId = uniqueId('idem-race');
    await app.createEvent(eventId, { capacity: 50, maxSeatsPerUser: 4, admission });
    const [carol] = await admitAll(app, eventId, ['carol']);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, { ...carol.auth, ...key('burst') })),
    );
    expect(tally(results)).toEqual({ 201: 10 });
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(results[0].body.seatIds).toEqual(['GA-1', 'GA-2']);
    expect(await liveHolds(eventId)).toBe(1);
    expect(await counters(app, eventId)).toEqual({ available: 48, held: 2, sold: 0 });
    // Her count is 2, not 20: two more fit, a third does not.
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, carol.auth)).status).toBe(201);
    expectError(await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, carol.auth), 409, 'LIMIT_EXCEEDED');
    await expectCleanAudit(app, eventId);
  });

  it('confirm: a keyed retry repeats the 201 with the same order, a retry without key is 200 with the same order, races make one order', async () => {
    const eventId = uniqueId('idem-confirm');
    await app.createEvent(eventId, { capacity: 20, admission });
    const users = await admitAll(app, eventId, ['d0', 'd1', 'd2']);
    const holds = await Promise.all(users.map((u) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, u.auth)));
    expect(tally(holds)).toEqual({ 201: 3 });
    const confirm = (i: number, headers: Record<string, string> = {}) =>
      app.request('POST', `/v1/events/${eventId}/holds/${holds[i].body.holdId}/confirm`, { paymentRef: `pay-${i}` }, { ...users[i].auth, ...headers });

    // One by one.
    const first = await confirm(0, key('order-0'));
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ orderId: expect.stringMatching(/^ord_/), seatIds: holds[0].body.seatIds });
    const digest = await eventDigest(topology, eventId);
    const keyed = await confirm(0, key('order-0'));
    expect({ status: keyed.status, body: keyed.body }).toEqual({ status: 201, body: first.body });
    const unkeyed = await confirm(0);
    expect({ status: unkeyed.status, body: unkeyed.body }).toEqual({ status: 200, body: first.body });
    expect(await eventDigest(topology, eventId)).toBe(digest);
    expect(await orderCount(eventId)).toBe(1);

    // 10 at once with one key: one order, every answer is its 201.
    const sameKey = await Promise.all(Array.from({ length: 10 }, () => confirm(1, key('order-1'))));
    expect(tally(sameKey)).toEqual({ 201: 10 });
    expect(new Set(sameKey.map((r) => r.body.orderId)).size).toBe(1);
    // 10 at once without a key: one creates (201), nine find it confirmed (200), one order.
    const noKey = await Promise.all(Array.from({ length: 10 }, () => confirm(2)));
    expect(tally(noKey)).toEqual({ 201: 1, 200: 9 });
    expect(new Set(noKey.map((r) => r.body.orderId)).size).toBe(1);

    expect(await orderCount(eventId)).toBe(3);
    expect(await counters(app, eventId)).toEqual({ available: 14, held: 0, sold: 6 });
    await expectCleanAudit(app, eventId);
  });

  it('a confirm key reused for another hold buys that hold instead of replaying the first order', async () => {
    const eventId = uniqueId('idem-scope');
    await app.createEvent(eventId, { capacity: 10, admission });
    const [dave] = await admitAll(app, eventId, ['dave']);
    const h1 = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-1'] }, dave.auth);
    const h2 = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-2'] }, dave.auth);
    const confirm = (holdId: string) => app.request('POST', `/v1/events/${eventId}/holds/${holdId}/confirm`, {}, { ...dave.auth, ...key('checkout') });
    const first = await confirm(h1.body.holdId);
    const second = await confirm(h2.body.holdId);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.orderId).not.toBe(first.body.orderId);
    expect(second.body.seatIds).toEqual(['GA-2']);
    expect(await orderCount(eventId)).toBe(2);
    expect(await counters(app, eventId)).toEqual({ available: 8, held: 0, sold: 2 });
    await expectCleanAudit(app, eventId);
  });

  it('after expiry: a keyed confirm is 410 every time, the hold key still answers its first hold and re-holds nothing', async () => {
    const eventId = uniqueId('idem-expiry');
    await app.createEvent(eventId, { capacity: 5, holdTtlSeconds: 1, admission });
    const [erin] = await admitAll(app, eventId, ['erin']);
    const hold = () => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, { ...erin.auth, ...key('late-hold') });
    const first = await hold();
    expect(first.status).toBe(201);
    // Past expiresAt and the sweeper's next pass (waited for; hold-expiry.e2e-spec.ts times it).
    await sleep(Date.parse(first.body.expiresAt) - Date.now());
    await pollUntil(() => counters(app, eventId), (c) => c.held === 0, { timeoutMs: 5000, intervalMs: 50 });
    expect(await counters(app, eventId)).toEqual({ available: 5, held: 0, sold: 0 });

    const confirm = () => app.request('POST', `/v1/events/${eventId}/holds/${first.body.holdId}/confirm`, {}, { ...erin.auth, ...key('late-confirm') });
    expectError(await confirm(), 410, 'HOLD_EXPIRED');
    expectError(await confirm(), 410, 'HOLD_EXPIRED'); // a refusal is not remembered as the key's answer
    const replay = await hold();
    expect({ status: replay.status, body: replay.body }).toEqual({ status: 201, body: first.body });
    expect(await counters(app, eventId)).toEqual({ available: 5, held: 0, sold: 0 });
    expect(await orderCount(eventId)).toBe(0);
    await expectCleanAudit(app, eventId);
  });

  it('rejects a malformed Idempotency-Key with 400 VALIDATION before anything is written', async () => {
    const eventId = uniqueId('idem-bad');
    await app.createEvent(eventId, { capacity: 5, admission });
    const [frank] = await admitAll(app, eventId, ['frank']);
    const held = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, frank.auth);
    expect(held.status).toBe(201);
    const digest = await eventDigest(topology, eventId);
    for (const bad of ['a:b', '{tag}', 'two words', 'x'.repeat(65), 'semi;colon', 'slash/y']) {
      expectError(await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { ...frank.auth, ...key(bad) }), 400, 'VALIDATION');
      expectError(await app.request('POST', `/v1/events/${eventId}/holds/${held.body.holdId}/confirm`, {}, { ...frank.auth, ...key(bad) }), 400, 'VALIDATION');
    }
    expect(await eventDigest(topology, eventId)).toBe(digest);
    // The longest valid key, every allowed character.
    const longest = ('Az09._-'.repeat(10) + 'abcd').slice(0, 64);
    expect(longest).toHaveLength(64);
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { ...frank.auth, ...key(longest) })).status).toBe(201);
    await expectCleanAudit(app, eventId);
  });
});
