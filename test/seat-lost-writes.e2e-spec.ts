import type { Redis } from 'ioredis';
import { KeyBuilder } from '../src/redis/keys';
import { SeatSnapshots } from '../src/seat/seat-snapshots';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil } from './support/inspect';
import { admitAll, decodeSeatState, storedSeatStatus } from './support/seat-flows';
import { startRedis } from './support/redis-harness';

/**
 * A replica's seat snapshot follows the seat change log by version (seatv).
 * If Redis loses its latest writes (an unplanned failover, AOF's last
 * second) and later changes reuse those versions, a snapshot that applied
 * the lost entries must notice: each log entry carries a tag (the Redis TIME
 * of its write), the snapshot sends the tag of the entry it applied last,
 * and a different one there makes it read the whole map again. On a real
 * redis-server: SAVE, changes, DEBUG RELOAD NOSAVE, as many other changes.
 */

const decodeState = decodeSeatState;
const heldIds = (states: string[]) => states.map((s, i) => (s === 'held' ? `GA-${i + 1}` : null)).filter(Boolean);

describe('seat snapshots when Redis loses writes and reuses their versions (SAVE, holds, DEBUG RELOAD NOSAVE)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let control: Redis;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'no', '--enable-debug-command', 'yes']);
    control = redis.client();
    app = await startApp({ REDIS_URL: redis.url });
  }, 60_000);
  afterAll(async () => {
    control?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  const CAPACITY = 30;
  const state = (eventId: string) => app.request('GET', `/v1/events/${eventId}/seats/state`);
  const hold = async (eventId: string, who: { auth: Record<string, string> }, seatIds: string[]) =>
    expect((await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds }, who.auth)).status).toBe(201);

  /** Every seat's state as Redis holds it (the seats hash). */
  async function redisStates(eventId: string): Promise<string[]> {
    const k = app.app.get(KeyBuilder).event(eventId);
    const values = await control.hmget(k.seats, ...Array.from({ length: CAPACITY }, (_, i) => `GA-${i + 1}`));
    return values.map(storedSeatStatus);
  }

  it.each([
    ['as many changes as were lost', 2],
    ['more changes than were lost', 3],
  ])('%s: the snapshot matches Redis within a second', async (_name, after) => {
    const eventId = uniqueId('seat-lost');
    await app.createEvent(eventId, {
      capacity: CAPACITY,
      maxSeatsPerUser: 10,
      admission: { ratePerSecond: 100_000, maxActive: 1_000_000, sessionTtlSeconds: 3600 },
    });
    const [bob, carol, dave] = await admitAll(app, eventId, ['bob', 'carol', 'dave']);
    await hold(eventId, bob, ['GA-1']);
    expect(heldIds(decodeState((await state(eventId)).body))).toEqual(['GA-1']);

    // Two seat changes (versions 2 and 3) that this replica's snapshot applies, then Redis forgets.
    await control.call('SAVE');
    await hold(eventId, bob, ['GA-2', 'GA-3', 'GA-4']);
    await hold(eventId, carol, ['GA-5']);
    const before = (await state(eventId)).body;
    expect({ version: before.version, held: heldIds(decodeState(before)) }).toEqual({ version: 3, held: ['GA-1', 'GA-2', 'GA-3', 'GA-4', 'GA-5'] });
    await control.call('DEBUG', 'RELOAD', 'NOSAVE');
    expect(heldIds(await redisStates(eventId))).toEqual(['GA-1']);

    // Other changes reuse versions 2, 3 (and 4): other seats held.
    const later = [['GA-20'], ['GA-21', 'GA-22'], ['GA-23']].slice(0, after);
    const holders = [carol, dave, bob];
    for (const [i, seatIds] of later.entries()) await hold(eventId, holders[i], seatIds);
    const inRedis = await redisStates(eventId);
    expect(heldIds(inRedis)).toEqual(['GA-1', ...later.flat()]);

    const refreshesBefore = app.app.get(SeatSnapshots).changedRefreshes;
    const seen = await pollUntil(() => state(eventId), (r) => r.body.version === 1 + after && JSON.stringify(decodeState(r.body)) === JSON.stringify(inRedis), {
      timeoutMs: 1500,
      intervalMs: 100,
    }).catch(async () => ({ value: await state(eventId) }));
    expect({ version: seen.value.body.version, held: heldIds(decodeState(seen.value.body)) }).toEqual({ version: 1 + after, held: heldIds(inRedis) });
    expect(seen.value.body).toMatchObject({ available: CAPACITY - heldIds(inRedis).length, held: heldIds(inRedis).length, sold: 0 });
    expect(app.app.get(SeatSnapshots).changedRefreshes).toBeGreaterThan(refreshesBefore);
  }, 60_000);
});
