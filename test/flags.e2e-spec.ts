import type { Cluster, Redis } from 'ioredis';
import { FeatureFlagService, FlagName } from '../src/feature-flag/feature-flag.service';
import { KeyBuilder } from '../src/redis/keys';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { BUSY_MACHINE_MARGIN_MS, expectError, pollUntil } from './support/inspect';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/**
 * Feature flags across replicas: two app instances on one Redis. An override
 * set through one is in force on the other within 1 s (its API and the cached
 * value its hot path reads); clearing it returns each to its own env/default.
 */
describe.each(TOPOLOGIES)('feature flags across two replicas on %s Redis', (name) => {
  let topology: Topology;
  let a: TestApp;
  let b: TestApp;
  let client: Redis | Cluster;

  beforeAll(async () => {
    topology = await startTopology(name);
    // A takes every flag from its default; B sets streamsQueue from the environment.
    a = await startApp(topology.env);
    b = await startApp({ ...topology.env, ENABLE_STREAMS_QUEUE: 'true' });
    client = topology.client();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await b?.close();
    await a?.close();
    await topology?.stop();
  });
  afterEach(async () => {
    // No override outlives its test.
    for (const flag of ['streamsQueue', 'luaAtomic']) expect((await a.admin('DELETE', `/v1/flags/${flag}`)).status).toBe(204);
  });

  const flagsOf = async (app: TestApp) => {
    const r = await app.admin('GET', '/v1/flags');
    expect(r.status).toBe(200);
    return Object.fromEntries((r.body.flags as { name: string; enabled: boolean; source: string }[]).map((f) => [f.name, f]));
  };
  /** What the hot path of `app` reads: the cached value, refreshed every 500 ms. */
  const cached = (app: TestApp, flag: FlagName) => app.app.get(FeatureFlagService).isEnabled(flag);
  /** No probe that started more than 1 s (+ the busy-machine margin) after `since` still missed the change. */
  const expectSeenWithin1s = (poll: { lastMissAt?: number }, since: number) =>
    expect((poll.lastMissAt ?? since) - since).toBeLessThanOrEqual(1000 + BUSY_MACHINE_MARGIN_MS);

  it('an override set on A is seen by B within 1 s, in its API and its hot path; DELETE returns each to env/default', async () => {
    expect(await flagsOf(a)).toEqual({
      streamsQueue: { name: 'streamsQueue', enabled: true, source: 'default' },
      luaAtomic: { name: 'luaAtomic', enabled: true, source: 'default' },
    });
    expect((await flagsOf(b)).streamsQueue).toEqual({ name: 'streamsQueue', enabled: true, source: 'env' });

    const put = await a.admin('PUT', '/v1/flags/streamsQueue', { enabled: false });
    const setAt = performance.now();
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ name: 'streamsQueue', enabled: false, source: 'override' });
    expect(await client.hget(a.app.get(KeyBuilder).flagOverrides, 'streamsQueue')).toBe('0');
    // A's own cache took the value at once.
    expect(cached(a, 'streamsQueue')).toBe(false);

    // B's cache first, untouched by any request to B (GET /v1/flags re-reads
    // Redis, so asking B's API first would hide a stuck refresh timer).
    expectSeenWithin1s(await pollUntil(async () => cached(b, 'streamsQueue'), (on) => !on, { timeoutMs: 3000, intervalMs: 20 }), setAt);
    const seenByApi = await pollUntil(() => flagsOf(b), (f) => f.streamsQueue.source === 'override', { timeoutMs: 3000, intervalMs: 100 });
    expectSeenWithin1s(seenByApi, setAt);
    expect(seenByApi.value.streamsQueue).toEqual({ name: 'streamsQueue', enabled: false, source: 'override' });
    expect(seenByApi.value.luaAtomic).toEqual({ name: 'luaAtomic', enabled: true, source: 'default' });
    // And B acts on it: a new event without an explicit queue gets the sorted set.
    const eventId = uniqueId('flag-b');
    expect((await b.createEvent(eventId)).queue).toBe('zset');

    const cleared = await a.admin('DELETE', '/v1/flags/streamsQueue');
    const clearedAt = performance.now();
    expect(cleared.status).toBe(204);
    expect(await client.hexists(a.app.get(KeyBuilder).flagOverrides, 'streamsQueue')).toBe(0);
    expect((await flagsOf(a)).streamsQueue).toEqual({ name: 'streamsQueue', enabled: true, source: 'default' });
    expectSeenWithin1s(await pollUntil(async () => cached(b, 'streamsQueue'), (on) => on, { timeoutMs: 3000, intervalMs: 20 }), clearedAt);
    const back = await pollUntil(() => flagsOf(b), (f) => f.streamsQueue.source === 'env', { timeoutMs: 2000, intervalMs: 100 });
    expect(back.value.streamsQueue).toEqual({ name: 'streamsQueue', enabled: true, source: 'env' });
  });

  it('an override on B wins over B\'s own environment, and is seen by A', async () => {
    const put = await b.admin('PUT', '/v1/flags/luaAtomic', { enabled: false });
    const setAt = performance.now();
    expect(put.body).toEqual({ name: 'luaAtomic', enabled: false, source: 'override' });
    expectSeenWithin1s(await pollUntil(async () => cached(a, 'luaAtomic'), (on) => !on, { timeoutMs: 3000, intervalMs: 20 }), setAt);
    expect((await flagsOf(a)).luaAtomic).toEqual({ name: 'luaAtomic', enabled: false, source: 'override' });

    // An override of true over B's env true still reads as an override.
    const overTrue = await b.admin('PUT', '/v1/flags/streamsQueue', { enabled: true });
    expect(overTrue.body).toEqual({ name: 'streamsQueue', enabled: true, source: 'override' });
  });

  it('an event keeps the backend it was created with after streamsQueue flips; new events then default to zset', async () => {
    const before = uniqueId('flip-before');
    expect((await a.createEvent(before)).queue).toBe('streams');
    expect((await a.admin('PATCH', `/v1/events/${before}`, { paused: true })).status).toBe(200);
    const first = await a.request('POST', `/v1/events/${before}/queue`, { userId: 'u1' });
    expect(first.body).toMatchObject({ queue: 'streams', position: 1 });

    expect((await a.admin('PUT', '/v1/flags/streamsQueue', { enabled: false })).status).toBe(200);
    await pollUntil(async () => cached(b, 'streamsQueue'), (on) => !on, { timeoutMs: 2000, intervalMs: 20 });

    // The old event still queues on Streams, through either replica.
    expect((await b.request('GET', `/v1/events/${before}`)).body.queue).toBe('streams');
    const second = await b.request('POST', `/v1/events/${before}/queue`, { userId: 'u2' });
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ queue: 'streams', position: 2 });
    const kb = a.app.get(KeyBuilder).event(before);
    expect(await client.xlen(kb.stream)).toBe(2);
    expect(await client.exists(kb.zqueue, kb.zwait)).toBe(0);
    expect((await a.request('GET', `/v1/events/${before}/queue/${first.body.ticket}`)).body).toMatchObject({ status: 'waiting', position: 1 });

    // A new event takes the flag's value; an explicit queue still wins.
    const after = uniqueId('flip-after');
    expect((await a.createEvent(after)).queue).toBe('zset');
    // Paused, so the joiner stays in the queue to be counted (the replica that takes a join admits at its next tick).
    expect((await a.admin('PATCH', `/v1/events/${after}`, { paused: true })).status).toBe(200);
    const joined = await b.request('POST', `/v1/events/${after}/queue`, { userId: 'u1' });
    expect(joined.body).toMatchObject({ queue: 'zset', position: 1 });
    const ka = a.app.get(KeyBuilder).event(after);
    expect(await client.zcard(ka.zqueue)).toBe(1);
    expect(await client.exists(ka.stream)).toBe(0);
    const explicit = uniqueId('flip-explicit');
    expect((await b.createEvent(explicit, { capacity: 1, queue: 'streams' })).queue).toBe('streams');
  });

  it('unknown flags are 404 FLAG_NOT_FOUND on PUT and DELETE, and no override is written', async () => {
    expectError(await a.admin('PUT', '/v1/flags/fastLane', { enabled: true }), 404, 'FLAG_NOT_FOUND');
    expectError(await b.admin('DELETE', '/v1/flags/fastLane'), 404, 'FLAG_NOT_FOUND');
    expect(await client.hgetall(a.app.get(KeyBuilder).flagOverrides)).toEqual({});
  });
});
