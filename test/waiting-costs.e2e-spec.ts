import type { Redis } from 'ioredis';
import { Admitter } from '../src/queue/admitter';
import { EventActivity } from '../src/event/event-activity';
import { QueueSnapshots } from '../src/queue/queue-snapshots';
import { QueueStatusService, STREAM_MIN_GAP_MS } from '../src/queue/queue-status.service';
import { headKeys, leaveKeys, queueKeys, statusKeys } from '../src/queue/queue.repository';
import { KeyBuilder } from '../src/redis/keys';
import { ScriptRegistry } from '../src/redis/script-registry';
import { Sweeper } from '../src/seat/sweeper';
import { commandDelta, commandStats as sharedCommandStats } from './support/command-stats';
import { countStatuses, startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError, pollUntil, sleep, ticketSeq } from './support/inspect';
import { jwtPayload, openSse, SseStream } from './support/sse-client';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

const ticketPath = (eventId: string, ticket: string) => `/v1/events/${eventId}/queue/${ticket}`;

/**
 * Issue 11: a waiting person costs Redis work when something about them
 * changes, never because they look. Counted with INFO commandstats on every
 * master, against the only Redis work left running: the snapshot refreshes
 * (one queueHead script per event served, counted by the replica), the flag
 * refresh (HGETALL) and the cluster client's slot refresh. The admitter and
 * the sweeper are stopped while counting (they tick every event, and issue
 * 11 item 6 is another change) and admissions are run by hand.
 */
describe.each(TOPOLOGIES)('what waiting costs on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  let masters: Redis[];

  beforeAll(async () => {
    topology = await startTopology(name);
    // This suite counts commands, it does not test timeouts: thousands of requests in one
    // process on a busy machine may see a reply late, which must not become a 503 here.
    app = await startApp({ ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '10000' });
    masters = await topology.masters();
    await app.app.get(Admitter).stop();
    await app.app.get(Sweeper).stop();
  }, 60_000);
  afterAll(async () => {
    masters?.forEach((m) => m.disconnect());
    await app?.close();
    await topology?.stop();
  });

  const commandStats = () => sharedCommandStats(masters);
  /**
   * Redis's counts and this replica's refresh count, taken while no refresh
   * is under way, so that every refresh falls wholly on one side of the sample.
   */
  async function quietSample(): Promise<{ stats: Map<string, number>; refreshes: number }> {
    for (;;) {
      while (snapshots().inFlight > 0) await sleep(5);
      const refreshes = snapshots().refreshes;
      const stats = await commandStats();
      if (snapshots().inFlight === 0 && snapshots().refreshes === refreshes) return { stats, refreshes };
    }
  }
  const delta = commandDelta;
  /** Background work a replica does whoever looks: never per read. */
  const BACKGROUND = new Set(['evalsha', 'hgetall', 'info', 'cluster']);

  const snapshots = () => app.app.get(QueueSnapshots);

  async function joinAll(eventId: string, users: string[]): Promise<string[]> {
    const tickets: string[] = [];
    for (let i = 0; i < users.length; i += 100) {
      const batch = await Promise.all(users.slice(i, i + 100).map((userId) => app.request('POST', `/v1/events/${eventId}/queue`, { userId })));
      expect(countStatuses(batch)).toEqual({ 202: batch.length });
      tickets.push(...batch.map((r) => r.body.ticket as string));
    }
    return tickets;
  }

  async function readAll(eventId: string, tickets: string[]) {
    const answers = [];
    for (let i = 0; i < tickets.length; i += 250) {
      answers.push(...(await Promise.all(tickets.slice(i, i + 250).map((t) => app.request('GET', ticketPath(eventId, t))))));
    }
    return answers;
  }

  /** Admits by hand (the admitter is stopped) until `n` more are admitted. */
  async function admitByHand(eventId: string, n: number): Promise<void> {
    let admitted = 0;
    await pollUntil(
      async () => (admitted += await app.admitNow(eventId)),
      (total) => total >= n,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  it('1,000 waiting tickets read 5 times each cost Redis 0 commands; then each reads admitted with its own token', async () => {
    const eventId = uniqueId('reads');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000, maxActive: 1000, sessionTtlSeconds: 600 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    const tickets = await joinAll(eventId, Array.from({ length: 1000 }, (_, i) => `reader-${i}`));
    const firstSeq = Math.min(...tickets.map(ticketSeq));
    await readAll(eventId, tickets.slice(0, 1)); // the replica starts serving the event

    // The once-a-second look at every event (EventActivity: one HMGET each) is not
    // per read either; it is stopped for the window so the count below is exact.
    const activity = app.app.get(EventActivity);
    await activity.stop();
    const before = await quietSample();
    const started = performance.now();
    for (let round = 0; round < 5; round += 1) {
      const answers = await readAll(eventId, tickets);
      answers.forEach((r, i) => {
        const position = ticketSeq(tickets[i]) - firstSeq + 1;
        expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { status: 'waiting', position, etaSeconds: Math.ceil(position / 1000) } });
      });
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await quietSample();
    activity.onApplicationBootstrap();
    const refreshes = after.refreshes - before.refreshes;
    const spent = delta(after.stats, before.stats);

    // Every script run in the window was a snapshot refresh (queueHead: HMGET, XLEN, TIME inside,
    // which commandstats counts too): none was a ticket read…
    expect(spent.evalsha ?? 0).toBe(refreshes);
    const { evalsha, hmget, xlen, time, getrange, ...rest } = spent;
    expect({ hmget, xlen, time }).toEqual({ hmget: refreshes, xlen: refreshes, time: refreshes });
    // Each refresh checks the nonces it read are still there, and reads new ones (one GETRANGE each, at most two per string).
    expect(getrange ?? 0).toBeLessThanOrEqual(4 * refreshes);
    // …and refreshes follow the clock (two a second per event served), not the 5,000 reads.
    expect(refreshes).toBeLessThanOrEqual(Math.ceil(seconds * 2 + 2) * (snapshots() as unknown as { entries: Map<string, unknown> }).entries.size);
    // Nothing else touched Redis but the background (flags, INFO itself, cluster slot refresh).
    expect(Object.keys(rest).filter((c) => !BACKGROUND.has(c))).toEqual([]);

    // Their turn comes: each ticket now reads admitted, with a token for its own session.
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
    await admitByHand(eventId, 1000);
    await sleep(600); // one refresh: the snapshot's head passed every ticket
    const admitted = await readAll(eventId, tickets);
    admitted.forEach((r, i) => {
      expect(r.body).toEqual({ status: 'admitted', accessToken: expect.any(String), accessExpiresAt: expect.any(String) });
      expect(jwtPayload(r.body.accessToken)).toMatchObject({ sub: `reader-${i}`, eid: eventId, sid: String(ticketSeq(tickets[i])) });
    });
  }, 120_000);

  it('GET /v1/events/:eventId/queue: the same head for every caller, cacheable for 1 s, with an ETag and 304', async () => {
    const eventId = uniqueId('head');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000, maxActive: 1000, sessionTtlSeconds: 600 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    await joinAll(eventId, ['h1', 'h2', 'h3']);
    await sleep(600);

    const [a, b] = await Promise.all([1, 2].map(() => app.request('GET', `/v1/events/${eventId}/queue`)));
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ status: 'paused', waiting: 3, admittedThrough: 0, observedRatePerSecond: null, admissionMode: 'auto', updatedAt: expect.any(String) });
    expect(b.body).toEqual(a.body);
    expect(a.headers.get('cache-control')).toBe('public, max-age=1');
    const etag = a.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    expect(b.headers.get('etag')).toBe(etag);

    const cached = await app.request('GET', `/v1/events/${eventId}/queue`, undefined, { 'if-none-match': etag! });
    expect(cached.status).toBe(304);
    expect(cached.body).toBeUndefined();

    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
    await admitByHand(eventId, 2);
    const moved = await pollUntil(
      () => app.request('GET', `/v1/events/${eventId}/queue`, undefined, { 'if-none-match': etag! }),
      (r) => r.status === 200,
      { timeoutMs: 3000 },
    );
    expect(moved.value.body).toMatchObject({ status: 'open', admittedThrough: expect.any(Number), observedRatePerSecond: expect.any(Number) });
    expect(moved.value.body.waiting).toBeLessThanOrEqual(1);
    expect(moved.value.headers.get('etag')).not.toBe(etag);

    expectError(await app.request('GET', `/v1/events/${uniqueId('nope')}/queue`), 404, 'EVENT_NOT_FOUND');
  });

  it('a forged or altered ticket is 404 TICKET_NOT_FOUND, never a position; a ticket of one event is refused on another', async () => {
    const [one, two] = [uniqueId('forge-a'), uniqueId('forge-b')];
    for (const eventId of [one, two]) {
      await app.createEvent(eventId, { capacity: 10 });
      await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    }
    const [mine] = await joinAll(one, ['victim']);
    await joinAll(two, ['other']); // the same sequence exists on the other event
    const seq = ticketSeq(mine);
    const mac = mine.split('.')[1];
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const bad = [
      `s${seq}.${flip(mac[0])}${mac.slice(1)}`, // one character of the MAC
      `s${seq}.${mac.slice(0, 26)}${mac[26] === 'A' ? 'B' : 'A'}`, // the last character (its unused bits too)
      `s${seq + 1}.${mac}`, // the next place, with this MAC
      `s${seq}.${'A'.repeat(27)}`,
    ];
    for (const ticket of bad) {
      expectError(await app.request('GET', ticketPath(one, ticket)), 404, 'TICKET_NOT_FOUND');
      expectError(await app.request('GET', `${ticketPath(one, ticket)}/events`), 404, 'TICKET_NOT_FOUND');
      expectError(await app.request('DELETE', ticketPath(one, ticket)), 404, 'TICKET_NOT_FOUND');
    }
    expectError(await app.request('GET', ticketPath(two, mine)), 404, 'TICKET_NOT_FOUND');
    expectError(await app.request('DELETE', ticketPath(two, mine)), 404, 'TICKET_NOT_FOUND');
    // The real one still works, and nothing was removed by the attempts.
    expect((await app.request('GET', ticketPath(one, mine))).body).toEqual({ status: 'waiting', position: 1, etaSeconds: 1 });

    // The scripts refuse a ticket signed for an earlier creation of the event (a deleted and re-created id).
    const k = app.app.get(KeyBuilder).event(one);
    const epoch = Number(await app.app.get(ScriptRegistry).run('queueHead', headKeys(k), [0, 10, 0, 0, 0, 1, 1]).then((r) => r[2]));
    const scripts = app.app.get(ScriptRegistry);
    const nonce = Buffer.from(mac, 'base64url').readUInt32BE(0);
    expect((await scripts.run('ticketStatus', statusKeys(k), [seq, epoch - 1, nonce]))[0]).toBe('TICKET_NOT_FOUND');
    expect((await scripts.run('leave', leaveKeys(k), [seq, epoch - 1, nonce]))[0]).toBe('TICKET_NOT_FOUND');
    // …and one whose nonce is not the one its join stored (invariant 11)
    expect((await scripts.run('ticketStatus', statusKeys(k), [seq, epoch, (nonce ^ 1) >>> 0]))[0]).toBe('TICKET_NOT_FOUND');
    expect((await scripts.run('leave', leaveKeys(k), [seq, epoch, (nonce ^ 1) >>> 0]))[0]).toBe('TICKET_NOT_FOUND');
    expect((await scripts.run('ticketStatus', statusKeys(k), [seq, epoch, nonce]))[0]).toBe('WAITING');
  });

  it('2,000 open SSE streams cost Redis what one does; each gets the admitted frame of its own ticket', async () => {
    const eventId = uniqueId('sse-many');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000, maxActive: 2000, sessionTtlSeconds: 600 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    const users = Array.from({ length: 2000 }, (_, i) => `watcher-${i}`);
    const tickets = await joinAll(eventId, users);
    const url = (t: string) => `${app.url}${ticketPath(eventId, t)}/events`;

    /** script runs per second on Redis over `ms` (with the admitter and sweeper stopped: refreshes only) */
    async function scriptRate(ms: number): Promise<number> {
      const before = await commandStats();
      await sleep(ms);
      return (delta(await commandStats(), before).evalsha ?? 0) / (ms / 1000);
    }

    const streams: SseStream[] = [];
    try {
      streams.push(await openSse(url(tickets[0])));
      await sleep(600);
      const withOne = await scriptRate(3000);

      for (let i = 1; i < tickets.length; i += 250) {
        streams.push(...(await Promise.all(tickets.slice(i, i + 250).map((t) => openSse(url(t))))));
      }
      expect(streams.map((s) => s.status)).toEqual(tickets.map(() => 200));
      await pollUntil(async () => streams.filter((s) => s.messages.length > 0).length, (n) => n === 2000, { timeoutMs: 20_000 });
      const withAll = await scriptRate(3000);
      // One refresh per event (twice a second), whatever the number of streams; the margin is for other events still served.
      expect(withAll).toBeLessThanOrEqual(withOne + 2);
      streams.forEach((s, i) => expect(s.messages[0].data).toEqual({ status: 'waiting', position: i + 1, etaSeconds: Math.ceil((i + 1) / 1000) }));

      await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
      await admitByHand(eventId, 2000);
      await pollUntil(async () => streams.filter((s) => s.ended).length, (n) => n === 2000, { timeoutMs: 30_000, intervalMs: 250 });
      const tokens = new Set<string>();
      streams.forEach((s, i) => {
        const last = s.messages[s.messages.length - 1];
        expect(last.event).toBeUndefined();
        expect(last.data).toEqual({ status: 'admitted', accessToken: expect.any(String), accessExpiresAt: expect.any(String) });
        expect(jwtPayload(last.data.accessToken)).toMatchObject({ sub: users[i], sid: String(ticketSeq(tickets[i])) });
        tokens.add(last.data.accessToken);
        expect(s.messages.filter((f) => f.data.status === 'admitted')).toHaveLength(1);
      });
      expect(tokens.size).toBe(2000);
    } finally {
      streams.forEach((s) => s.close());
    }
  }, 180_000);

  it('sold out while 500 wait (50 by SSE): all read soldOut within 1 s, nobody more is admitted, a new join is 410 SOLD_OUT', async () => {
    const eventId = uniqueId('soldout');
    await app.createEvent(eventId, { capacity: 1, admission: { ratePerSecond: 1000, maxActive: 1000, sessionTtlSeconds: 600 } });
    const [buyerTicket] = await joinAll(eventId, ['buyer']);
    await admitByHand(eventId, 1);
    const buyer = await app.request('GET', ticketPath(eventId, buyerTicket));
    const auth = { authorization: `Bearer ${buyer.body.accessToken}` };
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, auth);
    expect(hold.status).toBe(201);

    const tickets = await joinAll(eventId, Array.from({ length: 500 }, (_, i) => `hopeful-${i}`));
    // available 0, one seat held: admission waits (the seat may come back), the event stays open.
    expect(await app.admitNow(eventId)).toBe(0);
    expect((await app.request('GET', `/v1/events/${eventId}`)).body).toMatchObject({ status: 'open', available: 0, held: 1, waiting: 500, active: 1 });
    // When the service decided to tell, on its own clock: each frame as its stream hands it
    // to the socket, and the confirm that sold the last seat as its script's reply arrived.
    // (The clients' arrival times also carry this process's load: 500 reads start at 1 s.)
    const queue = app.app.get(QueueStatusService);
    const watch = queue.watchStatus;
    const told = new Map<string, number>();
    queue.watchStatus = async (id, ticket, stop) => {
      const frames = await watch.call(queue, id, ticket, stop);
      return (async function* () {
        for await (const frame of frames) {
          if (frame.status === 'soldOut') told.set(ticket, performance.now());
          yield frame;
        }
      })();
    };
    let soldAt = -1;
    app.app.get(ScriptRegistry).observe({
      onReply: (script, keys, reply) => {
        if (script === 'confirm' && reply[0] === 'OK' && keys[0].includes(`{${eventId}}`)) soldAt = performance.now();
      },
      onError: () => undefined,
    });
    const streams = await Promise.all(tickets.slice(0, 50).map((t) => openSse(`${app.url}${ticketPath(eventId, t)}/events`)));
    try {
      await pollUntil(async () => streams.every((s) => s.messages.length > 0), Boolean, { timeoutMs: 10_000 });
      // A stream sends at most one frame a second (CONTRACT): past that, the next frame is due as soon as there is news.
      await sleep(STREAM_MIN_GAP_MS);

      const confirm = await app.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, auth);
      expect(confirm.status).toBe(201);
      expect(soldAt).toBeGreaterThan(0);

      await sleep(Math.max(0, soldAt + 1000 - performance.now()));
      // Every read that starts 1 s after the sale ended says so.
      const reads = await Promise.all(tickets.map((t) => app.request('GET', ticketPath(eventId, t))));
      expect(reads.map((r) => r.body)).toEqual(tickets.map(() => ({ status: 'soldOut' })));
      await pollUntil(async () => streams.every((s) => s.ended), Boolean, { timeoutMs: 5000 });
      for (const s of streams) expect(s.messages[s.messages.length - 1].data).toEqual({ status: 'soldOut' });
      // Every stream told soldOut within 1 s of the sale's end (CONTRACT invariant 10).
      const after = tickets.slice(0, 50).map((t) => Math.round((told.get(t) ?? Infinity) - soldAt));
      console.log(`[${name}] soldOut frames handed to the streams ${Math.min(...after)}-${Math.max(...after)} ms after the confirm's script replied`);
      expect(after.filter((ms) => !(ms >= 0 && ms < 1000))).toEqual([]);

      // Nobody more is admitted, by this replica's timer or by hand; the admit script says why.
      const k = app.app.get(KeyBuilder).event(eventId);
      expect((await app.app.get(ScriptRegistry).run('admit', queueKeys(k), [100, 1000]))[0]).toBe('SOLD_OUT');
      expect(await app.admitNow(eventId)).toBe(0);
      const view = await app.request('GET', `/v1/events/${eventId}`);
      expect(view.body).toMatchObject({ status: 'soldOut', available: 0, held: 0, sold: 1, waiting: 500, active: 1 });
      expect((await app.request('GET', `/v1/events/${eventId}/queue`)).body.status).toBe('soldOut');

      const late = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'latecomer' });
      expectError(late, 410, 'SOLD_OUT');
      expect((await app.request('GET', `/v1/events/${eventId}`)).body.waiting).toBe(500);
    } finally {
      streams.forEach((s) => s.close());
      queue.watchStatus = watch;
    }
  }, 120_000);
});

describe('etaSeconds follows the admission rate observed (single Redis, admitter running)', () => {
  let topology: Topology;
  let app: TestApp;
  beforeAll(async () => {
    topology = await startTopology('single');
    app = await startApp(topology.env);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await topology?.stop();
  });

  it('with maxActive holding admission to ~10/s under a configured 100/s, position 100 waits ~10 s, not 1 s; positions never grow', async () => {
    const eventId = uniqueId('eta');
    // Sessions of 1 s and at most 10 at once: about 10 admissions a second, whatever the rate says.
    await app.createEvent(eventId, { capacity: 1000, admission: { ratePerSecond: 100, maxActive: 10, sessionTtlSeconds: 1 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    const users = Array.from({ length: 400 }, (_, i) => `eta-${i}`);
    const tickets: string[] = [];
    for (const userId of users) tickets.push((await app.request('POST', `/v1/events/${eventId}/queue`, { userId })).body.ticket);
    // Before any admission the configured rate stands.
    expect((await app.request('GET', ticketPath(eventId, tickets[99]))).body).toEqual({ status: 'waiting', position: 100, etaSeconds: 1 });
    expect((await app.request('GET', `/v1/events/${eventId}`)).body.admission).toEqual({ configuredRatePerSecond: 100, observedRatePerSecond: null });

    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
    const watched = tickets[299];
    const positions: number[] = [];
    const started = performance.now();
    while (performance.now() - started < 8000) {
      positions.push((await app.request('GET', ticketPath(eventId, watched))).body.position);
      await sleep(250);
    }
    for (let i = 1; i < positions.length; i += 1) expect(positions[i]).toBeLessThanOrEqual(positions[i - 1]);

    const view = (await app.request('GET', `/v1/events/${eventId}`)).body;
    expect(view.admission.configuredRatePerSecond).toBe(100);
    expect(view.admission.observedRatePerSecond).toBeGreaterThan(5);
    expect(view.admission.observedRatePerSecond).toBeLessThan(20);
    const head = (await app.request('GET', `/v1/events/${eventId}/queue`)).body;
    // The head is this replica's snapshot (up to a second older than the view): the same rate, give or take that second.
    expect(Math.abs(head.observedRatePerSecond - view.admission.observedRatePerSecond)).toBeLessThan(3);
    // The ticket 100 places behind the head: its wait is position / observed rate.
    const hundredth = tickets.find((t) => ticketSeq(t) === head.admittedThrough + 100)!;
    const answer = (await app.request('GET', ticketPath(eventId, hundredth))).body;
    expect(answer.status).toBe('waiting');
    expect(answer.position).toBeLessThanOrEqual(100);
    expect(answer.position).toBeGreaterThan(80);
    expect(answer.etaSeconds).toBeGreaterThanOrEqual(5);
    expect(answer.etaSeconds).toBeLessThanOrEqual(20);
    // (the two reads may see snapshots a refresh apart)
    expect(Math.abs(answer.etaSeconds - answer.position / head.observedRatePerSecond)).toBeLessThan(4);
  }, 60_000);
});
