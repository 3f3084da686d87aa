import { TestApp, uniqueId } from './support/app-harness';
import { expectCleanAudit } from './support/flows';
import { admitAll, counters, eventDigest, eventView, expectError, pool, sleep, tally } from './support/seat-flows';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Venues (CONTRACT v1.1 layout): sections of rows at price levels, best
 * available together, per-level counters, the seat map by section and level,
 * order totals. Real concurrent requests against real Redis, every outcome
 * counted.
 */
const fastAdmission = { ratePerSecond: 100_000, maxActive: 1_000_000 };

/** A section of `rows` rows of `perRow` seats, rows named 1..rows. */
const section = (sectionId: string, priceLevel: string, rows: number, perRow: number | string[]) => ({
  sectionId,
  priceLevel,
  rows: Array.from({ length: rows }, (_, i) => ({ rowId: String(i + 1), seats: perRow })),
});

/** '<section>-<row>-<n>' -> { section, row, n } (test layouts use ids without '-' inside parts). */
const parse = (seatId: string) => {
  const [sectionId, rowId, n] = seatId.split('-');
  return { sectionId, rowId, n: Number(n) };
};

/** True when the seats are one row and consecutive numbers (in order). */
const oneRowConsecutive = (seatIds: string[]) => {
  const parts = seatIds.map(parse);
  return parts.every((p, i) => p.sectionId === parts[0].sectionId && p.rowId === parts[0].rowId && (i === 0 || p.n === parts[i - 1].n + 1));
};

describe.each(TOPOLOGIES)('venues on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const hold = (eventId: string, auth: Record<string, string>, body: Record<string, unknown>) => app.request('POST', `/v1/events/${eventId}/holds`, body, auth);
  const levelsOf = async (eventId: string) =>
    Object.fromEntries(((await eventView(app, eventId)).levels as any[]).map((l) => [l.priceLevel, { available: l.available, held: l.held, sold: l.sold }]));

  it('500 concurrent together holds of 2-6 in a 20 x 30 section: one row, consecutive, no seat twice, levels and audit exact; releases and expiries restore runs', async () => {
    const eventId = uniqueId('together500');
    const created = await app.createEvent(eventId, {
      layout: { priceLevels: [{ priceLevel: 'P1', price: 5000, currency: 'EUR' }], sections: [section('A', 'P1', 20, 30)] },
      maxSeatsPerUser: 6,
      holdTtlSeconds: 8, // long enough that the releases below come first on a loaded machine
      admission: fastAdmission,
    });
    expect(created).toMatchObject({ capacity: 600, available: 600, levels: [{ priceLevel: 'P1', price: 5000, currency: 'EUR', available: 600, held: 0, sold: 0 }] });
    const users = await admitAll(app, eventId, Array.from({ length: 500 }, (_, i) => `t${i}`));
    const sizes = users.map((_, i) => 2 + (i % 5));

    const results = await Promise.all(users.map((u, i) => hold(eventId, u.auth, { quantity: sizes[i], together: true })));
    const counts = tally(results);
    for (const key of Object.keys(counts)) expect(['201', '409 NO_ADJACENT_SEATS', '409 SOLD_OUT']).toContain(key);
    const ok = results.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 201);
    const taken = new Set<string>();
    for (const { r, i } of ok) {
      expect(r.body.seatIds).toHaveLength(sizes[i]);
      expect(oneRowConsecutive(r.body.seatIds)).toBe(true);
      for (const seatId of r.body.seatIds as string[]) {
        expect(taken.has(seatId)).toBe(false);
        taken.add(seatId);
      }
    }
    // A refusal is only said when no run of that size was left at the end.
    const free = new Map<string, boolean[]>();
    for (let row = 1; row <= 20; row += 1) free.set(String(row), Array.from({ length: 30 }, (_, n) => !taken.has(`A-${row}-${n + 1}`)));
    const longestRun = Math.max(...[...free.values()].map((flags) => flags.reduce(([best, run], f) => [Math.max(best, f ? run + 1 : 0), f ? run + 1 : 0], [0, 0])[0]));
    for (const [i, r] of results.entries()) if (r.status === 409) expect(sizes[i]).toBeGreaterThan(longestRun);
    expect(await counters(app, eventId)).toEqual({ available: 600 - taken.size, held: taken.size, sold: 0 });
    expect(await levelsOf(eventId)).toEqual({ P1: { available: 600 - taken.size, held: taken.size, sold: 0 } });
    await expectCleanAudit(app, eventId);
    console.log(`[${name}] 500 together holds on 20 x 30: ${JSON.stringify(counts)}, ${taken.size} seats held, longest free run left ${longestRun}`);

    // Half the holds are released, the other half left to expire; then every
    // seat is free again and a later together hold of 6 gets row 1, seats 1-6.
    const released = ok.filter((_, n) => n % 2 === 0);
    const settle = await Promise.all(released.map(({ r, i }) => app.request('DELETE', `/v1/events/${eventId}/holds/${r.body.holdId}`, undefined, users[i].auth)));
    expect(tally(settle)).toEqual({ 204: released.length });
    await expectCleanAudit(app, eventId);
    const expiresAt = Math.max(...ok.map(({ r }) => Date.parse(r.body.expiresAt)));
    await sleep(expiresAt - Date.now() + 1500);
    expect(await counters(app, eventId)).toEqual({ available: 600, held: 0, sold: 0 });
    expect(await levelsOf(eventId)).toEqual({ P1: { available: 600, held: 0, sold: 0 } });
    await expectCleanAudit(app, eventId);
    const again = await Promise.all(users.slice(0, 100).map((u) => hold(eventId, u.auth, { quantity: 6, together: true })));
    // 20 rows x 5 runs of 6: exactly 100 fit, every one gets a full run.
    expect(tally(again)).toEqual({ 201: 100 });
    expect(again.every((r) => oneRowConsecutive(r.body.seatIds))).toBe(true);
    expect(new Set(again.flatMap((r) => r.body.seatIds)).size).toBe(600);
    expectError(await hold(eventId, users[200].auth, { quantity: 2, together: true }), 409, 'SOLD_OUT');
    await expectCleanAudit(app, eventId);
  });

  it('together when only scattered single seats are left: 409 NO_ADJACENT_SEATS and nothing changes; without together the same request succeeds', async () => {
    const eventId = uniqueId('scattered');
    await app.createEvent(eventId, {
      layout: { priceLevels: [{ priceLevel: 'P1', price: 1000, currency: 'EUR' }], sections: [section('S', 'P1', 2, 6)] },
      maxSeatsPerUser: 12,
      admission: fastAdmission,
    });
    const [filler, buyer] = await admitAll(app, eventId, ['filler', 'buyer']);
    // Hold every other seat: S-1-1, S-1-3, ... free seats are never adjacent.
    const every = ['1', '2'].flatMap((row) => [1, 3, 5].map((n) => `S-${row}-${n + 1}`));
    expect((await hold(eventId, filler.auth, { seatIds: every })).status).toBe(201);
    const before = await eventDigest(topology, eventId);
    const refused = await hold(eventId, buyer.auth, { quantity: 2, together: true });
    expectError(refused, 409, 'NO_ADJACENT_SEATS');
    expectError(await hold(eventId, buyer.auth, { quantity: 2, together: true, priceLevel: 'P1' }), 409, 'NO_ADJACENT_SEATS');
    expect(await eventDigest(topology, eventId)).toBe(before);
    const plain = await hold(eventId, buyer.auth, { quantity: 2 });
    expect(plain.status).toBe(201);
    expect(plain.body.seatIds).toEqual(['S-1-1', 'S-1-3']);
    // One seat left together-able? No: and more than are free is sold out.
    expectError(await hold(eventId, buyer.auth, { quantity: 5, together: true }), 409, 'SOLD_OUT');
    await expectCleanAudit(app, eventId);
  });

  it('best available by level and section, confirm totals for mixed levels, the order on the stream carries them', async () => {
    const eventId = uniqueId('levels');
    await app.createEvent(eventId, {
      layout: {
        priceLevels: [
          { priceLevel: 'GOLD', price: 12000, currency: 'EUR' },
          { priceLevel: 'SILVER', price: 7900, currency: 'EUR' },
        ],
        sections: [section('A', 'GOLD', 2, 4), section('B', 'SILVER', 2, 4), section('C', 'GOLD', 1, ['101', '102', '103'])],
      },
      maxSeatsPerUser: 10,
      admission: fastAdmission,
    });
    const [u] = await admitAll(app, eventId, ['mixed']);
    expect((await hold(eventId, u.auth, { quantity: 2, priceLevel: 'SILVER' })).body.seatIds).toEqual(['B-1-1', 'B-1-2']);
    expect((await hold(eventId, u.auth, { quantity: 2, sectionId: 'C' })).body.seatIds).toEqual(['C-1-101', 'C-1-102']);
    expect((await hold(eventId, u.auth, { quantity: 3, together: true, sectionId: 'B' })).body.seatIds).toEqual(['B-2-1', 'B-2-2', 'B-2-3']);
    const mixed = await hold(eventId, u.auth, { seatIds: ['A-1-1', 'B-1-4'] });
    expect(mixed.status).toBe(201);
    expect(await levelsOf(eventId)).toEqual({ GOLD: { available: 8, held: 3, sold: 0 }, SILVER: { available: 2, held: 6, sold: 0 } });

    const confirmed = await app.request('POST', `/v1/events/${eventId}/holds/${mixed.body.holdId}/confirm`, {}, { ...u.auth, 'idempotency-key': 'confirm-mixed-1' });
    expect(confirmed.status).toBe(201);
    expect(confirmed.body).toEqual({ orderId: expect.stringMatching(/^ord_/), seatIds: ['A-1-1', 'B-1-4'], total: { amount: 19900, currency: 'EUR' } });
    // Replays carry the same total: by key, and by confirming again.
    const replay = await app.request('POST', `/v1/events/${eventId}/holds/${mixed.body.holdId}/confirm`, {}, { ...u.auth, 'idempotency-key': 'confirm-mixed-1' });
    expect(replay.body).toEqual(confirmed.body);
    const again = await app.request('POST', `/v1/events/${eventId}/holds/${mixed.body.holdId}/confirm`, {}, u.auth);
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: confirmed.body });
    expect(await levelsOf(eventId)).toEqual({ GOLD: { available: 8, held: 2, sold: 1 }, SILVER: { available: 2, held: 5, sold: 1 } });

    const entries = await withClient(topology, (c) => c.xrange(`qg:{${eventId}}:orders`, '-', '+'));
    expect(entries).toHaveLength(1);
    const fields = Object.fromEntries(entries[0][1].reduce<string[][]>((acc, v, i, all) => (i % 2 ? acc : [...acc, [v, all[i + 1]]]), []));
    expect(fields).toMatchObject({ orderId: confirmed.body.orderId, seatIds: 'A-1-1,B-1-4', priceLevels: 'GOLD,SILVER', amount: '19900', currency: 'EUR' });

    // The seat map carries section, row and level, and filters by them.
    const map = await app.request('GET', `/v1/events/${eventId}/seats?sectionId=C`);
    expect(map.body.seats).toEqual([
      { seatId: 'C-1-101', status: 'held', sectionId: 'C', rowId: '1', priceLevel: 'GOLD' },
      { seatId: 'C-1-102', status: 'held', sectionId: 'C', rowId: '1', priceLevel: 'GOLD' },
      { seatId: 'C-1-103', status: 'available', sectionId: 'C', rowId: '1', priceLevel: 'GOLD' },
    ]);
    const gold = await app.request('GET', `/v1/events/${eventId}/seats?priceLevel=GOLD&status=available&limit=5`);
    expect(gold.body.seats.map((s: any) => s.seatId)).toEqual(['A-1-2', 'A-1-3', 'A-1-4', 'A-2-1', 'A-2-2']);
    const goldRest = await app.request('GET', `/v1/events/${eventId}/seats?priceLevel=GOLD&status=available&limit=5&cursor=${gold.body.nextCursor}`);
    expect(goldRest.body.seats.map((s: any) => s.seatId)).toEqual(['A-2-3', 'A-2-4', 'C-1-103']);
    expect(goldRest.body.nextCursor).toBeNull();
    await expectCleanAudit(app, eventId);
  });

  it('new reply codes and refusals: BAD_FILTER (hold and seat map), EVENT_EXISTS while another creation runs, layout validation', async () => {
    const eventId = uniqueId('codes');
    const ga = uniqueId('codes-ga');
    const layout = { priceLevels: [{ priceLevel: 'P1', price: 100, currency: 'EUR' }], sections: [section('A', 'P1', 1, 4)] };
    await app.createEvent(eventId, { layout, admission: fastAdmission });
    await app.createEvent(ga, { capacity: 4, admission: fastAdmission });
    const [u] = await admitAll(app, eventId, ['codes']);
    const [g] = await admitAll(app, ga, ['codes']);
    const digest = await eventDigest(topology, eventId);
    expectError(await hold(eventId, u.auth, { quantity: 1, priceLevel: 'NOPE' }), 400, 'VALIDATION');
    expectError(await hold(eventId, u.auth, { quantity: 1, sectionId: 'Z' }), 400, 'VALIDATION');
    expectError(await hold(eventId, u.auth, { seatIds: ['A-1-1'], together: true }), 400, 'VALIDATION');
    expectError(await hold(eventId, u.auth, { quantity: 1, together: 'yes' }), 400, 'VALIDATION');
    expect(await eventDigest(topology, eventId)).toBe(digest);
    expectError(await hold(ga, g.auth, { quantity: 2, together: true }), 400, 'VALIDATION');
    expectError(await app.request('GET', `/v1/events/${eventId}/seats?sectionId=Z`), 400, 'VALIDATION');
    expectError(await app.request('GET', `/v1/events/${ga}/seats?priceLevel=P1`), 400, 'VALIDATION');
    expect((await app.request('GET', `/v1/events/${ga}/seats?priceLevel=GA`)).body.seats).toHaveLength(4);
    expect((await eventView(app, ga)).levels).toEqual([{ priceLevel: 'GA', available: 4, held: 0, sold: 0 }]);

    // Layout checks the DTO cannot make.
    const bad = (l: unknown) => app.admin('POST', '/v1/events', { eventId: uniqueId('bad'), layout: l });
    expectError(await bad({ ...layout, sections: [section('A', 'P9', 1, 2)] }), 400, 'VALIDATION');
    expectError(await bad({ ...layout, sections: [section('A', 'P1', 1, 2), section('A', 'P1', 1, 2)] }), 400, 'VALIDATION');
    expectError(await bad({ priceLevels: [...layout.priceLevels, { priceLevel: 'P2', price: 1, currency: 'USD' }], sections: layout.sections }), 400, 'VALIDATION');
    expectError(await bad({ ...layout, sections: [section('A', 'P1', 1, ['1', '1'])] }), 400, 'VALIDATION');
    expectError(await bad({ ...layout, sections: [section('A', 'P1', 1, 4096)] }), 400, 'VALIDATION');
    expectError(await bad({ ...layout, sections: [section('A', 'P1', 1, 0)] }), 400, 'VALIDATION');
    expectError(await bad({ ...layout, sections: [section('A-1', 'P1', 1, 2), section('A', 'P1', 1, ['1-1', '1-2'])] }), 400, 'VALIDATION');
    expectError(await app.admin('POST', '/v1/events', { eventId: uniqueId('bad'), capacity: 3, layout }), 400, 'VALIDATION');

    // Concurrent creations of one id: exactly one 201, the rest 409 EVENT_EXISTS.
    const race = uniqueId('race');
    const creations = await Promise.all(
      Array.from({ length: 5 }, () => app.admin('POST', '/v1/events', { eventId: race, layout: { ...layout, sections: [section('A', 'P1', 40, 100)] } })),
    );
    expect(tally(creations)).toEqual({ 201: 1, '409 EVENT_EXISTS': 4 });
    expect((await eventView(app, race)).capacity).toBe(4000);
    await expectCleanAudit(app, race);
  });
});

describe.each(['single' as const])('a 60,000-seat venue on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  it('3 price levels in one request: levels add up to capacity, the seat map pages through all of it by section', async () => {
    const eventId = uniqueId('stadium');
    // 60 sections of 25 rows x 40 seats; every third section at each level.
    const levels = ['LOWER', 'MIDDLE', 'UPPER'];
    const sections = Array.from({ length: 60 }, (_, s) => section(`S${s + 1}`, levels[s % 3], 25, 40));
    const body = { eventId, admission: fastAdmission, layout: { priceLevels: levels.map((priceLevel, i) => ({ priceLevel, price: 9000 - i * 3000, currency: 'EUR' })), sections } };
    console.log(`[${name}] 60,000-seat layout body: ${JSON.stringify(body).length} bytes`);
    const started = performance.now();
    const created = await app.admin('POST', '/v1/events', body);
    console.log(`[${name}] created in ${Math.round(performance.now() - started)} ms`);
    expect(created.status).toBe(201);
    expect(created.body.capacity).toBe(60_000);
    expect(created.body.levels.map((l: any) => [l.priceLevel, l.available])).toEqual([['LOWER', 20_000], ['MIDDLE', 20_000], ['UPPER', 20_000]]);
    expect(created.body.levels.reduce((n: number, l: any) => n + l.available + l.held + l.sold, 0)).toBe(created.body.capacity);

    let pages = 0;
    const seen = new Set<string>();
    for (const s of sections) {
      const ids: string[] = [];
      for (let cursor: number | null = 0; cursor !== null; ) {
        const r: any = await app.request('GET', `/v1/events/${eventId}/seats?sectionId=${s.sectionId}&limit=1000&cursor=${cursor}`);
        expect(r.status).toBe(200);
        pages += 1;
        for (const seat of r.body.seats) {
          if (seat.sectionId !== s.sectionId || seat.priceLevel !== s.priceLevel || seat.status !== 'available') throw new Error(`unexpected ${JSON.stringify(seat)}`);
          ids.push(seat.seatId);
        }
        cursor = r.body.nextCursor;
      }
      // In seat order: row by row, seat by seat.
      expect(ids[0]).toBe(`${s.sectionId}-1-1`);
      expect(ids[999]).toBe(`${s.sectionId}-25-40`);
      expect(ids).toHaveLength(1000);
      ids.forEach((id) => seen.add(id));
    }
    expect(seen.size).toBe(60_000);
    expect(pages).toBe(60);
    const [u] = await admitAll(app, eventId, ['fan']);
    const upper = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 4, together: true, priceLevel: 'UPPER' }, u.auth);
    expect(upper.body.seatIds).toEqual(['S3-1-1', 'S3-1-2', 'S3-1-3', 'S3-1-4']);
    await expectCleanAudit(app, eventId);
  });
});
