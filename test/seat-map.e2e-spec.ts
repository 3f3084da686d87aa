import type { Redis } from 'ioredis';
import { Admitter } from '../src/queue/admitter';
import { EventActivity } from '../src/event/event-activity';
import { KeyBuilder } from '../src/redis/keys';
import { ScriptRegistry } from '../src/redis/script-registry';
import { ScriptReply } from '../src/redis/script-replies';
import { QueueSnapshots } from '../src/queue/queue-snapshots';
import { SeatSnapshots } from '../src/seat/seat-snapshots';
import { Sweeper } from '../src/seat/sweeper';
import { commandDelta, commandStats as sharedCommandStats } from './support/command-stats';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil } from './support/inspect';
import { admitAll, decodeSeatState, eventView, expectError, pool, sample, sleep, storedSeatStatus } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Issue 19 (CONTRACT v1.2 "Looking at seats costs nothing"): the public seat
 * map (seats, seats/state, seats/layout, sections) is answered from the
 * replica's seat snapshot, which costs Redis work when seats change, never
 * because someone looks. Counted with INFO commandstats on every master.
 */

const fastAdmission = { ratePerSecond: 100_000, maxActive: 1_000_000, sessionTtlSeconds: 3600 };

/** A venue: `sections` x `rows` rows x `perRow` seats, sections alternating over `levels` price levels. */
function venue(sections: number, rows: number, perRow: number, levels = ['P1', 'P2']) {
  return {
    priceLevels: levels.map((priceLevel, i) => ({ priceLevel, price: 1000 * (i + 1), currency: 'EUR' })),
    sections: Array.from({ length: sections }, (_, s) => ({
      sectionId: `S${s + 1}`,
      priceLevel: levels[s % levels.length],
      rows: Array.from({ length: rows }, (_, r) => ({ rowId: `R${r + 1}`, seats: perRow })),
    })),
  };
}

const decodeState = decodeSeatState;

/** Every seat's status from GET .../seats, page by page (1,000 a page). */
async function pagedRead(app: TestApp, eventId: string): Promise<{ seatId: string; status: string }[]> {
  const seats: { seatId: string; status: string }[] = [];
  for (let cursor = 0; ; ) {
    const r = await app.request('GET', `/v1/events/${eventId}/seats?limit=1000&cursor=${cursor}`);
    expect(r.status).toBe(200);
    seats.push(...r.body.seats);
    if (r.body.nextCursor === null) return seats;
    cursor = r.body.nextCursor;
  }
}

/** Every seat's status as stored in Redis (the seats hash), in the order given. */
async function redisStates(topology: Topology, seatsKey: string, seatIds: string[]): Promise<string[]> {
  return withClient(topology, async (client) => {
    const out: string[] = [];
    for (let i = 0; i < seatIds.length; i += 1000) {
      const values = await client.hmget(seatsKey, ...seatIds.slice(i, i + 1000));
      out.push(...values.map(storedSeatStatus));
    }
    return out;
  });
}

describe.each(TOPOLOGIES)('the seat map on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  let masters: Redis[];

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp({ ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '10000' });
    masters = await topology.masters();
  }, 60_000);
  afterAll(async () => {
    masters?.forEach((m) => m.disconnect());
    await app?.close();
    await topology?.stop();
  });

  const snapshots = () => app.app.get(SeatSnapshots);

  const commandStats = () => sharedCommandStats(masters);
  const queueSnapshots = () => app.app.get(QueueSnapshots);
  /**
   * Redis's counts with the seat snapshots' calls and the queue snapshots'
   * refreshes (the admitted users' tickets were read just before), taken
   * while none of their calls is under way.
   */
  async function quietSample(): Promise<{ stats: Map<string, number>; calls: number; changed: number; queueHeads: number }> {
    for (;;) {
      while (snapshots().inFlight > 0 || queueSnapshots().inFlight > 0) await sleep(2);
      const [calls, queueHeads] = [snapshots().calls, queueSnapshots().refreshes];
      const stats = await commandStats();
      if (snapshots().inFlight === 0 && queueSnapshots().inFlight === 0 && snapshots().calls === calls && queueSnapshots().refreshes === queueHeads) {
        return { stats, calls, changed: snapshots().changedRefreshes, queueHeads };
      }
    }
  }
  const delta = commandDelta;
  /** Background work a replica does whoever looks (flags, INFO itself, cluster slot refresh, the queue snapshot's own refreshes). */
  const BACKGROUND = new Set(['evalsha', 'hgetall', 'info', 'cluster', 'hmget', 'xlen', 'time']);

  it('500 seat-map reads (mixed routes, filters and pages) cost Redis only the refreshes, none reading seats while nothing changed; a hold elsewhere shows within 1 s; If-None-Match is 304', async () => {
    const eventId = uniqueId('map-cost');
    await app.createEvent(eventId, { layout: venue(4, 10, 20), maxSeatsPerUser: 10, admission: fastAdmission });
    const [alice] = await admitAll(app, eventId, ['alice']);
    const first = await app.request('GET', `/v1/events/${eventId}/seats/state`);
    expect(first.body).toMatchObject({ version: 0, count: 800, available: 800, held: 0, sold: 0 });

    // Only reads from here: the admitter, sweeper and activity probe are stopped so the count is exact.
    const stopped = [app.app.get(Admitter), app.app.get(Sweeper), app.app.get(EventActivity)];
    await Promise.all(stopped.map((job) => job.stop()));
    try {
      const queries = [
        '/seats', '/seats?limit=1000', '/seats?status=available&limit=50', '/seats?status=held', '/seats?status=sold&limit=1000',
        '/seats?sectionId=S2', '/seats?priceLevel=P2&limit=7', '/seats?sectionId=S3&status=available&cursor=12300', '/seats?cursor=8200&limit=3',
        '/seats/state', '/seats/state?sectionId=S4', '/seats/layout', '/seats/layout?sectionId=S1', '/sections',
      ];
      const before = await quietSample();
      const started = performance.now();
      // 25 rounds of 20 concurrent reads, 120 ms apart: spread over several refresh periods.
      const answers = [];
      for (let round = 0; round < 25; round += 1) {
        const paths = Array.from({ length: 20 }, (_, i) => queries[(round * 20 + i) % queries.length]);
        answers.push(...(await Promise.all(paths.map((q) => app.request('GET', `/v1/events/${eventId}${q}`)))));
        await sleep(120);
      }
      const seconds = (performance.now() - started) / 1000;
      const after = await quietSample();
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      // The same query answers the same body while nothing changes.
      for (let i = queries.length; i < answers.length; i += 1) expect(answers[i].body).toEqual(answers[i % queries.length].body);

      const calls = after.calls - before.calls;
      const queueHeads = after.queueHeads - before.queueHeads;
      const spent = delta(after.stats, before.stats);
      console.log(`[${name}] 500 reads in ${seconds.toFixed(2)} s: ${calls} snapshot calls, Redis commands ${JSON.stringify(spent)}`);
      // Every script run was a snapshot refresh, at most one per refresh period…
      // (queueHead: one HMGET, XLEN and TIME each)
      expect(spent.evalsha ?? 0).toBe(calls + queueHeads);
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 2);
      // …and none found a change, so none read a seat or the log: one HMGET of the version each.
      expect(after.changed - before.changed).toBe(0);
      expect(spent.hmget ?? 0).toBe(calls + queueHeads);
      expect(Object.keys(spent).filter((c) => !BACKGROUND.has(c))).toEqual([]);
    } finally {
      stopped.forEach((job) => job.onApplicationBootstrap());
    }

    // If-None-Match: 304 while unchanged, on every route.
    for (const path of ['/seats/state', '/seats/state?sectionId=S2', '/sections', '/seats?status=held', '/seats/layout']) {
      const r = await app.request('GET', `/v1/events/${eventId}${path}`);
      expect(r.headers.get('cache-control')).toBe(path === '/seats/layout' ? 'public, max-age=300' : 'public, max-age=1');
      const etag = r.headers.get('etag')!;
      expect(etag).toMatch(/^".+"$/);
      const again = await app.request('GET', `/v1/events/${eventId}${path}`, undefined, { 'if-none-match': etag });
      expect({ status: again.status, body: again.body }).toEqual({ status: 304, body: undefined });
    }
    const stateEtag = (await app.request('GET', `/v1/events/${eventId}/seats/state`)).headers.get('etag')!;
    const layoutEtag = (await app.request('GET', `/v1/events/${eventId}/seats/layout`)).headers.get('etag')!;

    // A hold through another replica shows in this one's map within 1 s of its answer.
    const other = await startApp({ ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '10000' });
    try {
      const held = await other.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['S2-R3-4', 'S2-R3-5'] }, alice.auth);
      expect(held.status).toBe(201);
      const heldAt = performance.now();
      const seen = await pollUntil(
        () => app.request('GET', `/v1/events/${eventId}/seats?sectionId=S2&status=held`),
        (r) => r.body.seats.length === 2,
        { timeoutMs: 3000, intervalMs: 20 },
      );
      const lag = (seen.lastMissAt ?? heldAt) - heldAt;
      console.log(`[${name}] a hold through another replica seen ${Math.round(seen.elapsedMs)} ms after its answer (last miss sent ${Math.round(lag)} ms after)`);
      expect(lag).toBeLessThanOrEqual(1000);
      expect(seen.value.body.seats.map((s: { seatId: string }) => s.seatId)).toEqual(['S2-R3-4', 'S2-R3-5']);
      const state = await app.request('GET', `/v1/events/${eventId}/seats/state`, undefined, { 'if-none-match': stateEtag });
      expect(state.status).toBe(200);
      expect(state.body).toMatchObject({ version: 1, held: 2, available: 798 });
      expect(state.headers.get('etag')).not.toBe(stateEtag);
      expect((await app.request('GET', `/v1/events/${eventId}/seats/layout`, undefined, { 'if-none-match': layoutEtag })).status).toBe(304);

      // A confirm through this replica shows in its own map at the next read.
      const confirmed = await app.request('POST', `/v1/events/${eventId}/holds/${held.body.holdId}/confirm`, {}, alice.auth);
      expect(confirmed.status).toBe(201);
      const sold = await app.request('GET', `/v1/events/${eventId}/seats?status=sold`);
      expect(sold.body.seats.map((s: { seatId: string }) => s.seatId)).toEqual(['S2-R3-4', 'S2-R3-5']);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('GET /sections: per section and per price level the counts add up to the event counters, on GA and layout events; 404s', async () => {
    const layoutEvent = uniqueId('sections');
    const ga = uniqueId('sections-ga');
    await app.createEvent(layoutEvent, { layout: venue(5, 4, 10, ['P1', 'P2', 'P3']), maxSeatsPerUser: 20, admission: fastAdmission });
    await app.createEvent(ga, { capacity: 50, maxSeatsPerUser: 20, admission: fastAdmission });
    for (const eventId of [layoutEvent, ga]) {
      const users = await admitAll(app, eventId, ['u1', 'u2', 'u3']);
      const holds = await Promise.all(users.map((u, i) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 3 + i * 2 }, u.auth)));
      expect(holds.map((h) => h.status)).toEqual([201, 201, 201]);
      expect((await app.request('POST', `/v1/events/${eventId}/holds/${holds[1].body.holdId}/confirm`, {}, users[1].auth)).status).toBe(201);
      expect((await app.request('DELETE', `/v1/events/${eventId}/holds/${holds[2].body.holdId}`, undefined, users[2].auth)).status).toBe(204);

      const r = await app.request('GET', `/v1/events/${eventId}/sections`);
      expect(r.status).toBe(200);
      const view = await eventView(app, eventId);
      const sum = (list: { available: number; held: number; sold: number }[]) =>
        list.reduce((t, s) => ({ available: t.available + s.available, held: t.held + s.held, sold: t.sold + s.sold }), { available: 0, held: 0, sold: 0 });
      expect(sum(r.body.sections)).toEqual({ available: view.available, held: view.held, sold: view.sold });
      expect(view).toMatchObject({ held: 3, sold: 5 });
      for (const level of view.levels) {
        expect(sum(r.body.sections.filter((s: { priceLevel: string }) => s.priceLevel === level.priceLevel))).toEqual({ available: level.available, held: level.held, sold: level.sold });
      }
      if (eventId === ga) {
        expect(r.body.sections).toEqual([{ sectionId: 'GA', priceLevel: 'GA', available: 42, held: 3, sold: 5, rows: 1 }]);
      } else {
        expect(r.body.sections.map((s: any) => [s.sectionId, s.priceLevel, s.rows])).toEqual([
          ['S1', 'P1', 4], ['S2', 'P2', 4], ['S3', 'P3', 4], ['S4', 'P1', 4], ['S5', 'P2', 4],
        ]);
        // The best seats went first: section S1's.
        expect(r.body.sections[0]).toMatchObject({ held: 3, sold: 5 });
      }
      // One section's state is the matching slice of the whole event's.
      const whole = await app.request('GET', `/v1/events/${eventId}/seats/state`);
      const sectionId = r.body.sections[0].sectionId;
      const part = await app.request('GET', `/v1/events/${eventId}/seats/state?sectionId=${sectionId}`);
      const { available, held, sold } = r.body.sections[0];
      expect(part.body).toMatchObject({ version: whole.body.version, firstIndex: 0, count: available + held + sold, available, held, sold });
      expect(decodeState(part.body)).toEqual(decodeState(whole.body).slice(part.body.firstIndex, part.body.firstIndex + part.body.count));
    }

    // The layout: sections in order with their first index, rows and seat ids in seat order.
    const layout = await app.request('GET', `/v1/events/${layoutEvent}/seats/layout`);
    expect(layout.body).toMatchObject({
      eventId: layoutEvent,
      capacity: 200,
      priceLevels: [{ priceLevel: 'P1', price: 1000, currency: 'EUR' }, { priceLevel: 'P2', price: 2000, currency: 'EUR' }, { priceLevel: 'P3', price: 3000, currency: 'EUR' }],
    });
    expect(layout.body.sections.map((s: any) => [s.sectionId, s.priceLevel, s.firstIndex, s.count])).toEqual([
      ['S1', 'P1', 0, 40], ['S2', 'P2', 40, 40], ['S3', 'P3', 80, 40], ['S4', 'P1', 120, 40], ['S5', 'P2', 160, 40],
    ]);
    expect(layout.body.sections[1].rows[0]).toEqual({ rowId: 'R1', seatIds: Array.from({ length: 10 }, (_, i) => `S2-R1-${i + 1}`) });
    const one = await app.request('GET', `/v1/events/${layoutEvent}/seats/layout?sectionId=S3`);
    expect(one.body.sections).toEqual([layout.body.sections[2]]);
    const gaLayout = await app.request('GET', `/v1/events/${ga}/seats/layout`);
    expect(gaLayout.body).toEqual({
      eventId: ga, capacity: 50, priceLevels: [{ priceLevel: 'GA' }],
      sections: [{ sectionId: 'GA', priceLevel: 'GA', firstIndex: 0, count: 50, rows: [{ rowId: 'GA', seatIds: Array.from({ length: 50 }, (_, i) => `GA-${i + 1}`) }] }],
    });

    const ghost = uniqueId('sections-ghost');
    for (const path of ['sections', 'seats', 'seats/state', 'seats/layout']) expectError(await app.request('GET', `/v1/events/${ghost}/${path}`), 404, 'EVENT_NOT_FOUND');
    for (const path of ['seats/state', 'seats/layout']) {
      expectError(await app.request('GET', `/v1/events/${layoutEvent}/${path}?sectionId=Z9`), 404, 'SECTION_NOT_FOUND');
      expectError(await app.request('GET', `/v1/events/${ga}/${path}?sectionId=S1`), 404, 'SECTION_NOT_FOUND');
      expectError(await app.request('GET', `/v1/events/${layoutEvent}/${path}?sectionId=a%20b`), 400, 'VALIDATION');
    }

    // Deleted and created again: the snapshot follows (seatChanges EVENT_NOT_FOUND, then a new layout).
    const seen = new Set<string>();
    app.app.get(ScriptRegistry).observe({ onReply: (script: string, _k: string[], reply: ScriptReply) => seen.add(`${script} ${reply[0]}`), onError: () => undefined });
    expect((await app.admin('DELETE', `/v1/events/${ga}?force=true`)).status).toBe(204);
    await sleep(1100);
    expectError(await app.request('GET', `/v1/events/${ga}/sections`), 404, 'EVENT_NOT_FOUND');
    await app.createEvent(ga, { capacity: 7, admission: fastAdmission });
    const again = await app.request('GET', `/v1/events/${ga}/sections`);
    expect(again.body).toEqual({ version: 0, sections: [{ sectionId: 'GA', priceLevel: 'GA', available: 7, held: 0, sold: 0, rows: 1 }] });
    expect([...seen].filter((s) => s.startsWith('seatChanges ')).sort()).toEqual(['seatChanges EVENT_NOT_FOUND', 'seatChanges OK']);
  }, 120_000);

  it('a snapshot further behind than the change log reads the whole map again and agrees with Redis', async () => {
    const eventId = uniqueId('map-behind');
    await app.createEvent(eventId, { capacity: 30, maxSeatsPerUser: 20, admission: fastAdmission });
    const [bob] = await admitAll(app, eventId, ['bob']);
    expect((await app.request('GET', `/v1/events/${eventId}/seats/state`)).body).toMatchObject({ version: 0, available: 30 });
    const reads = snapshots().calls;
    // 4,100 seat changes (hold and release of one seat, 2,050 times) pass the 4,096-entry log.
    const held = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-9', 'GA-10'] }, bob.auth);
    expect(held.status).toBe(201);
    await withClient(topology, async (client) => {
      const k = app.app.get(KeyBuilder).event(eventId);
      await client.hincrby(k.meta, 'seatv', 4100); // as if 4,100 changes had passed unseen
    });
    const state = await pollUntil(() => app.request('GET', `/v1/events/${eventId}/seats/state`), (r) => r.body.version === 4101, { timeoutMs: 3000 });
    expect(state.value.body).toMatchObject({ available: 28, held: 2, sold: 0 });
    expect(decodeState(state.value.body).map((s, i) => (s === 'held' ? `GA-${i + 1}` : null)).filter(Boolean)).toEqual(['GA-9', 'GA-10']);
    // a whole-map read: 1 chunk of 30 seats, plus the change calls before and after it
    expect(snapshots().calls - reads).toBeGreaterThanOrEqual(2);
  });
});

describe('the compact state of a 100,000-seat venue on single Redis', () => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => {
    topology = await startTopology('single');
    app = await startApp({ ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '10000' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await topology?.stop();
  });

  /** State, paged read, Redis and audit agree seat by seat; returns the counts. */
  async function expectAgreement(eventId: string, layoutIds: string[]) {
    // A read after this replica's own changes waits for a refresh that sees them.
    const state = await app.request('GET', `/v1/events/${eventId}/seats/state`);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ encoding: '2bit-base64', firstIndex: 0, count: 100_000 });
    expect(state.body.state.length).toBeLessThanOrEqual(4 * Math.ceil(100_000 / 12));
    const fromState = decodeState(state.body);
    const paged = await pagedRead(app, eventId);
    expect(paged.map((s) => s.seatId)).toEqual(layoutIds);
    expect(paged.map((s) => s.status)).toEqual(fromState);
    expect(await redisStates(topology, app.app.get(KeyBuilder).event(eventId).seats, layoutIds)).toEqual(fromState);
    const counts = { available: 0, held: 0, sold: 0 };
    for (const s of fromState) counts[s as keyof typeof counts] += 1;
    expect({ available: state.body.available, held: state.body.held, sold: state.body.sold }).toEqual(counts);
    const audit = await app.admin('GET', `/v1/events/${eventId}/audit`);
    expect(audit.body).toMatchObject({ ok: true, recount: counts });
    return counts;
  }

  it('agrees seat by seat with a full paged read, with Redis and with the audit, before and after 1,000 holds, releases and confirms', async () => {
    const eventId = uniqueId('map-100k');
    // 10 sections x 100 rows x 100 seats
    await app.createEvent(eventId, { layout: venue(10, 100, 100, ['P1', 'P2', 'P3']), maxSeatsPerUser: 20, holdTtlSeconds: 3600, admission: fastAdmission });
    const layout = await app.request('GET', `/v1/events/${eventId}/seats/layout`);
    const layoutIds: string[] = layout.body.sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seatIds));
    expect(layoutIds).toHaveLength(100_000);
    expect(await expectAgreement(eventId, layoutIds)).toEqual({ available: 100_000, held: 0, sold: 0 });

    const users = await admitAll(app, eventId, Array.from({ length: 100 }, (_, i) => `buyer-${i}`));
    // 500 holds of 1-3 named seats (some collide), then 250 releases and 250 confirms of what was held.
    const plans = Array.from({ length: 500 }, (_, i) => ({ user: users[i % 100], seatIds: sample(layoutIds, 1 + (i % 3)) }));
    const holds = await pool(plans, 50, (p) => app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: p.seatIds }, p.user.auth));
    const made = holds.map((r, i) => ({ r, user: plans[i].user })).filter(({ r }) => r.status === 201);
    for (const r of holds) expect([201, 409]).toContain(r.status);
    expect(made.length).toBeGreaterThan(400);
    const finish = await pool(made, 50, ({ r, user }, i) =>
      i % 2 === 0
        ? app.request('DELETE', `/v1/events/${eventId}/holds/${r.body.holdId}`, undefined, user.auth)
        : app.request('POST', `/v1/events/${eventId}/holds/${r.body.holdId}/confirm`, {}, user.auth),
    );
    expect(finish.map((r) => r.status).sort()).toEqual(made.map((_, i) => (i % 2 === 0 ? 204 : 201)).sort());
    // 250 more holds that stay.
    const more = await pool(plans.slice(0, 250), 50, (p) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 + (p.seatIds.length % 2) }, p.user.auth));
    expect(more.every((r) => r.status === 201)).toBe(true);

    const counts = await expectAgreement(eventId, layoutIds);
    expect(counts.held).toBeGreaterThan(0);
    expect(counts.sold).toBeGreaterThan(0);
    const view = await eventView(app, eventId);
    expect(counts).toEqual({ available: view.available, held: view.held, sold: view.sold });
  }, 300_000);
});
