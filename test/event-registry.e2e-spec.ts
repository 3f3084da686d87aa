import { KeyBuilder } from '../src/redis/keys';
import { QueueRepository } from '../src/queue/queue.repository';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil } from './support/inspect';
import { eventView, pool } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * Issue 9 item 3: the event registry without races. Events are created while
 * two replicas tick admission every 20 ms (a busy event keeps their loops
 * running), and users join each new event the moment it exists, partly
 * straight into Redis so that no replica hears of the join: the replicas must
 * find every event through the registry, and none may drop one on an
 * EVENT_NOT_FOUND seen while it was being created.
 */
describe.each(TOPOLOGIES)('event registry on %s Redis', (name) => {
  const EVENTS = 200;
  const USERS = 3;
  let topology: Topology;
  let apps: TestApp[];

  beforeAll(async () => {
    topology = await startTopology(name);
    apps = [await startApp({ ...topology.env, ADMIT_TICK_MS: '20' }), await startApp({ ...topology.env, ADMIT_TICK_MS: '20' })];
  }, 60_000);
  afterAll(async () => {
    await Promise.all((apps ?? []).map((a) => a.close()));
    await topology?.stop();
  });

  it(`${EVENTS} events created while two replicas tick every 20 ms: every one admits its waiting users`, async () => {
    // A slow event with a long queue: both admitters tick all along.
    const busy = uniqueId('busy');
    await apps[0].createEvent(busy, { capacity: 10, admission: { ratePerSecond: 1, maxActive: 1_000_000 } });
    await pool(Array.from({ length: 50 }, (_, i) => `b${i}`), 10, (userId, i) => apps[i % 2].request('POST', `/v1/events/${busy}/queue`, { userId }));

    const ids = Array.from({ length: EVENTS }, (_, i) => uniqueId(`reg${i}`));
    await pool(ids, 20, async (eventId, i) => {
      await apps[i % 2].createEvent(eventId, { capacity: 5, admission: { ratePerSecond: 1000, maxActive: 1000 } });
      for (let u = 0; u < USERS; u += 1) {
        if (u === 0) {
          // through a replica (which then ticks the event itself at once)
          const r = await apps[(i + 1) % 2].request('POST', `/v1/events/${eventId}/queue`, { userId: `u${u}` });
          expect(r.status).toBe(202);
        } else {
          // straight into Redis: only the registry tells the replicas
          const r = await apps[i % 2].app.get(QueueRepository).join(eventId, `u${u}`, '', { sortKey: '', epoch: '' }, 100, { answerExisting: false, nonce: 7 });
          expect(r.kind).toBe('joined');
        }
      }
    });

    const listed = await withClient(topology, (c) => c.zrange(apps[0].app.get(KeyBuilder).eventRegistry, 0, -1));
    expect(ids.filter((id) => !listed.includes(id))).toEqual([]);

    const started = performance.now();
    const { value: pending } = await pollUntil(
      async () => {
        const views = await pool(ids, 20, (id) => eventView(apps[0], id));
        return views.filter((v) => v.waiting !== 0 || v.active !== USERS).map((v) => `${v.eventId}: waiting ${v.waiting}, active ${v.active}`);
      },
      (left) => left.length === 0,
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(pending).toEqual([]);
    console.log(`[${name}] all ${EVENTS} events admitted their ${USERS} users within ${Math.round(performance.now() - started)} ms of the last create`);
  });

  it('a create whose registration was lost (Redis gone right after the script) is listed by its retry, which answers 409 EVENT_EXISTS', async () => {
    const eventId = uniqueId('heal');
    const created = await apps[0].createEvent(eventId, { capacity: 2 });
    const registry = apps[0].app.get(KeyBuilder).eventRegistry;
    const score = await withClient(topology, (c) => c.zscore(registry, eventId));
    expect(Number(score)).toBeGreaterThan(0);
    await withClient(topology, (c) => c.zrem(registry, eventId));
    const retry = await apps[1].admin('POST', '/v1/events', { eventId, capacity: 2 });
    expect(retry.status).toBe(409);
    expect(retry.body.code).toBe('EVENT_EXISTS');
    expect(await withClient(topology, (c) => c.zscore(registry, eventId))).toBe(score);
    expect(await eventView(apps[0], eventId)).toMatchObject({ capacity: created.capacity, available: 2 });
  });

  it('ids in the set registry of earlier versions (a replica not yet upgraded) move into the sorted set and are served', async () => {
    const eventId = uniqueId('legacy');
    await apps[0].createEvent(eventId, { capacity: 2, admission: { ratePerSecond: 1000 } });
    const keys = apps[0].app.get(KeyBuilder);
    await withClient(topology, async (c) => {
      await c.zrem(keys.eventRegistry, eventId);
      await c.sadd(keys.legacyEventRegistry, eventId);
    });
    // Joined straight into Redis: only the registry can lead a replica to it.
    const r = await apps[0].app.get(QueueRepository).join(eventId, 'old-timer', '', { sortKey: '', epoch: '' }, 100, { answerExisting: false, nonce: 7 });
    expect(r.kind).toBe('joined');
    await pollUntil(() => eventView(apps[1], eventId), (v) => v.active === 1 && v.waiting === 0, { timeoutMs: 10_000, intervalMs: 100 });
    expect(await withClient(topology, (c) => c.zscore(keys.eventRegistry, eventId))).toBe('0');
    expect(await withClient(topology, (c) => c.sismember(keys.legacyEventRegistry, eventId))).toBe(0);
  });
});
