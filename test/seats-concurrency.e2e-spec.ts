import { HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit, joinAndAdmit } from './support/flows';
import { pollUntil } from './support/inspect';
import { admitAll, counters, expectError, sample, sleep, tally } from './support/seat-flows';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Many users (or one user many times) racing for the same seats, fired as
 * real concurrent HTTP requests: every outcome is counted exactly and the
 * seats, counters and audit must agree afterwards (CONTRACT invariants 1, 2, 5).
 */
describe.each(TOPOLOGIES)('seat races on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const fastAdmission = { ratePerSecond: 100_000, maxActive: 1_000_000 };
  const seatsOf = (eventId: string, status: string) =>
    app.request('GET', `/v1/events/${eventId}/seats?status=${status}&limit=1000`).then((r) => r.body.seats.map((s: { seatId: string }) => s.seatId));

  it('1,000 admitted users racing for 100 seats: each seat held once, every answer counted; then half release, half confirm', async () => {
    const eventId = uniqueId('race1000');
    const capacity = 100;
    await app.createEvent(eventId, { capacity, maxSeatsPerUser: 3, admission: fastAdmission });
    const users = await admitAll(app, eventId, Array.from({ length: 1000 }, (_, i) => `u${i}`));
    const allSeats = Array.from({ length: capacity }, (_, i) => `GA-${i + 1}`);
    // Half ask for one seat, the rest for two or three random seats (all or nothing).
    const wanted = users.map((_, i) => sample(allSeats, i % 2 === 0 ? 1 : 2 + (i % 3 === 0 ? 1 : 0)));

    const results = await Promise.all(
      users.map((u, i) => app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: wanted[i] }, u.auth)),
    );

    const counts = tally(results);
    const ok = results.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 201);
    const unavailable = results.filter((r) => r.body?.code === 'SEAT_UNAVAILABLE').length;
    const soldOut = results.filter((r) => r.body?.code === 'SOLD_OUT').length;
    // Nothing but these three outcomes, and they add up to every request.
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['201']));
    for (const key of Object.keys(counts)) expect(['201', '409 SEAT_UNAVAILABLE', '409 SOLD_OUT']).toContain(key);
    expect(ok.length + unavailable + soldOut).toBe(1000);

    // Each success got exactly the seats it asked for, and no seat is in two holds.
    const heldBy = new Map<string, string>();
    for (const { r, i } of ok) {
      expect([...r.body.seatIds].sort()).toEqual([...wanted[i]].sort());
      for (const seatId of r.body.seatIds as string[]) {
        expect(heldBy.get(seatId)).toBeUndefined();
        heldBy.set(seatId, r.body.holdId);
      }
    }
    expect(new Set(ok.map(({ r }) => r.body.holdId)).size).toBe(ok.length);
    // The seat map shows exactly those seats held, and the counters agree.
    expect((await seatsOf(eventId, 'held')).sort()).toEqual([...heldBy.keys()].sort());
    expect(await counters(app, eventId)).toEqual({ available: capacity - heldBy.size, held: heldBy.size, sold: 0 });
    // A refusal names seats of the request that really were taken (nothing is released in between).
    for (const [i, r] of results.entries()) {
      if (r.body?.code !== 'SEAT_UNAVAILABLE') continue;
      expect(r.body.seatIds.length).toBeGreaterThan(0);
      for (const seatId of r.body.seatIds as string[]) {
        expect(wanted[i]).toContain(seatId);
        expect(heldBy.has(seatId)).toBe(true);
      }
    }
    // SOLD_OUT is only said when nothing was left, so then every seat is held.
    if (soldOut > 0) expect(heldBy.size).toBe(capacity);
    await expectCleanAudit(app, eventId);
    console.log(`[${name}] 1,000 holds on 100 seats: ${JSON.stringify(counts)}, ${heldBy.size} seats held`);

    // Now, concurrently: even-numbered holds are released, odd ones confirmed.
    const toRelease = ok.filter((_, n) => n % 2 === 0);
    const toConfirm = ok.filter((_, n) => n % 2 === 1);
    const settle = await Promise.all([
      ...toRelease.map(({ r, i }) => app.request('DELETE', `/v1/events/${eventId}/holds/${r.body.holdId}`, undefined, users[i].auth)),
      ...toConfirm.map(({ r, i }) => app.request('POST', `/v1/events/${eventId}/holds/${r.body.holdId}/confirm`, {}, users[i].auth)),
    ]);
    expect(tally(settle)).toEqual({
      ...(toRelease.length ? { 204: toRelease.length } : {}),
      ...(toConfirm.length ? { 201: toConfirm.length } : {}),
    });
    const soldSeats = toConfirm.flatMap(({ r }) => r.body.seatIds as string[]);
    expect(await counters(app, eventId)).toEqual({ available: capacity - soldSeats.length, held: 0, sold: soldSeats.length });
    expect((await seatsOf(eventId, 'sold')).sort()).toEqual([...soldSeats].sort());
    const orders = await withClient(topology, (c) => c.xlen(`qg:{${eventId}}:orders`));
    expect(orders).toBe(toConfirm.length);
    await expectCleanAudit(app, eventId);
  });

  it('200 concurrent quantity holds against 50 seats: exactly 50 seats held, none twice', async () => {
    const single = uniqueId('qty1');
    const pairs = uniqueId('qty2');
    await app.createEvent(single, { capacity: 50, admission: fastAdmission });
    await app.createEvent(pairs, { capacity: 50, admission: fastAdmission });
    const userIds = Array.from({ length: 200 }, (_, i) => `q${i}`);
    const [singleUsers, pairUsers] = await Promise.all([admitAll(app, single, userIds), admitAll(app, pairs, userIds)]);

    // One seat each on one event, two seats each on the other, all fired at once.
    const [ones, twos] = await Promise.all([
      Promise.all(singleUsers.map((u) => app.request('POST', `/v1/events/${single}/holds`, { quantity: 1 }, u.auth))),
      Promise.all(pairUsers.map((u) => app.request('POST', `/v1/events/${pairs}/holds`, { quantity: 2 }, u.auth))),
    ]);

    expect(tally(ones)).toEqual({ 201: 50, '409 SOLD_OUT': 150 });
    expect(tally(twos)).toEqual({ 201: 25, '409 SOLD_OUT': 175 });
    const everySeat = Array.from({ length: 50 }, (_, i) => `GA-${i + 1}`).sort();
    for (const [eventId, results, size] of [[single, ones, 1], [pairs, twos, 2]] as [string, HttpResult[], number][]) {
      const got = results.filter((r) => r.status === 201).flatMap((r) => r.body.seatIds as string[]);
      for (const r of results.filter((x) => x.status === 201)) expect(r.body.seatIds).toHaveLength(size);
      expect(got).toHaveLength(50);
      expect([...new Set(got)].sort()).toEqual(everySeat);
      // SOLD_OUT tells how many were left: none, since 50 divides evenly.
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.available).toBe(0);
      expect(await counters(app, eventId)).toEqual({ available: 0, held: 50, sold: 0 });
      expect((await seatsOf(eventId, 'held')).sort()).toEqual(everySeat);
      await expectCleanAudit(app, eventId);
    }
  });

  it('a user at the limit gets 409 LIMIT_EXCEEDED even with 20 concurrent requests; held + bought both count', async () => {
    const eventId = uniqueId('limit');
    await app.createEvent(eventId, { capacity: 100, maxSeatsPerUser: 4, admission: fastAdmission });
    const [named, byQuantity] = await admitAll(app, eventId, ['named', 'by-quantity']);

    // 20 single-seat requests on 20 different seats, and 20 quantity:1 requests, at once.
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: [`GA-${i + 1}`] }, named.auth)),
      ...Array.from({ length: 20 }, () => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, byQuantity.auth)),
    ]);
    const first = results.slice(0, 20);
    const second = results.slice(20);
    expect(tally(first)).toEqual({ 201: 4, '409 LIMIT_EXCEEDED': 16 });
    expect(tally(second)).toEqual({ 201: 4, '409 LIMIT_EXCEEDED': 16 });
    for (const r of results.filter((x) => x.status === 409)) {
      expectError(r, 409, 'LIMIT_EXCEEDED');
      expect(r.body).toMatchObject({ current: 4, max: 4 });
    }
    expect(await counters(app, eventId)).toEqual({ available: 92, held: 8, sold: 0 });
    await expectCleanAudit(app, eventId);

    // Bought seats count as much as held ones.
    const holds = first.filter((r) => r.status === 201).map((r) => r.body.holdId as string);
    const hold = (body: unknown) => app.request('POST', `/v1/events/${eventId}/holds`, body, named.auth);
    for (const holdId of holds.slice(0, 2)) {
      expect((await app.request('POST', `/v1/events/${eventId}/holds/${holdId}/confirm`, {}, named.auth)).status).toBe(201);
    }
    let refused = await hold({ quantity: 1 });
    expectError(refused, 409, 'LIMIT_EXCEEDED');
    expect(refused.body).toMatchObject({ current: 4, max: 4 });
    // Releasing one hold frees exactly one place: two more are too many, one fits.
    expect((await app.request('DELETE', `/v1/events/${eventId}/holds/${holds[2]}`, undefined, named.auth)).status).toBe(204);
    refused = await hold({ quantity: 2 });
    expectError(refused, 409, 'LIMIT_EXCEEDED');
    expect(refused.body).toMatchObject({ current: 3, max: 4 });
    expect((await hold({ seatIds: ['GA-50'] })).status).toBe(201);
    refused = await hold({ seatIds: ['GA-51'] });
    expect(refused.body).toMatchObject({ code: 'LIMIT_EXCEEDED', current: 4 });

    // A new session (leave and join again) does not reset the count.
    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${named.ticket}`)).status).toBe(204);
    const again = await joinAndAdmit(app, eventId, 'named');
    refused = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, again.auth);
    expect(refused.body).toMatchObject({ code: 'LIMIT_EXCEEDED', current: 4, max: 4 });
    expect(await counters(app, eventId)).toEqual({ available: 92, held: 6, sold: 2 });
    await expectCleanAudit(app, eventId);
  });

  it('release and confirm racing on the same holds, and confirms racing the expiry: one winner each, counters exact', async () => {
    const eventId = uniqueId('settle-race');
    await app.createEvent(eventId, { capacity: 200, maxSeatsPerUser: 4, admission: fastAdmission });
    const users = await admitAll(app, eventId, Array.from({ length: 50 }, (_, i) => `r${i}`));
    const holds = await Promise.all(users.map((u, i) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 + (i % 3) }, u.auth)));
    expect(tally(holds)).toEqual({ 201: 50 });

    // Each hold gets two releases and two confirms at once, interleaved.
    const raced = await Promise.all(
      holds.map(async (h, i) => {
        const path = `/v1/events/${eventId}/holds/${h.body.holdId}`;
        // A release is quicker to serve (no body to validate) and wins a dead heat; on
        // every other hold it leaves 1 ms later, so that confirms win there.
        const send = () => app.request('DELETE', path, undefined, users[i].auth).then((r) => `release ${r.status}`);
        const release = () => (i % 2 ? sleep(1).then(send) : send());
        const confirm = () => app.request('POST', `${path}/confirm`, {}, users[i].auth).then((r) => `confirm ${r.status}`);
        const answers = await Promise.all(i % 2 ? [release(), confirm(), release(), confirm()] : [confirm(), release(), confirm(), release()]);
        return { answers: answers.sort(), seats: h.body.seatIds.length as number, confirmed: answers.includes('confirm 201') };
      }),
    );
    // Either a release won (then nothing else finds a live hold) or a confirm did
    // (then the other confirm gets its order, 200, and the releases find no live hold).
    for (const r of raced) {
      expect([
        ['confirm 404', 'confirm 404', 'release 204', 'release 404'],
        ['confirm 200', 'confirm 201', 'release 404', 'release 404'],
      ]).toContainEqual(r.answers);
    }
    const sold = raced.filter((r) => r.confirmed).reduce((n, r) => n + r.seats, 0);
    const confirmedCount = raced.filter((r) => r.confirmed).length;
    console.log(`[${name}] release vs confirm: ${confirmedCount} confirms won, ${50 - confirmedCount} releases won`);
    expect(await counters(app, eventId)).toEqual({ available: 200 - sold, held: 0, sold });
    expect(await withClient(topology, (c) => c.xlen(`qg:{${eventId}}:orders`))).toBe(confirmedCount);
    await expectCleanAudit(app, eventId);

    // Confirms fired around expiresAt: each is 201 (in time) or 410 (too late), nothing else.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { holdTtlSeconds: 1 })).status).toBe(200);
    const before = await counters(app, eventId);
    const short = await Promise.all(users.slice(0, 40).map((u) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, u.auth)));
    const ok = short.filter((r) => r.status === 201);
    // Users whose earlier confirm left them at the limit are refused; the rest race the clock.
    expect(ok.length + short.filter((r) => r.body?.code === 'LIMIT_EXCEEDED').length).toBe(40);
    const expiresAt = Math.max(...ok.map((r) => Date.parse(r.body.expiresAt)));
    await sleep(expiresAt - Date.now() - 40);
    const late = await Promise.all(
      ok.map(async (h, n) => {
        await sleep(n % 8 * 10); // spread over 80 ms across the expiry
        const user = users[short.indexOf(h)];
        return app.request('POST', `/v1/events/${eventId}/holds/${h.body.holdId}/confirm`, {}, user.auth);
      }),
    );
    const lateCounts = tally(late);
    for (const key of Object.keys(lateCounts)) expect(['201', '410 HOLD_EXPIRED']).toContain(key);
    const inTime = lateCounts['201'] ?? 0;
    console.log(`[${name}] confirm vs expiry: ${JSON.stringify(lateCounts)}`);
    // The sweeper returns the expired ones (waited for; hold-expiry.e2e-spec.ts times it).
    await pollUntil(() => counters(app, eventId), (c) => c.held === 0, { timeoutMs: 5000, intervalMs: 50 });
    expect(await counters(app, eventId)).toEqual({ available: before.available - inTime, held: 0, sold: before.sold + inTime });
    await expectCleanAudit(app, eventId);
  });
});
