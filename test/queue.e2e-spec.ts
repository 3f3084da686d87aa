import type { Cluster, Redis } from 'ioredis';
import { FeatureFlagService } from '../src/feature-flag/feature-flag.service';
import { queueKeys } from '../src/queue/queue.repository';
import { EventKeys, KeyBuilder } from '../src/redis/keys';
import { ScriptRegistry } from '../src/redis/script-registry';
import { countStatuses, HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { waitForAdmission } from './support/flows';
import { commandCalls, eventDigest, expectError, pollUntil, sleep, ticketSeq } from './support/inspect';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

const BACKENDS = ['streams', 'zset'] as const;
type Backend = (typeof BACKENDS)[number];

/**
 * The waiting queue through HTTP on real Redis: one ticket per user under
 * concurrency (with Lua and with the WATCH/MULTI fallback), positions in
 * arrival order, and every reply code of the queue and event scripts.
 */
describe.each(TOPOLOGIES)('waiting queue on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  let client: Redis | Cluster;

  beforeAll(async () => {
    topology = await startTopology(name);
    // 100 joins at once on the WATCH/MULTI path queue behind its 8 pooled connections, and a
    // call that cannot finish within REDIS_COMMAND_TIMEOUT_MS answers 503 (test/redis-busy
    // checks that bound). On a busy machine that queue can take over a second; this suite
    // checks one ticket per user, not speed, so it gives the queue 3 s.
    app = await startApp({ ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '3000' });
    client = topology.client();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await app?.close();
    await topology?.stop();
  });

  const keysOf = (eventId: string): EventKeys => app.app.get(KeyBuilder).event(eventId);
  const join = (eventId: string, userId: string) => app.request('POST', `/v1/events/${eventId}/queue`, { userId });
  const ticketPath = (eventId: string, ticket: string) => `/v1/events/${eventId}/queue/${ticket}`;

  /** An event whose admission is paused, so no position moves while a test looks. */
  async function pausedEvent(queue: Backend, prefix = 'q'): Promise<string> {
    const eventId = uniqueId(`${prefix}-${queue}`);
    const created = await app.createEvent(eventId, { capacity: 10, queue });
    expect(created.queue).toBe(queue);
    const paused = await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    expect(paused.status).toBe(200);
    expect(paused.body.config.paused).toBe(true);
    return eventId;
  }

  /** Entries in the event's queue backend, and the other backend's (must stay empty). */
  async function queueSizes(eventId: string, queue: Backend) {
    const k = keysOf(eventId);
    const [streamLen, zqueueLen, zwaitLen, users] = await Promise.all([
      client.xlen(k.stream),
      client.zcard(k.zqueue),
      client.hlen(k.zwait),
      client.hgetall(k.users),
    ]);
    return queue === 'streams'
      ? { waiting: streamLen, other: zqueueLen + zwaitLen, users }
      : { waiting: zqueueLen, other: streamLen, zwait: zwaitLen, users };
  }

  describe.each([
    ['on', true],
    ['off', false],
  ])('with luaAtomic %s', (_label, luaAtomic) => {
    const flags = () => app.app.get(FeatureFlagService);

    beforeAll(async () => {
      if (luaAtomic) return;
      const put = await app.admin('PUT', '/v1/flags/luaAtomic', { enabled: false });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ name: 'luaAtomic', enabled: false, source: 'override' });
      // The hot path reads a cached copy refreshed every 500 ms; wait for a refresh.
      await pollUntil(async () => flags().isEnabled('luaAtomic'), (on) => !on, { timeoutMs: 3000, intervalMs: 20 });
    });
    afterAll(async () => {
      if (luaAtomic) return;
      const cleared = await app.admin('DELETE', '/v1/flags/luaAtomic');
      expect(cleared.status).toBe(204);
      await pollUntil(async () => flags().isEnabled('luaAtomic'), (on) => on, { timeoutMs: 2000 });
    });

    it.each(BACKENDS)('100 concurrent joins by one user on %s: exactly one 202, 99 409 DUPLICATE, one queue entry', async (queue) => {
      const eventId = await pausedEvent(queue, `dup-${luaAtomic ? 'lua' : 'watch'}`);
      const watchesBefore = await commandCalls(topology, 'watch');

      const results = await Promise.all(Array.from({ length: 100 }, () => join(eventId, 'same-user')));

      expect(countStatuses(results)).toEqual({ 202: 1, 409: 99 });
      const winner = results.find((r) => r.status === 202) as HttpResult;
      expect(winner.body).toEqual({ ticket: expect.any(String), status: 'waiting', position: 1, etaSeconds: expect.any(Number), queue });
      const seq = ticketSeq(winner.body.ticket);
      for (const r of results.filter((x) => x.status === 409)) {
        expectError(r, 409, 'DUPLICATE');
        // The one entry waits first in line; admission is paused.
        expect(r.body.position).toBe(1);
      }

      const sizes = await queueSizes(eventId, queue);
      expect(sizes.waiting).toBe(1);
      expect(sizes.other).toBe(0);
      if (queue === 'zset') expect(sizes.zwait).toBe(1);
      expect(sizes.users).toEqual({ 'same-user': String(seq) });
      // No refused join took a sequence number.
      expect(await client.hget(keysOf(eventId).meta, 'seq')).toBe('1');

      // The flag really chose the path: WATCH/MULTI only with luaAtomic off.
      const watches = (await commandCalls(topology, 'watch')) - watchesBefore;
      if (luaAtomic) expect(watches).toBe(0);
      else expect(watches).toBeGreaterThanOrEqual(100);

      // One more refused join changes nothing at all.
      const before = await eventDigest(client, keysOf(eventId));
      expectError(await join(eventId, 'same-user'), 409, 'DUPLICATE');
      expect(await eventDigest(client, keysOf(eventId))).toBe(before);
    });

    it.each(BACKENDS)('leave on %s: refused with a wrong MAC, then frees the user to join again, once', async (queue) => {
      const eventId = await pausedEvent(queue, `leave-${luaAtomic ? 'lua' : 'watch'}`);
      const alice = await join(eventId, 'alice');
      const bob = await join(eventId, 'bob');
      const secret = alice.body.ticket.split('.')[1] as string;
      const forged = `s${ticketSeq(alice.body.ticket)}.${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;

      const before = await eventDigest(client, keysOf(eventId));
      expectError(await app.request('DELETE', ticketPath(eventId, forged)), 404, 'TICKET_NOT_FOUND');
      expect(await eventDigest(client, keysOf(eventId))).toBe(before);

      // Two concurrent leaves of one ticket: exactly one succeeds.
      const leaves = await Promise.all([1, 2].map(() => app.request('DELETE', ticketPath(eventId, alice.body.ticket))));
      expect(countStatuses(leaves)).toEqual({ 204: 1, 404: 1 });
      const sizes = await queueSizes(eventId, queue);
      expect(sizes.waiting).toBe(1);
      expect(sizes.users).toEqual({ bob: String(ticketSeq(bob.body.ticket)) });

      const rejoins = await Promise.all(Array.from({ length: 10 }, () => join(eventId, 'alice')));
      expect(countStatuses(rejoins)).toEqual({ 202: 1, 409: 9 });
      expect((await queueSizes(eventId, queue)).waiting).toBe(2);
    });
  });

  it.each(BACKENDS)('1000 distinct users joining at once on %s get positions 1..1000, once each, in sequence order', async (queue) => {
    const eventId = await pausedEvent(queue, 'many');
    const users = Array.from({ length: 1000 }, (_, i) => `fan-${i}`);

    const results = await Promise.all(users.map((userId) => join(eventId, userId)));

    expect(countStatuses(results)).toEqual({ 202: 1000 });
    const joined = results.map((r, i) => ({ userId: users[i], seq: ticketSeq(r.body.ticket), position: r.body.position as number, ticket: r.body.ticket as string }));
    expect(new Set(joined.map((j) => j.seq)).size).toBe(1000);
    expect(joined.map((j) => j.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const bySeq = [...joined].sort((a, b) => a.seq - b.seq);
    const minSeq = bySeq[0].seq;
    if (queue === 'streams') {
      for (const j of joined) expect(j.position).toBe(j.seq - minSeq + 1);
    } else {
      // Ordered by seq: walking the tickets in seq order, positions rise 1, 2, 3…
      expect(bySeq.map((j) => j.position)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    }

    // What a waiting user reads back agrees with what the join said (every 10th: 1000 more requests add little).
    const sample = joined.filter((_, i) => i % 10 === 0);
    const looked = await Promise.all(sample.map((j) => app.request('GET', ticketPath(eventId, j.ticket))));
    looked.forEach((r, i) => expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { status: 'waiting', position: sample[i].position, etaSeconds: expect.any(Number) } }));

    const sizes = await queueSizes(eventId, queue);
    expect(sizes.waiting).toBe(1000);
    expect(sizes.other).toBe(0);
    expect(Object.keys(sizes.users)).toHaveLength(1000);
    for (const j of joined) expect(sizes.users[j.userId]).toBe(String(j.seq));
    const view = await app.request('GET', `/v1/events/${eventId}`);
    expect(view.body).toMatchObject({ waiting: 1000, active: 0 });
  });

  describe('reply codes of the queue and event scripts', () => {
    it('EVENT_EXISTS: creating an event twice is 409 and leaves the first one as it was', async () => {
      const eventId = uniqueId('exists');
      await app.createEvent(eventId, { capacity: 3, queue: 'zset' });
      // Paused, so no admitter tick fills the new event's token bucket between the two digests.
      expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
      const before = await eventDigest(client, keysOf(eventId));

      const again = await app.admin('POST', '/v1/events', { eventId, capacity: 5, queue: 'streams' });

      expectError(again, 409, 'EVENT_EXISTS');
      expect(await eventDigest(client, keysOf(eventId))).toBe(before);
      const view = await app.request('GET', `/v1/events/${eventId}`);
      expect(view.body).toMatchObject({ eventId, capacity: 3, available: 3, queue: 'zset' });
    });

    it('EVENT_NOT_FOUND: join, get, patch, ticket look-up and leave of an unknown event are 404 and create nothing', async () => {
      const eventId = uniqueId('ghost');
      const ticket = `s1.${'A'.repeat(27)}`;
      const answers = {
        join: await join(eventId, 'u1'),
        get: await app.request('GET', `/v1/events/${eventId}`),
        patch: await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true }),
        ticket: await app.request('GET', ticketPath(eventId, ticket)),
        leave: await app.request('DELETE', ticketPath(eventId, ticket)),
      };
      for (const r of Object.values(answers)) expectError(r, 404, 'EVENT_NOT_FOUND');

      const k = keysOf(eventId);
      const existing = await Promise.all(queueKeys(k).concat(k.seats, k.avail).map((key) => client.exists(key)));
      expect(existing.every((n) => n === 0)).toBe(true);
      // The admitter meets no such id either; asked anyway, its script says so and admits nobody.
      expect(await client.zscore(app.app.get(KeyBuilder).eventRegistry, eventId)).toBeNull();
      expect((await app.app.get(ScriptRegistry).run('admit', queueKeys(k), [100, 1000]))[0]).toBe('EVENT_NOT_FOUND');
      expect(await app.admitNow(eventId)).toBe(0);
    });

    it.each(BACKENDS)('WAITING, PAUSED, ADMITTED and DUPLICATE of an admitted user on %s; leaving ends the session', async (queue) => {
      const eventId = await pausedEvent(queue, 'codes');
      const alice = await join(eventId, 'alice');
      const bob = await join(eventId, 'bob');
      expect([alice.status, alice.body.position, bob.status, bob.body.position]).toEqual([202, 1, 202, 2]);

      const waiting = await app.request('GET', ticketPath(eventId, alice.body.ticket));
      expect(waiting.status).toBe(200);
      // The default rate is 50/s: one place ahead is under a second.
      expect(waiting.body).toEqual({ status: 'waiting', position: 1, etaSeconds: 1 });

      // PAUSED: neither an explicit tick nor the background admitter lets anyone in.
      const k = keysOf(eventId);
      const raw = await app.app.get(ScriptRegistry).run('admit', queueKeys(k), [100, 1000]);
      expect(raw[0]).toBe('PAUSED');
      expect(await app.admitNow(eventId)).toBe(0);
      await sleep(300); // three admitter ticks
      expect((await app.request('GET', ticketPath(eventId, alice.body.ticket))).body).toMatchObject({ status: 'waiting', position: 1 });
      expect((await app.request('GET', `/v1/events/${eventId}`)).body).toMatchObject({ waiting: 2, active: 0 });
      expect(await client.zcard(k.active)).toBe(0);

      const resumed = await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
      expect(resumed.body.config.paused).toBe(false);
      await waitForAdmission(app, eventId, alice.body.ticket);
      await waitForAdmission(app, eventId, bob.body.ticket);

      // ADMITTED: the ticket now answers with an access token and the session's end.
      const admitted = await app.request('GET', ticketPath(eventId, alice.body.ticket));
      expect(admitted.status).toBe(200);
      expect(admitted.body).toEqual({ status: 'admitted', accessToken: expect.any(String), accessExpiresAt: expect.any(String) });
      const sessionLeftMs = Date.parse(admitted.body.accessExpiresAt) - Date.now();
      expect(sessionLeftMs).toBeGreaterThan(590_000); // default session 600 s
      expect(sessionLeftMs).toBeLessThanOrEqual(600_000);
      // The token works on a seat endpoint, so it is the real thing.
      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { authorization: `Bearer ${admitted.body.accessToken}` });
      expect(hold.status).toBe(201);

      // DUPLICATE with position 0: an admitted user cannot queue again.
      const dup = await join(eventId, 'alice');
      expectError(dup, 409, 'DUPLICATE');
      expect(dup.body.position).toBe(0);

      // Leaving an admitted session ends it; the ticket is gone; the user may join again.
      expect((await app.request('DELETE', ticketPath(eventId, alice.body.ticket))).status).toBe(204);
      expectError(await app.request('GET', ticketPath(eventId, alice.body.ticket)), 404, 'TICKET_NOT_FOUND');
      expectError(await app.request('DELETE', ticketPath(eventId, alice.body.ticket)), 404, 'TICKET_NOT_FOUND');
      const seq = String(ticketSeq(alice.body.ticket));
      expect(await client.zscore(k.active, seq)).toBeNull();
      expect(await client.hexists(k.sessions, seq)).toBe(0);
      expect(await client.hexists(k.users, 'alice')).toBe(0);

      const rejoined = await join(eventId, 'alice');
      expect(rejoined.status).toBe(202);
      expect(rejoined.body.ticket).not.toBe(alice.body.ticket);
      expect(rejoined.body.queue).toBe(queue);
      expect(await client.hget(k.users, 'alice')).toBe(String(ticketSeq(rejoined.body.ticket)));
      // Bob's session was untouched by Alice leaving.
      expect((await app.request('GET', ticketPath(eventId, bob.body.ticket))).body.status).toBe('admitted');
    });

    it.each(BACKENDS)('TICKET_NOT_FOUND on %s for unknown, malformed, wrong-MAC and left tickets; a user who left may join again', async (queue) => {
      const eventId = await pausedEvent(queue, 'tickets');
      const alice = await join(eventId, 'alice');
      const bob = await join(eventId, 'bob');
      const aliceSeq = ticketSeq(alice.body.ticket);
      const secret = alice.body.ticket.split('.')[1] as string;
      const wrongSecret = secret.startsWith('A') ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;

      const before = await eventDigest(client, keysOf(eventId));
      const bad = [
        `s${aliceSeq}.${wrongSecret}`, // right seq, wrong MAC: a guess finds nothing
        `s${ticketSeq(bob.body.ticket)}.${secret}`, // Alice's MAC on Bob's seq
        `s999999.${secret}`, // no such seq
        `${aliceSeq}.${secret}`, // the ticket without its kind
        'not-a-ticket',
        `s${aliceSeq}.short`,
        `s0.${secret}`,
        `s${aliceSeq}.${secret}x`,
      ];
      for (const ticket of bad) {
        expectError(await app.request('GET', ticketPath(eventId, encodeURIComponent(ticket))), 404, 'TICKET_NOT_FOUND');
        expectError(await app.request('DELETE', ticketPath(eventId, encodeURIComponent(ticket))), 404, 'TICKET_NOT_FOUND');
      }
      expect(await eventDigest(client, keysOf(eventId))).toBe(before);

      // A duplicate join while waiting reports the current place.
      const dup = await join(eventId, 'alice');
      expectError(dup, 409, 'DUPLICATE');
      expect(dup.body.position).toBe(1);

      // Leave while waiting: the ticket is gone and Alice may join again.
      expect((await app.request('DELETE', ticketPath(eventId, alice.body.ticket))).status).toBe(204);
      expectError(await app.request('GET', ticketPath(eventId, alice.body.ticket)), 404, 'TICKET_NOT_FOUND');
      expectError(await app.request('DELETE', ticketPath(eventId, alice.body.ticket)), 404, 'TICKET_NOT_FOUND');
      const k = keysOf(eventId);
      expect(await client.hexists(k.users, 'alice')).toBe(0);

      // Bob's place never grows; the sorted set knows exactly that he is now first.
      const bobNow = await app.request('GET', ticketPath(eventId, bob.body.ticket));
      expect(bobNow.body.position).toBeLessThanOrEqual(2);
      if (queue === 'zset') expect(bobNow.body.position).toBe(1);

      const rejoined = await join(eventId, 'alice');
      expect(rejoined.status).toBe(202);
      expect(ticketSeq(rejoined.body.ticket)).toBeGreaterThan(aliceSeq);
      expect(rejoined.body.position).toBe(queue === 'streams' ? 3 : 2);
      const sizes = await queueSizes(eventId, queue);
      expect(sizes.waiting).toBe(2);
      expect(sizes.users).toEqual({ alice: String(ticketSeq(rejoined.body.ticket)), bob: String(ticketSeq(bob.body.ticket)) });

      // Admission skips the entry Alice left and takes Bob, then Alice's new ticket.
      await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
      await waitForAdmission(app, eventId, bob.body.ticket);
      await waitForAdmission(app, eventId, rejoined.body.ticket);
      expect(await client.zcard(k.active)).toBe(2);
    });
  });
});
