import { SeatRepository } from '../src/seat/seat.repository';
import { Sweeper } from '../src/seat/sweeper';
import { TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit } from './support/flows';
import { BUSY_MACHINE_MARGIN_MS } from './support/inspect';
import { admitAll, counters, expectError, pool, readAccessToken, sleep, tally } from './support/seat-flows';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * CONTRACT invariant 3: an expired hold's seats are on sale again within 1 s
 * after expiresAt, even when no request touches the event (the background
 * sweeper does it; GETs only read). Then the late confirm / release answers.
 */
describe.each(TOPOLOGIES)('hold expiry on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const fastAdmission = { ratePerSecond: 100_000, maxActive: 1_000_000 };
  const holdsPath = (eventId: string) => `/v1/events/${eventId}/holds`;

  it('brings the seats of 1 s holds back within 1 s after expiresAt with no other request, counters exact', async () => {
    const eventId = uniqueId('expiry');
    await app.createEvent(eventId, { capacity: 10, holdTtlSeconds: 1, maxSeatsPerUser: 4, admission: fastAdmission });
    const [alice, bob] = await admitAll(app, eventId, ['alice', 'bob']);
    const a = await app.request('POST', holdsPath(eventId), { seatIds: ['GA-2', 'GA-7'] }, alice.auth);
    const b = await app.request('POST', holdsPath(eventId), { quantity: 3 }, bob.auth);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.seatIds).toEqual(['GA-1', 'GA-3', 'GA-4']);
    // lastHeldAt: when the last read that still saw the hold was sent; backAt: when the first read that saw it gone answered.
    const holds = [a.body, b.body].map((h) => ({ seatIds: h.seatIds as string[], expiresAt: Date.parse(h.expiresAt), lastHeldAt: 0, backAt: 0 }));
    for (const h of holds) expect(h.expiresAt - Date.now()).toBeLessThanOrEqual(1000);
    expect(await counters(app, eventId)).toEqual({ available: 5, held: 5, sold: 0 });

    // Only reads from here on: the seat map, every 20 ms, until nothing is held.
    const deadline = Math.max(...holds.map((h) => h.expiresAt)) + 3000;
    let samples = 0;
    while (holds.some((h) => !h.backAt) && Date.now() < deadline) {
      const sentAt = Date.now(); // the state read was true at the earliest by now
      const page = await app.request('GET', `/v1/events/${eventId}/seats?status=held`);
      const seenAt = Date.now(); // the state read was true at the latest by now
      samples += 1;
      const held = new Set((page.body.seats as { seatId: string }[]).map((s) => s.seatId));
      for (const h of holds) {
        const stillHeld = h.seatIds.every((s) => held.has(s));
        const allBack = h.seatIds.every((s) => !held.has(s));
        // A hold goes all at once (one script), and never before its time.
        expect(stillHeld || allBack).toBe(true);
        if (seenAt < h.expiresAt) expect(stillHeld).toBe(true);
        if (stillHeld) h.lastHeldAt = sentAt;
        if (allBack && !h.backAt) h.backAt = seenAt;
      }
      await sleep(20);
    }
    console.log(`[${name}] seats back ${holds.map((h) => `${h.lastHeldAt - h.expiresAt}..${h.backAt - h.expiresAt}`).join(' ms, ')} ms after expiresAt (${samples} polls)`);
    for (const h of holds) {
      expect(h.backAt).toBeGreaterThanOrEqual(h.expiresAt);
      // Within 1 s: no read sent later than that still saw the seats held. Timed
      // from when reads were sent, so a slow read does not count against the
      // service; the margin covers the service's own timers on a busy machine.
      expect(h.lastHeldAt - h.expiresAt).toBeLessThanOrEqual(1000 + BUSY_MACHINE_MARGIN_MS);
    }

    expect(await counters(app, eventId)).toEqual({ available: 10, held: 0, sold: 0 });
    await expectCleanAudit(app, eventId);
    // The late answers: confirm says it expired, release finds no live hold.
    expectError(await app.request('POST', `${holdsPath(eventId)}/${a.body.holdId}/confirm`, {}, alice.auth), 410, 'HOLD_EXPIRED');
    expectError(await app.request('POST', `${holdsPath(eventId)}/${b.body.holdId}/confirm`, { paymentRef: 'late' }, bob.auth), 410, 'HOLD_EXPIRED');
    expectError(await app.request('DELETE', `${holdsPath(eventId)}/${a.body.holdId}`, undefined, alice.auth), 404, 'HOLD_NOT_FOUND');
    // The per-user count went back too: alice may hold her full 4 again.
    expect((await app.request('POST', holdsPath(eventId), { quantity: 4 }, alice.auth)).status).toBe(201);
    expect(await counters(app, eventId)).toEqual({ available: 6, held: 4, sold: 0 });
    await expectCleanAudit(app, eventId);
  });

  it('brings back 10,000 holds falling due at the same moment within 1 s of their expiresAt', async () => {
    // A hundred sweep calls' worth (SWEEP_LIMIT 100): an on-sale's opening second,
    // whose holds all fall due together one hold TTL later. The holds are made
    // through the app's own SeatRepository (as the hold route does), then their
    // due time is set to one instant, in the hold hashes and the holds index
    // alike, so the burst does not depend on how fast this machine is.
    const eventId = uniqueId('burst');
    const holders = 500;
    const perUser = 20;
    await app.createEvent(eventId, { capacity: holders * perUser, holdTtlSeconds: 300, maxSeatsPerUser: perUser, admission: fastAdmission });
    const users = await admitAll(app, eventId, Array.from({ length: holders }, (_, i) => `b${i}`));
    const seats = app.app.get(SeatRepository);
    let n = 0;
    const requests = users.flatMap((u) => Array.from({ length: perUser }, () => ({ u, sid: readAccessToken(u.token).sid })));
    const replies = await pool(requests, 200, ({ u, sid }) =>
      seats.hold({ eventId, userId: u.userId, sessionId: sid, holdId: `burst${String((n += 1)).padStart(11, '0')}`, quantity: 1 }),
    );
    expect(replies.filter((r) => r[0] !== 'OK')).toEqual([]);
    const holdIds = replies.map((r) => String(r[1]));
    // Live-hold index members: '<holdId>|<userId>|<seats>' (see lua/includes/holdIndex.lua).
    const members = replies.map((r, i) => `${String(r[1])}|${requests[i].u.userId}|${String(r[3])}`);
    const dueAt = await withClient(topology, async (c) => {
      const [seconds, micros] = await c.time();
      // 3 s ahead: writing 20,000 fields takes over a second on a busy machine,
      // and the sweeper must not start on them before the last one is written.
      const at = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 3000;
      const batch = c.pipeline();
      holdIds.forEach((holdId, i) => {
        // 'XX CH': an existing member must change, or the test did not set what it meant to.
        batch.zadd(`qg:{${eventId}}:holds`, 'XX', 'CH', at, members[i]);
        batch.hset(`qg:{${eventId}}:hold:${holdId}`, 'expiresAt', at);
      });
      const results = (await batch.exec()) ?? [];
      expect(results.filter(([err]) => err)).toEqual([]);
      expect(results.filter((_, i) => i % 2 === 0).every(([, changed]) => changed === 1)).toBe(true);
      return at;
    });
    expect(await counters(app, eventId)).toEqual({ available: 0, held: holders * perUser, sold: 0 });

    // Only reads from here: poll the counters until nothing is held.
    let backAt = 0;
    let lastHeldAt = 0; // when the last read that still saw a held seat was sent
    let earlyRelease = false;
    while (Date.now() < dueAt + 5000) {
      const sentAt = Date.now();
      const { held } = await counters(app, eventId);
      const seenAt = Date.now();
      if (seenAt < dueAt && held < holders * perUser) earlyRelease = true;
      if (held === 0) {
        backAt = seenAt;
        break;
      }
      lastHeldAt = sentAt;
      await sleep(20);
    }
    console.log(`[${name}] ${holdIds.length} holds due at once: all back ${lastHeldAt - dueAt}..${backAt - dueAt} ms after expiresAt`);
    expect(earlyRelease).toBe(false);
    expect(backAt).toBeGreaterThan(0);
    // As above: timed from when reads were sent, 1 s plus the busy-machine margin.
    expect(lastHeldAt - dueAt).toBeLessThanOrEqual(1000 + BUSY_MACHINE_MARGIN_MS);
    expect(await counters(app, eventId)).toEqual({ available: holders * perUser, held: 0, sold: 0 });
    await expectCleanAudit(app, eventId);
  });

  it('without the sweeper, reads leave expired seats held and the next seat request reclaims them; confirm expires a hold the inline sweep did not reach', async () => {
    const eventId = uniqueId('inline');
    await app.createEvent(eventId, { capacity: 60, holdTtlSeconds: 1, maxSeatsPerUser: 1, admission: fastAdmission });
    const users = await admitAll(app, eventId, Array.from({ length: 53 }, (_, i) => `s${i}`));
    const sweeper = app.app.get(Sweeper);
    await sweeper.stop();
    try {
      // 51 holds; the last one strictly later, so the inline sweep (50 at a time) takes the others first.
      const early = await Promise.all(users.slice(0, 50).map((u) => app.request('POST', holdsPath(eventId), { quantity: 1 }, u.auth)));
      expect(tally(early)).toEqual({ 201: 50 });
      await sleep(10);
      const last = await app.request('POST', holdsPath(eventId), { quantity: 1 }, users[50].auth);
      expect(last.status).toBe(201);
      await sleep(Date.parse(last.body.expiresAt) - Date.now() + 300);

      // Expired, but only read since: still counted as held.
      expect(await counters(app, eventId)).toEqual({ available: 9, held: 51, sold: 0 });
      // Confirming the last hold: the inline sweep returns 50 holds, the confirm itself expires the 51st.
      expectError(await app.request('POST', `${holdsPath(eventId)}/${last.body.holdId}/confirm`, {}, users[50].auth), 410, 'HOLD_EXPIRED');
      expect(await counters(app, eventId)).toEqual({ available: 60, held: 0, sold: 0 });
      await expectCleanAudit(app, eventId);
      expectError(await app.request('POST', `${holdsPath(eventId)}/${early[0].body.holdId}/confirm`, {}, users[0].auth), 410, 'HOLD_EXPIRED');

      // A fresh hold expires and the next hold by someone else reclaims it inline.
      const another = await app.request('POST', holdsPath(eventId), { seatIds: ['GA-60'] }, users[51].auth);
      expect(another.status).toBe(201);
      await sleep(Date.parse(another.body.expiresAt) - Date.now() + 200);
      expect(await counters(app, eventId)).toEqual({ available: 59, held: 1, sold: 0 });
      const taker = await app.request('POST', holdsPath(eventId), { seatIds: ['GA-60'] }, users[52].auth);
      expect(taker.status).toBe(201);
      expect(await counters(app, eventId)).toEqual({ available: 59, held: 1, sold: 0 });
      expectError(await app.request('DELETE', `${holdsPath(eventId)}/${another.body.holdId}`, undefined, users[51].auth), 404, 'HOLD_NOT_FOUND');
      await expectCleanAudit(app, eventId);
    } finally {
      sweeper.onApplicationBootstrap();
    }
  });
});
