import type { Redis } from 'ioredis';
import { EventActivity } from '../src/event/event-activity';
import { Admitter } from '../src/queue/admitter';
import { QueueSnapshots } from '../src/queue/queue-snapshots';
import { Sweeper } from '../src/seat/sweeper';
import { countStatuses, startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError, pollUntil, sleep, ticketSeq } from './support/inspect';
import { startRedis } from './support/redis-harness';
import { jwtPayload } from './support/sse-client';

/**
 * Issue 18, on a real redis-server: a place belongs to the join that made it
 * (invariant 11), and no answer goes back in time (invariant 12).
 */
const ticketPath = (eventId: string, ticket: string) => `/v1/events/${eventId}/queue/${ticket}`;

type Server = Awaited<ReturnType<typeof startRedis>>;

async function joinAll(app: TestApp, eventId: string, users: string[]): Promise<{ userId: string; body: any }[]> {
  const out: { userId: string; body: any }[] = [];
  for (let i = 0; i < users.length; i += 100) {
    const batch = users.slice(i, i + 100);
    const answers = await Promise.all(batch.map((userId) => app.request('POST', `/v1/events/${eventId}/queue`, { userId })));
    expect(countStatuses(answers)).toEqual({ 202: batch.length });
    answers.forEach((r, j) => out.push({ userId: batch[j], body: r.body }));
  }
  return out;
}

const read = (app: TestApp, eventId: string, tickets: string[]) => Promise.all(tickets.map((t) => app.request('GET', ticketPath(eventId, t))));

async function admitByHand(app: TestApp, eventId: string, n: number): Promise<void> {
  let admitted = 0;
  await pollUntil(
    async () => (admitted += await app.admitNow(eventId)),
    (total) => total >= n,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

describe('a place belongs to the join that made it: Redis loses writes (SAVE, joins, DEBUG RELOAD NOSAVE)', () => {
  let redis: Server;
  let app: TestApp;
  let control: Redis;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'no', '--enable-debug-command', 'yes']);
    control = redis.client();
    app = await startApp({ REDIS_URL: redis.url });
    await app.app.get(Admitter).stop();
    await app.app.get(Sweeper).stop();
  }, 60_000);
  afterAll(async () => {
    control?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  /** Joins `lost`, reads their tickets (this replica learns their nonces), then rolls Redis back to before them. */
  async function loseJoins(eventId: string, lost: string[]) {
    await control.call('SAVE');
    const joined = await joinAll(app, eventId, lost);
    const first = await read(app, eventId, joined.map((j) => j.body.ticket));
    expect(countStatuses(first)).toEqual({ 200: lost.length });
    await sleep(700); // a refresh reads their nonces too
    await control.call('DEBUG', 'RELOAD', 'NOSAVE');
    return joined.map((j) => j.body.ticket as string);
  }

  it('Streams: 20 lost tickets read 404 (never the 20 later joiners\' places), and after admission never yield their tokens', async () => {
    const eventId = uniqueId('lost');
    await app.createEvent(eventId, { capacity: 100, admission: { ratePerSecond: 1000, maxActive: 1000, sessionTtlSeconds: 600 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    await joinAll(app, eventId, ['early-1', 'early-2', 'early-3']);

    const lost = await loseJoins(eventId, Array.from({ length: 20 }, (_, i) => `lost-${i}`));
    const others = await joinAll(app, eventId, Array.from({ length: 20 }, (_, i) => `other-${i}`));
    const otherTickets = others.map((o) => o.body.ticket as string);
    // The same sequences were handed out again…
    expect(new Set(otherTickets.map(ticketSeq))).toEqual(new Set(lost.map(ticketSeq)));
    // …but not the same tickets: each is bound to its own join.
    for (const t of lost) expect(otherTickets).not.toContain(t);

    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');
    const theirs = await read(app, eventId, otherTickets);
    theirs.forEach((r, i) => expect(r.body).toEqual({ status: 'waiting', position: ticketSeq(otherTickets[i]), etaSeconds: 1 }));
    // Also after the next refreshes, on the stream and by DELETE (which removes nothing).
    await sleep(1200);
    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');
    for (const t of lost) {
      expectError(await app.request('GET', `${ticketPath(eventId, t)}/events`), 404, 'TICKET_NOT_FOUND');
      expectError(await app.request('DELETE', ticketPath(eventId, t)), 404, 'TICKET_NOT_FOUND');
    }

    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
    await admitByHand(app, eventId, 23);
    const admitted = await read(app, eventId, otherTickets);
    admitted.forEach((r, i) => {
      expect(r.body.status).toBe('admitted');
      expect(jwtPayload(r.body.accessToken)).toMatchObject({ sub: others[i].userId });
    });
    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');
  }, 120_000);

  it('pre-queue: 20 lost pre-queue tickets read 404 before and after the shuffle, and never yield the later joiners\' tokens', async () => {
    const eventId = uniqueId('lost-pq');
    const now = Number((await control.time())[0]) * 1000;
    const salesStartAt = now + 8000;
    await app.createEvent(eventId, {
      capacity: 100,
      salesStartAt: new Date(salesStartAt).toISOString(),
      admission: { ratePerSecond: 1000, maxActive: 1000, sessionTtlSeconds: 600 },
    });
    await joinAll(app, eventId, ['early-1', 'early-2']);

    const lost = await loseJoins(eventId, Array.from({ length: 20 }, (_, i) => `lost-${i}`));
    const others = await joinAll(app, eventId, Array.from({ length: 20 }, (_, i) => `other-${i}`));
    const otherTickets = others.map((o) => o.body.ticket as string);
    const pn = (t: string) => t.slice(1, t.indexOf('.'));
    expect(new Set(otherTickets.map(pn))).toEqual(new Set(lost.map(pn)));
    for (const t of lost) expect(otherTickets).not.toContain(t);

    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');
    for (const r of await read(app, eventId, otherTickets)) expect(r.body).toMatchObject({ status: 'prequeue' });

    // The shuffle: every later joiner's first read hands out their post-shuffle ticket.
    await sleep(Math.max(0, salesStartAt + 300 - Date.now()));
    const shuffled = await read(app, eventId, otherTickets);
    const replacements = shuffled.map((r) => {
      expect(r.body).toMatchObject({ status: 'waiting', ticket: expect.stringMatching(/^s\d+p\d+\./) });
      return r.body.ticket as string;
    });
    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');

    await admitByHand(app, eventId, 22);
    for (const [i, r] of (await read(app, eventId, replacements)).entries()) {
      expect(r.body.status).toBe('admitted');
      expect(jwtPayload(r.body.accessToken)).toMatchObject({ sub: others[i].userId });
    }
    for (const r of await read(app, eventId, lost)) expectError(r, 404, 'TICKET_NOT_FOUND');
    for (const t of lost) expectError(await app.request('DELETE', ticketPath(eventId, t)), 404, 'TICKET_NOT_FOUND');
  }, 120_000);
});

describe('a new replica catches up without answering 404 (issue 18 item 2)', () => {
  let redis: Server;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    for (const a of apps) await a.close();
    await redis?.cleanup();
  });

  it('started after 1,500 leave announcements it answers 300 sealed pre-queue tickets at once (none 404), then with 0 Redis commands', async () => {
    const first = await startApp({ REDIS_URL: redis.url });
    apps.push(first);
    await first.app.get(Admitter).stop();
    const eventId = uniqueId('catch-up');
    const control = redis.client();
    try {
      // Time enough for 1,800 joins and 1,500 leaves on a busy machine.
      const salesStartAt = Number((await control.time())[0]) * 1000 + 40_000;
      await first.createEvent(eventId, { capacity: 100, salesStartAt: new Date(salesStartAt).toISOString() });
      const keepers = await joinAll(first, eventId, Array.from({ length: 300 }, (_, i) => `keeper-${i}`));
      const leavers = await joinAll(first, eventId, Array.from({ length: 1500 }, (_, i) => `leaver-${i}`));
      for (const j of [...keepers, ...leavers]) expect(j.body.status).toBe('prequeue');
      for (let i = 0; i < leavers.length; i += 250) {
        const left = await Promise.all(leavers.slice(i, i + 250).map((l) => first.request('DELETE', ticketPath(eventId, l.body.ticket))));
        expect(countStatuses(left)).toEqual({ 204: left.length });
      }
      expect(Number(await control.hget(`qg:{${eventId}}:meta`, 'leftVersion'))).toBe(1500);

      await sleep(Math.max(0, salesStartAt + 300 - Date.now()));
      const sealed = (await read(first, eventId, keepers.map((k) => k.body.ticket))).map((r) => {
        expect(r.body).toMatchObject({ status: 'waiting', ticket: expect.stringMatching(/^s\d+p\d+\./) });
        return { ticket: r.body.ticket as string, position: r.body.position as number };
      });
      await first.close();
      apps.length = 0;

      const fresh = await startApp({ REDIS_URL: redis.url });
      apps.push(fresh);
      await fresh.app.get(Admitter).stop();
      await fresh.app.get(Sweeper).stop();
      const atOnce = await read(fresh, eventId, sealed.map((s) => s.ticket));
      atOnce.forEach((r, i) => expect(r.body).toEqual({ status: 'waiting', position: sealed[i].position, etaSeconds: expect.any(Number) }));

      // Caught up (two refreshes of at most 1,000 leaves each): reading them all again costs Redis nothing.
      await sleep(1500);
      await read(fresh, eventId, sealed.map((s) => s.ticket));
      const snapshots = fresh.app.get(QueueSnapshots);
      await fresh.app.get(EventActivity).stop();
      while (snapshots.inFlight > 0) await sleep(5);
      const calls = async () => {
        const stats = await control.info('commandstats');
        return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      };
      const refreshesBefore = snapshots.refreshes;
      const before = await calls();
      for (let round = 0; round < 3; round += 1) {
        const again = await read(fresh, eventId, sealed.map((s) => s.ticket));
        again.forEach((r, i) => expect(r.body).toEqual({ status: 'waiting', position: sealed[i].position, etaSeconds: expect.any(Number) }));
      }
      while (snapshots.inFlight > 0) await sleep(5);
      // Every script run in the window was a snapshot refresh: none was a ticket read.
      expect((await calls()) - before).toBe(snapshots.refreshes - refreshesBefore);
    } finally {
      control.disconnect();
    }
  }, 180_000);
});

describe('no answer goes back in time (invariant 12)', () => {
  let redis: Server;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await redis?.cleanup();
  });

  it('passthrough: a join answered admitted reads admitted; one answered position p reads at most p', async () => {
    const eventId = uniqueId('pass');
    await app.createEvent(eventId, { capacity: 100, queueMethod: 'passthrough', admission: { ratePerSecond: 1000, maxActive: 8, sessionTtlSeconds: 600 } });
    let admittedSeen = 0;
    for (let i = 0; i < 15; i += 1) {
      const joined = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: `pass-${i}` });
      expect(joined.status).toBe(202);
      const after = await app.request('GET', ticketPath(eventId, joined.body.ticket));
      if (joined.body.status === 'admitted') {
        admittedSeen += 1;
        expect(after.body).toMatchObject({ status: 'admitted' });
        expect(jwtPayload(after.body.accessToken)).toMatchObject({ sub: `pass-${i}` });
      } else {
        expect(after.body.status === 'admitted' || after.body.position <= joined.body.position).toBe(true);
      }
    }
    // maxActive 8: the first 8 are admitted at once, the rest wait.
    expect(admittedSeen).toBe(8);
  }, 60_000);

  it('fifo at 20/s: each join\'s reads say at most its position; 30 tickets polled every 100 ms never rise nor fall back from admitted', async () => {
    const eventId = uniqueId('mono');
    await app.createEvent(eventId, { capacity: 200, admission: { ratePerSecond: 20, maxActive: 1000, sessionTtlSeconds: 600 } });
    const joined = await joinAll(app, eventId, Array.from({ length: 60 }, (_, i) => `mono-${i}`));
    const firstReads = await read(app, eventId, joined.map((j) => j.body.ticket));
    firstReads.forEach((r, i) => {
      if (r.body.status === 'waiting') expect(r.body.position).toBeLessThanOrEqual(joined[i].body.position);
      else expect(r.body.status).toBe('admitted');
    });

    const watched = joined.slice(20, 50).map((j) => j.body.ticket as string);
    const last: { status: string; position?: number }[] = watched.map(() => ({ status: 'waiting', position: Infinity }));
    let steps = 0;
    let admissions = 0;
    const started = Date.now();
    while (Date.now() - started < 4000) {
      const answers = await read(app, eventId, watched);
      answers.forEach((r, i) => {
        expect(r.status).toBe(200);
        const before = last[i];
        if (before.status === 'admitted') expect(r.body.status).toBe('admitted');
        if (r.body.status === 'waiting' && before.status === 'waiting') expect(r.body.position).toBeLessThanOrEqual(before.position!);
        if (r.body.status === 'admitted' && before.status === 'waiting') admissions += 1;
        last[i] = r.body;
      });
      steps += 1;
      await sleep(100);
    }
    expect(steps).toBeGreaterThan(10);
    // The admitter ran meanwhile: the watched tickets moved, and many had their turn.
    expect(admissions).toBeGreaterThan(10);
  }, 60_000);
});
