import { ScriptReply } from '../src/redis/script-replies';
import { ScriptRegistry } from '../src/redis/script-registry';
import { SeatRepository } from '../src/seat/seat.repository';
import { Sweeper } from '../src/seat/sweeper';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit } from './support/flows';
import { admitAll, counters, eventDigest, expectError, readAccessToken, signAccessToken, sleep } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Every reply code of every seat script, provoked through the HTTP surface
 * (the sweep through the sweeper's own call), each checked twice: the HTTP
 * answer, and the script reply the registry really saw. Then the seat map's
 * paging on a 100,000-seat event and the orders stream's downstream contract.
 */
describe.each(TOPOLOGIES)('seat scripts on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  /** 'script CODE' (and 'confirm REPLAYED idempotent|confirmed') seen since the test began */
  const seen = new Set<string>();

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp(topology.env);
    app.app.get(ScriptRegistry).observe({
      onReply: (script: string, _keys: string[], reply: ScriptReply) => {
        seen.add(`${script} ${reply[0]}`);
        if (script === 'confirm' && reply[0] === 'REPLAYED') seen.add(`confirm REPLAYED ${String(reply[3])}`);
      },
      onError: () => undefined,
    });
  }, 60_000);
  beforeEach(() => seen.clear());
  afterAll(async () => {
    await app?.close();
    await topology?.stop();
  });

  const admission = { ratePerSecond: 100_000, maxActive: 1_000_000 };
  const ghostToken = (eventId: string) => ({
    authorization: `Bearer ${signAccessToken({ sub: 'ghost-user', eid: eventId, sid: '1', exp: Math.floor(Date.now() / 1000) + 600 })}`,
  });
  const expectSeen = (...replies: string[]) => expect([...seen].filter((s) => replies.includes(s)).sort()).toEqual([...replies].sort());

  it('hold: OK, REPLAYED, FORBIDDEN, LIMIT_EXCEEDED, SEAT_NOT_FOUND, SEAT_UNAVAILABLE, SOLD_OUT, EVENT_NOT_FOUND', async () => {
    const eventId = uniqueId('r-hold');
    await app.createEvent(eventId, { capacity: 6, maxSeatsPerUser: 4, admission });
    const [alice, bob, gone] = await admitAll(app, eventId, ['alice', 'bob', 'gone']);
    const hold = (auth: Record<string, string>, body: unknown, headers: Record<string, string> = {}) =>
      app.request('POST', `/v1/events/${eventId}/holds`, body, { ...auth, ...headers });

    const ok = await hold(alice.auth, { seatIds: ['GA-1', 'GA-2'] }, { 'idempotency-key': 'k1' });
    expect(ok.status).toBe(201);
    const replay = await hold(alice.auth, { seatIds: ['GA-1', 'GA-2'] }, { 'idempotency-key': 'k1' });
    expect({ status: replay.status, body: replay.body }).toEqual({ status: 201, body: ok.body });

    const limit = await hold(bob.auth, { seatIds: ['GA-3', 'GA-4', 'GA-5', 'GA-6', 'GA-1'] });
    expectError(limit, 409, 'LIMIT_EXCEEDED');
    expect(limit.body).toMatchObject({ current: 0, max: 4 });
    const missing = await hold(bob.auth, { seatIds: ['GA-3', 'GA-7', 'B-1'] });
    expectError(missing, 404, 'SEAT_NOT_FOUND');
    expect(missing.body.seatIds).toEqual(['GA-7', 'B-1']);
    const taken = await hold(bob.auth, { seatIds: ['GA-3', 'GA-2', 'GA-1'] });
    expectError(taken, 409, 'SEAT_UNAVAILABLE');
    expect(taken.body.seatIds).toEqual(['GA-2', 'GA-1']);
    const tooMany = await hold(bob.auth, { quantity: 3 });
    expect(tooMany.status).toBe(201);
    const soldOut = await hold(bob.auth, { quantity: 1 }); // 1 left, but bob's limit is fine (3 + 1)
    expect(soldOut.status).toBe(201);
    const none = await hold(gone.auth, { quantity: 1 });
    expectError(none, 409, 'SOLD_OUT');
    expect(none.body.available).toBe(0);
    expectError(await hold(gone.auth, { seatIds: ['GA-1'] }), 409, 'SOLD_OUT');

    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${gone.ticket}`)).status).toBe(204);
    expectError(await hold(gone.auth, { quantity: 1 }), 403, 'FORBIDDEN');

    // A valid token for an event that does not exist reaches the script, which finds no event.
    const ghost = uniqueId('r-ghost');
    expectError(await app.request('POST', `/v1/events/${ghost}/holds`, { quantity: 1 }, ghostToken(ghost)), 404, 'EVENT_NOT_FOUND');

    expectSeen('hold OK', 'hold REPLAYED', 'hold FORBIDDEN', 'hold LIMIT_EXCEEDED', 'hold SEAT_NOT_FOUND', 'hold SEAT_UNAVAILABLE', 'hold SOLD_OUT', 'hold EVENT_NOT_FOUND');
    expect(await counters(app, eventId)).toEqual({ available: 0, held: 6, sold: 0 });
    await expectCleanAudit(app, eventId);
  });

  it('hold: a malformed body is 400 VALIDATION, reaches no script and writes nothing', async () => {
    const eventId = uniqueId('r-body');
    await app.createEvent(eventId, { capacity: 30, maxSeatsPerUser: 20, admission });
    const [alice] = await admitAll(app, eventId, ['alice']);
    const digest = await eventDigest(topology, eventId);
    seen.clear();
    const bodies: [string, string | undefined][] = [
      ['no body', undefined],
      ['empty object', '{}'],
      ['both seatIds and quantity', JSON.stringify({ seatIds: ['GA-1'], quantity: 1 })],
      ['duplicate seat ids', JSON.stringify({ seatIds: ['GA-1', 'GA-1'] })],
      ['no seat ids', JSON.stringify({ seatIds: [] })],
      ['21 seat ids', JSON.stringify({ seatIds: Array.from({ length: 21 }, (_, i) => `GA-${i + 1}`) })],
      ['a seat id with a colon', JSON.stringify({ seatIds: ['GA:1'] })],
      ['a seat id with a brace', JSON.stringify({ seatIds: ['{GA-1}'] })],
      ['a number as seat id', JSON.stringify({ seatIds: [1] })],
      ['quantity as a string', JSON.stringify({ quantity: '2' })],
      ['fractional quantity', JSON.stringify({ quantity: 1.5 })],
      ['quantity 0', JSON.stringify({ quantity: 0 })],
      ['quantity 21', JSON.stringify({ quantity: 21 })],
      ['an unknown field', JSON.stringify({ quantity: 1, userId: 'bob' })],
      ['an array', JSON.stringify([{ quantity: 1 }])],
      ['null', 'null'],
      ['not JSON', '{quantity: 1'],
    ];
    for (const [what, body] of bodies) {
      const r = await app.request('POST', `/v1/events/${eventId}/holds`, body, { ...alice.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
      expect({ what, status: r.status, code: r.body?.code }).toEqual({ what, status: 400, code: 'VALIDATION' });
    }
    expect([...seen].filter((s) => s.startsWith('hold '))).toEqual([]);
    expect(await eventDigest(topology, eventId)).toBe(digest);
    // The largest valid named hold still works.
    const twenty = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: Array.from({ length: 20 }, (_, i) => `GA-${i + 1}`) }, alice.auth);
    expect(twenty.status).toBe(201);
    await expectCleanAudit(app, eventId);
  });

  it('release: OK, HOLD_NOT_FOUND, NOT_OWNER, EVENT_NOT_FOUND; confirm: OK, both REPLAYED, HOLD_NOT_FOUND, HOLD_EXPIRED, NOT_OWNER, EVENT_NOT_FOUND', async () => {
    const eventId = uniqueId('r-hold-ops');
    await app.createEvent(eventId, { capacity: 10, admission });
    const [alice, bob] = await admitAll(app, eventId, ['alice', 'bob']);
    const path = (holdId: string) => `/v1/events/${eventId}/holds/${holdId}`;
    const newHold = async () => (await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, alice.auth)).body.holdId as string;
    const unknown = 'AAAAAAAAAAAAAAAA'; // the shape of a hold id, so the script is asked

    const toRelease = await newHold();
    expectError(await app.request('DELETE', path(toRelease), undefined, bob.auth), 403, 'NOT_OWNER');
    expect((await app.request('DELETE', path(toRelease), undefined, alice.auth)).status).toBe(204);
    expectError(await app.request('DELETE', path(toRelease), undefined, alice.auth), 404, 'HOLD_NOT_FOUND');
    expectError(await app.request('DELETE', path(unknown), undefined, alice.auth), 404, 'HOLD_NOT_FOUND');

    const toConfirm = await newHold();
    expectError(await app.request('POST', `${path(toConfirm)}/confirm`, {}, bob.auth), 403, 'NOT_OWNER');
    const order = await app.request('POST', `${path(toConfirm)}/confirm`, { paymentRef: 'x' }, { ...alice.auth, 'idempotency-key': 'c1' });
    expect(order.status).toBe(201);
    const keyed = await app.request('POST', `${path(toConfirm)}/confirm`, {}, { ...alice.auth, 'idempotency-key': 'c1' });
    expect({ status: keyed.status, body: keyed.body }).toEqual({ status: 201, body: order.body });
    const again = await app.request('POST', `${path(toConfirm)}/confirm`, {}, alice.auth);
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: order.body });
    // A confirmed hold is no longer releasable.
    expectError(await app.request('DELETE', path(toConfirm), undefined, alice.auth), 404, 'HOLD_NOT_FOUND');
    expectError(await app.request('POST', `${path(unknown)}/confirm`, {}, alice.auth), 404, 'HOLD_NOT_FOUND');
    expectError(await app.request('POST', `${path(toRelease)}/confirm`, {}, alice.auth), 404, 'HOLD_NOT_FOUND');

    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { holdTtlSeconds: 1 })).status).toBe(200);
    const toExpire = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, bob.auth);
    await sleep(Date.parse(toExpire.body.expiresAt) - Date.now() + 50);
    expectError(await app.request('POST', `${path(toExpire.body.holdId)}/confirm`, {}, bob.auth), 410, 'HOLD_EXPIRED');

    const ghost = uniqueId('r-ghost');
    const ghostPath = `/v1/events/${ghost}/holds/${unknown}`;
    expectError(await app.request('DELETE', ghostPath, undefined, ghostToken(ghost)), 404, 'EVENT_NOT_FOUND');
    expectError(await app.request('POST', `${ghostPath}/confirm`, {}, ghostToken(ghost)), 404, 'EVENT_NOT_FOUND');

    expectSeen(
      'release OK', 'release HOLD_NOT_FOUND', 'release NOT_OWNER', 'release EVENT_NOT_FOUND',
      'confirm OK', 'confirm REPLAYED idempotent', 'confirm REPLAYED confirmed', 'confirm HOLD_NOT_FOUND',
      'confirm HOLD_EXPIRED', 'confirm NOT_OWNER', 'confirm EVENT_NOT_FOUND',
    );
    expect(await counters(app, eventId)).toEqual({ available: 9, held: 0, sold: 1 });
    await expectCleanAudit(app, eventId);
  });

  it('sweep: OK with the holds it expired, EVENT_NOT_FOUND for a missing event; seat map (seatChunk) and audit: OK and 404 EVENT_NOT_FOUND', async () => {
    const eventId = uniqueId('r-sweep');
    await app.createEvent(eventId, { capacity: 5, holdTtlSeconds: 1, admission });
    const [alice] = await admitAll(app, eventId, ['alice']);
    const sweeper = app.app.get(Sweeper);
    await sweeper.stop();
    try {
      const held = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 3 }, alice.auth);
      expect(held.status).toBe(201);
      await sleep(Date.parse(held.body.expiresAt) - Date.now() + 50);
      expect(await counters(app, eventId)).toEqual({ available: 2, held: 3, sold: 0 });
      // The sweeper's own pass over every event: this one's hold goes back.
      await sweeper.sweepAll();
      expect(await counters(app, eventId)).toEqual({ available: 5, held: 0, sold: 0 });
      const seats = app.app.get(SeatRepository);
      expect(await seats.sweep(eventId, 100)).toEqual({ expired: 0, live: 0 });
      expect(await seats.sweep(uniqueId('r-ghost'), 100)).toBeNull();
    } finally {
      sweeper.onApplicationBootstrap();
    }
    expect((await app.request('GET', `/v1/events/${eventId}/seats`)).status).toBe(200);
    expectError(await app.request('GET', `/v1/events/${uniqueId('r-ghost')}/seats`), 404, 'EVENT_NOT_FOUND');
    await expectCleanAudit(app, eventId);
    expectError(await app.admin('GET', `/v1/events/${uniqueId('r-ghost')}/audit`), 404, 'EVENT_NOT_FOUND');
    expectSeen('sweep OK', 'sweep EVENT_NOT_FOUND', 'seatChunk OK', 'seatChunk EVENT_NOT_FOUND', 'auditSeats OK', 'auditSeats EVENT_NOT_FOUND',
      'auditHolds OK', 'auditOrders OK', 'auditTotals OK');
  });

  it('pages the seat map of a 100,000-seat event in order, without duplicates, with status filters; limit > 1000 is 400', async () => {
    const eventId = uniqueId('r-map');
    let started = performance.now();
    await app.createEvent(eventId, { capacity: 100_000, maxSeatsPerUser: 20, admission });
    console.log(`[${name}] 100,000-seat event created in ${Math.round(performance.now() - started)} ms`);
    const [alice] = await admitAll(app, eventId, ['alice']);
    const heldSeats = ['GA-1', 'GA-1000', 'GA-1001', 'GA-50000', 'GA-100000'];
    const soldSeats = ['GA-2', 'GA-77777', 'GA-99999'];
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: heldSeats }, alice.auth)).status).toBe(201);
    const toSell = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: soldSeats }, alice.auth);
    expect((await app.request('POST', `/v1/events/${eventId}/holds/${toSell.body.holdId}/confirm`, {}, alice.auth)).status).toBe(201);
    const statusOf = (seatId: string) => (heldSeats.includes(seatId) ? 'held' : soldSeats.includes(seatId) ? 'sold' : 'available');

    /** Follows nextCursor to the end; returns the seats and each page's time. */
    async function walk(status: string) {
      const seats: { seatId: string; status: string }[] = [];
      const times: number[] = [];
      let cursor: number | null = 0;
      while (cursor !== null) {
        const r: any = await app.request('GET', `/v1/events/${eventId}/seats?limit=1000&cursor=${cursor}${status ? `&status=${status}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ available: 99_992, held: 5, sold: 3 });
        expect(r.body.seats.length).toBeLessThanOrEqual(1000);
        times.push(r.ms);
        seats.push(...r.body.seats);
        if (r.body.nextCursor !== null) expect(r.body.nextCursor).toBeGreaterThan(cursor);
        cursor = r.body.nextCursor;
        expect(times.length).toBeLessThanOrEqual(200); // a cursor that never ends fails here
      }
      const avg = times.reduce((a, b) => a + b, 0) / times.length;
      console.log(`[${name}] seat map '${status || 'all'}': ${times.length} pages, ${seats.length} seats, ${avg.toFixed(1)} ms avg, ${Math.max(...times).toFixed(1)} ms max per page`);
      return { seats, pages: times.length };
    }
    const seatOrder = (seats: { seatId: string }[]) => seats.map((s) => Number(s.seatId.slice(3)));
    // Plain loops and one expect each: 100,000 expect() calls would take seconds.
    const outOfOrder = (seats: { seatId: string }[]) => {
      const order = seatOrder(seats);
      return order.filter((n, i) => i > 0 && n <= order[i - 1]).length;
    };

    started = performance.now();
    const all = await walk('');
    expect(all.seats).toHaveLength(100_000);
    expect(all.pages).toBe(100);
    expect(outOfOrder(all.seats)).toBe(0);
    expect(seatOrder(all.seats)[99_999]).toBe(100_000);
    expect(all.seats.filter((s) => statusOf(s.seatId) !== s.status)).toEqual([]);
    expect(all.seats.filter((s) => s.status !== 'available').map((s) => s.seatId).sort()).toEqual([...heldSeats, ...soldSeats].sort());

    const available = await walk('available');
    expect(available.seats).toHaveLength(99_992);
    expect(outOfOrder(available.seats)).toBe(0);
    expect(available.seats.every((s) => s.status === 'available' && statusOf(s.seatId) === 'available')).toBe(true);
    const held = await walk('held');
    expect(held.seats).toEqual(heldSeats.map((seatId) => ({ seatId, status: 'held', priceLevel: 'GA' })));
    const sold = await walk('sold');
    expect(sold.seats).toEqual(soldSeats.map((seatId) => ({ seatId, status: 'sold', priceLevel: 'GA' })));
    console.log(`[${name}] four walks of the seat map in ${Math.round(performance.now() - started)} ms`);

    // The default page is 100; the bounds and filters are checked before Redis.
    const firstPage = await app.request('GET', `/v1/events/${eventId}/seats`);
    expect(firstPage.body.seats).toHaveLength(100);
    expect(firstPage.body.nextCursor).toBe(100);
    for (const query of ['limit=1001', 'limit=0', 'limit=-5', 'limit=abc', 'cursor=-1', 'cursor=x', 'status=free', 'status=HELD', 'extra=1']) {
      expectError(await app.request('GET', `/v1/events/${eventId}/seats?${query}`), 400, 'VALIDATION');
    }
    started = performance.now();
    await expectCleanAudit(app, eventId);
    console.log(`[${name}] audit of 100,000 seats in ${Math.round(performance.now() - started)} ms`);
  });

  it('writes one orders-stream entry per order, readable with a consumer group', async () => {
    const eventId = uniqueId('r-orders');
    const ordersKey = `qg:{${eventId}}:orders`;
    await app.createEvent(eventId, { capacity: 20, admission });
    const users = await admitAll(app, eventId, ['o0', 'o1', 'o2', 'o3']);
    const before = Date.now();
    const orders: { userId: string; holdId: string; orderId: string; seatIds: string[]; paymentRef: string }[] = [];
    for (const [i, u] of users.slice(0, 3).entries()) {
      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: i + 1 }, u.auth);
      const paymentRef = i === 2 ? '' : `pay-${i}`;
      const order = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, paymentRef ? { paymentRef } : {}, u.auth);
      expect(order.status).toBe(201);
      // A repeated confirm answers the same order and adds no entry.
      expect((await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, u.auth)).status).toBe(200);
      orders.push({ userId: u.userId, holdId: hold.body.holdId, orderId: order.body.orderId, seatIds: order.body.seatIds, paymentRef });
    }
    // A released hold makes no order.
    const released = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, users[3].auth);
    expect((await app.request('DELETE', `/v1/events/${eventId}/holds/${released.body.holdId}`, undefined, users[3].auth)).status).toBe(204);
    const after = Date.now();

    const toObject = (fields: string[]): Record<string, string> =>
      Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    await withClient(topology, async (c) => {
      const entries = (await c.xrange(ordersKey, '-', '+')).map(([id, fields]): Record<string, string> => ({ id, ...toObject(fields) }));
      expect(entries).toHaveLength(3);
      for (const [i, e] of entries.entries()) {
        const { id, at, ...rest } = e;
        expect(id).toMatch(/^\d+-\d+$/);
        expect(Object.keys(e).sort()).toEqual(['at', 'eventId', 'holdId', 'id', 'orderId', 'paymentRef', 'seatIds', 'userId']);
        expect(rest).toEqual({ ...orders[i], eventId, seatIds: orders[i].seatIds.join(',') });
        expect(Number(at)).toBeGreaterThanOrEqual(before - 50);
        expect(Number(at)).toBeLessThanOrEqual(after + 50);
      }

      // Downstream: a consumer group from the start gets every order once, then only new ones.
      expect(await c.xgroup('CREATE', ordersKey, 'payments', '0')).toBe('OK');
      const read = async () => {
        const reply = (await c.xreadgroup('GROUP', 'payments', 'worker-1', 'COUNT', 100, 'STREAMS', ordersKey, '>')) as [string, [string, string[]][]][] | null;
        return reply ? reply[0][1].map(([id, fields]): Record<string, string> => ({ id, ...toObject(fields) })) : [];
      };
      const firstBatch = await read();
      expect(firstBatch.map((e) => e.orderId)).toEqual(orders.map((o) => o.orderId));
      expect(await c.xack(ordersKey, 'payments', ...firstBatch.map((e) => e.id))).toBe(3);
      expect(await read()).toEqual([]);
      expect(((await c.xpending(ordersKey, 'payments')) as unknown[])[0]).toBe(0);

      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, users[3].auth);
      const order = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, { paymentRef: 'late' }, users[3].auth);
      const next = await read();
      expect(next).toHaveLength(1);
      expect(next[0]).toMatchObject({ orderId: order.body.orderId, userId: 'o3', holdId: hold.body.holdId, paymentRef: 'late', eventId });
    });
    expect(await counters(app, eventId)).toEqual({ available: 12, held: 0, sold: 8 });
    await expectCleanAudit(app, eventId);
    expect(readAccessToken(users[0].token).eid).toBe(eventId);
  });
});
