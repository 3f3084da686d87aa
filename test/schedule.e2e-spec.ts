import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { KeyBuilder } from '../src/redis/keys';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError, pollUntil, sleep, ticketSeq } from './support/inspect';
import { keyspaceDigest } from './support/keyspace';
import { startRedis } from './support/redis-harness';

/**
 * Issue 12 items 1-3: scheduled sales (scheduled, prequeue, open), the
 * pre-queue shuffle anyone can check (commitment, revealed seed, HMAC ranks),
 * and the queueing methods (fifo, random, passthrough, reject) switched at
 * any time without losing anyone's place.
 */
describe('scheduled sales, fair start and queueing methods', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'no', '--save', '']);
    app = await startApp({ REDIS_URL: redis.url });
    client = new Redis(redis.port, '127.0.0.1');
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  const join = (eventId: string, userId: string) => app.request('POST', `/v1/events/${eventId}/queue`, { userId });
  const status = (eventId: string, ticket: string) => app.request('GET', `/v1/events/${eventId}/queue/${ticket}`);
  const view = (eventId: string) => app.request('GET', `/v1/events/${eventId}`);
  const patch = (eventId: string, body: unknown) => app.admin('PATCH', `/v1/events/${eventId}`, body);
  const redisNow = async () => {
    const [s, us] = await client.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const sortKey = (seed: string, eventId: string, userId: string) =>
    createHmac('sha256', Buffer.from(seed, 'hex')).update(`${eventId}:${userId}`).digest('hex');
  /** Runs `work` over `items` with `parallel` requests in flight, keeping each result at its index. */
  async function inParallel<T, R>(items: T[], parallel: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < items.length) {
          const i = next++;
          out[i] = await work(items[i], i);
        }
      }),
    );
    return out;
  }

  it('before queueOpensAt: 403 QUEUE_NOT_OPEN with queueOpensAt, and nothing is written', async () => {
    const eventId = uniqueId('sched');
    const now = await redisNow();
    const created = await app.createEvent(eventId, {
      capacity: 10,
      queueOpensAt: iso(now + 3_600_000),
      salesStartAt: iso(now + 7_200_000),
    });
    expect(created.status).toBe('scheduled');
    expect(created.shuffle).toEqual({ commitment: expect.stringMatching(/^[0-9a-f]{64}$/), seed: null });
    expect(created.config).toEqual(expect.objectContaining({ queueOpensAt: iso(now + 3_600_000), salesStartAt: iso(now + 7_200_000) }));

    const before = await keyspaceDigest(client);
    for (const userId of ['early-1', 'early-2', 'early-1']) {
      const r = await join(eventId, userId);
      expectError(r, 403, 'QUEUE_NOT_OPEN');
      expect(r.body.queueOpensAt).toBe(iso(now + 3_600_000));
    }
    expect(await keyspaceDigest(client)).toBe(before);
    // The seed is never readable before the start, nor the head of the queue told otherwise.
    expect((await view(eventId)).body.shuffle.seed).toBeNull();
    expect((await app.request('GET', `/v1/events/${eventId}/queue`)).body.status).toBe('scheduled');
  });

  it('the shuffle check of docs/fair-start.md works as written', async () => {
    const readme = readFileSync(joinPath(__dirname, '..', 'docs', 'fair-start.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('**Checking the shuffle yourself.**')))![1];
    const [command, rest] = [block.slice(0, block.indexOf('\n# ')), block.slice(block.indexOf('\n# ') + 1)];
    const printed = rest.slice(0, rest.indexOf('\n\n')).split('\n').map((l) => l.replace(/^# /, ''));
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', command], { cwd: joinPath(__dirname, '..') });
    expect(stdout.trim().split('\n')).toEqual(printed);
  });

  it('refuses a schedule that opens the queue after the sale starts, and a time without an offset', async () => {
    const now = await redisNow();
    const bad = await app.admin('POST', '/v1/events', {
      eventId: uniqueId('sched-bad'), capacity: 5, queueOpensAt: iso(now + 2000), salesStartAt: iso(now + 1000),
    });
    expectError(bad, 400, 'VALIDATION');
    const local = await app.admin('POST', '/v1/events', { eventId: uniqueId('sched-bad'), capacity: 5, salesStartAt: '2026-06-01T20:00:00' });
    expectError(local, 400, 'VALIDATION');
    const method = await app.admin('POST', '/v1/events', { eventId: uniqueId('sched-bad'), capacity: 5, queueMethod: 'lottery' });
    expectError(method, 400, 'VALIDATION');
  });

  it('2,000 pre-queue users are ranked by the committed shuffle, uncorrelated with join order, before anyone who joins later', async () => {
    const eventId = uniqueId('fair');
    const users = Array.from({ length: 2000 }, (_, i) => `fan-${i}`);
    // Far enough ahead that 2,000 joins on a busy machine all land before it.
    const start = (await redisNow()) + 45_000;
    const created = await app.createEvent(eventId, { capacity: 100, salesStartAt: iso(start) });
    expect(created.status).toBe('prequeue');
    const commitment = created.shuffle.commitment as string;
    expect(created.shuffle.seed).toBeNull();
    // Paused: nobody is admitted after the start, so every place stays as the shuffle set it.
    expect((await patch(eventId, { paused: true })).status).toBe(200);

    // Join order is the pre-queue number in each 'p' ticket (1..2000).
    const joined = await inParallel(users, 32, (u) => join(eventId, u));
    const order = new Map<string, number>();
    joined.forEach((r, i) => {
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ ticket: expect.stringMatching(/^p[1-9][0-9]*\./), status: 'prequeue', salesStartAt: iso(start), queue: 'streams' });
      order.set(users[i], Number(/^p(\d+)\./.exec(r.body.ticket)![1]));
    });
    expect([...order.values()].sort((a, b) => a - b)).toEqual(users.map((_, i) => i + 1));
    expect(await redisNow()).toBeLessThan(start);
    // The 2,000 count as waiting, for the event view and the queue head alike.
    expect((await view(eventId)).body.waiting).toBe(2000);
    // In the pre-queue: no position, the countdown's target; a second join has no place to tell either.
    expect((await status(eventId, joined[0].body.ticket)).body).toEqual({ status: 'prequeue', salesStartAt: iso(start) });
    const again = await join(eventId, users[0]);
    expectError(again, 409, 'DUPLICATE');
    expect(again.body.position).toBeNull();

    await sleep(start - (await redisNow()) + 50);
    const revealed = await view(eventId);
    const seed = revealed.body.shuffle.seed as string;
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    expect(revealed.body.shuffle.commitment).toBe(commitment);
    expect(createHash('sha256').update(Buffer.from(seed, 'hex')).digest('hex')).toBe(commitment);

    // The HMAC rule, recomputed here from the revealed seed.
    const expectedRank = new Map(
      [...users].sort((a, b) => (sortKey(seed, eventId, a) < sortKey(seed, eventId, b) ? -1 : 1)).map((u, i) => [u, i + 1]),
    );
    const first = await inParallel(users, 16, (u, i) => status(eventId, joined[i].body.ticket));
    const rank = new Map<string, number>();
    first.forEach((r, i) => {
      expect(r.status).toBe(200);
      // The first read after the start: one look-up, and a replacement ticket holding the post-shuffle place.
      expect(r.body).toEqual({ status: 'waiting', position: expect.any(Number), etaSeconds: expect.any(Number), ticket: expect.stringMatching(/^s/) });
      expect(ticketSeq(r.body.ticket)).toBe(r.body.position);
      rank.set(users[i], r.body.position);
    });
    expect([...rank.values()].sort((a, b) => a - b)).toEqual(users.map((_, i) => i + 1));
    for (const u of users) expect(rank.get(u)).toBe(expectedRank.get(u));

    const n = users.length;
    const d2 = users.reduce((sum, u) => sum + (order.get(u)! - rank.get(u)!) ** 2, 0);
    const spearman = 1 - (6 * d2) / (n * (n * n - 1));
    expect(Math.abs(spearman)).toBeLessThan(0.1);

    // The repository's checker, as docs/fair-start.md tells a user to run it, agrees.
    const { stdout } = await promisify(execFile)(process.execPath, [
      joinPath(__dirname, '..', 'scripts', 'verify-shuffle.mjs'), '--event', eventId, '--user', users[3], '--from', app.url, '--others', users.join(','),
    ]);
    expect(stdout).toContain(`commitment  ${commitment}  MATCHES`);
    expect(stdout).toContain(`= ${sortKey(seed, eventId, users[3])}`);
    expect(stdout).toContain(`rank        ${rank.get(users[3])} of 2000 listed`);

    // Reads with the replacement: the same place, no further replacement.
    const replaced = await status(eventId, first[7].body.ticket);
    expect(replaced.body).toEqual({ status: 'waiting', position: rank.get(users[7]), etaSeconds: expect.any(Number) });
    // Later joins come behind every pre-queue entry, in join order.
    for (let i = 0; i < 20; i += 1) {
      const late = await join(eventId, `late-${i}`);
      expect(late.status).toBe(202);
      expect(late.body).toEqual(expect.objectContaining({ status: 'waiting', position: n + i + 1 }));
    }
  }, 120_000);

  describe.each(['streams', 'zset'] as const)('the pre-queue on the %s backend', (queue) => {
    it('admits in the shuffle order; leaves before and after the start keep every other place', async () => {
      const eventId = uniqueId(`pq-${queue}`);
      const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
      const start = (await redisNow()) + 3000;
      await app.createEvent(eventId, { capacity: 100, queue, salesStartAt: iso(start), admission: { ratePerSecond: 1000 } });
      expect((await patch(eventId, { paused: true })).status).toBe(200);
      const tickets = new Map<string, string>();
      for (const u of users) tickets.set(u, (await join(eventId, u)).body.ticket);
      // u0 leaves before the start: it is not ranked, and its ticket is gone at once.
      expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${tickets.get('u0')}`)).status).toBe(204);
      expectError(await status(eventId, tickets.get('u0')!), 404, 'TICKET_NOT_FOUND');
      expect((await view(eventId)).body.waiting).toBe(29);

      await sleep(start - (await redisNow()) + 50);
      const seed = (await view(eventId)).body.shuffle.seed as string;
      const ranked = users.slice(1).sort((a, b) => (sortKey(seed, eventId, a) < sortKey(seed, eventId, b) ? -1 : 1));
      const place = new Map<string, { position: number; ticket: string }>();
      for (const u of ranked) {
        const r = await status(eventId, tickets.get(u)!);
        place.set(u, { position: r.body.position, ticket: r.body.ticket });
      }
      expect(ranked.map((u) => place.get(u)!.position)).toEqual(ranked.map((_, i) => i + 1));

      // The 5th ranked leaves after the start (with its replacement ticket): a
      // placeholder keeps everyone else's place; a late join comes after all.
      const leaver = ranked[4];
      expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${place.get(leaver)!.ticket}`)).status).toBe(204);
      await sleep(1100);
      expectError(await status(eventId, place.get(leaver)!.ticket), 404, 'TICKET_NOT_FOUND');
      expect((await status(eventId, place.get(ranked[9])!.ticket)).body.position).toBe(10);
      const late = await join(eventId, 'late');
      expect(late.body.status).toBe('waiting');
      expect((await view(eventId)).body.waiting).toBe(29);

      expect((await patch(eventId, { paused: false })).status).toBe(200);
      const k = app.app.get(KeyBuilder).event(eventId);
      await pollUntil(async () => (await client.hlen(k.sessions)) === ranked.length, (done) => done, { timeoutMs: 15_000 });
      // Admitted in the committed order: the session of rank r has sequence r, and the late join after them.
      const sessions = await client.hgetall(k.sessions);
      const bySeq = Object.entries(sessions).map(([seq, rec]) => [Number(seq), rec.slice(rec.indexOf('|') + 1)] as const);
      const admittedOrder = bySeq.sort((a, b) => a[0] - b[0]).map(([, u]) => u);
      expect(admittedOrder).toEqual([...ranked.filter((u) => u !== leaver), 'late']);
      expect((await view(eventId)).body.waiting).toBe(0);
      // Both the 'p' ticket and its replacement read admitted.
      const viaP = await status(eventId, tickets.get(ranked[0])!);
      expect(viaP.body).toEqual(expect.objectContaining({ status: 'admitted', accessToken: expect.any(String), ticket: place.get(ranked[0])!.ticket }));
      // The replacement reads admitted once this replica's snapshot (at most a second old) shows the turn came.
      await pollUntil(async () => (await status(eventId, place.get(ranked[1])!.ticket)).body.status, (s) => s === 'admitted', { timeoutMs: 5000 });
    }, 60_000);
  });

  it('random: 100 admitted out of 1,000 are not the first 100; fifo -> random -> fifo loses nobody', async () => {
    const eventId = uniqueId('random');
    await app.createEvent(eventId, { capacity: 5000, maxSeatsPerUser: 1, admission: { ratePerSecond: 2000, maxActive: 100 } });
    expect((await patch(eventId, { paused: true })).status).toBe(200);
    const users = Array.from({ length: 1000 }, (_, i) => `r${String(i).padStart(4, '0')}`);
    const tickets: string[] = [];
    for (const u of users) tickets.push((await join(eventId, u)).body.ticket);
    const switched = await patch(eventId, { queueMethod: 'random', paused: false });
    expect(switched.body.queueMethod).toBe('random');
    const k = app.app.get(KeyBuilder).event(eventId);
    await pollUntil(async () => client.hlen(k.sessions), (n) => n === 100, { timeoutMs: 15_000 });
    const admitted = Object.values(await client.hgetall(k.sessions)).map((rec) => rec.slice(rec.indexOf('|') + 1));
    const joinIndex = admitted.map((u) => users.indexOf(u)).sort((a, b) => a - b);
    expect(joinIndex).not.toEqual(users.slice(0, 100).map((_, i) => i));
    // Uniform over 1,000: about half from the later half; far from all of the first 100.
    expect(joinIndex.filter((i) => i >= 500).length).toBeGreaterThan(25);
    expect(joinIndex.filter((i) => i < 100).length).toBeLessThan(40);
    // A waiting ticket has no position under random (from the snapshot, no script).
    const waitingTicket = tickets.find((_, i) => !joinIndex.includes(i))!;
    await sleep(1100);
    expect((await status(eventId, waitingTicket)).body).toEqual({ status: 'waiting' });
    // A ticket a random draw took out of the middle reads admitted.
    const takenIndex = joinIndex[joinIndex.length - 1];
    expect((await status(eventId, tickets[takenIndex])).body.status).toBe('admitted');

    // Back to fifo, room for everyone: all 1,000 admitted, each exactly once, the rest in join order.
    const back = await patch(eventId, { queueMethod: 'fifo', admission: { maxActive: 2000 } });
    expect(back.body.queueMethod).toBe('fifo');
    await pollUntil(async () => client.hlen(k.sessions), (n) => n === 1000, { timeoutMs: 20_000 });
    const everyone = Object.entries(await client.hgetall(k.sessions)).map(([seq, rec]) => [Number(seq), rec.slice(rec.indexOf('|') + 1)] as const);
    expect(new Set(everyone.map(([, u]) => u)).size).toBe(1000);
    expect(await client.xlen(k.stream)).toBe(0);
    // Each replica's snapshot follows the last admissions within a refresh (CONTRACT: within 1 s; more on a busy machine).
    const { value: admittedReads } = await pollUntil(
      async () => (await Promise.all(tickets.map((t) => status(eventId, t)))).filter((r) => r.body.status === 'admitted').length,
      (n) => n === 1000,
      { timeoutMs: 10_000, intervalMs: 500 },
    );
    expect(admittedReads).toBe(1000);
  }, 90_000);

  it('random on the sorted-set backend draws by rank and loses nobody', async () => {
    const eventId = uniqueId('random-z');
    await app.createEvent(eventId, { capacity: 1000, queue: 'zset', queueMethod: 'random', admission: { ratePerSecond: 1000, maxActive: 20 } });
    expect((await patch(eventId, { paused: true })).status).toBe(200);
    const users = Array.from({ length: 200 }, (_, i) => `z${i}`);
    for (const u of users) {
      const r = await join(eventId, u);
      expect(r.body).toEqual({ ticket: expect.any(String), status: 'waiting', queue: 'zset' });
    }
    expect((await patch(eventId, { paused: false })).status).toBe(200);
    const k = app.app.get(KeyBuilder).event(eventId);
    await pollUntil(async () => client.hlen(k.sessions), (n) => n === 20, { timeoutMs: 15_000 });
    const seqs = Object.keys(await client.hgetall(k.sessions)).map(Number).sort((a, b) => a - b);
    expect(seqs).not.toEqual(seqs.map((_, i) => i + 1));
    expect(await client.zcard(k.zqueue)).toBe(180);
  }, 60_000);

  it('passthrough admits at once under maxActive, then queues FIFO', async () => {
    const eventId = uniqueId('pass');
    await app.createEvent(eventId, { capacity: 100, queueMethod: 'passthrough', admission: { ratePerSecond: 1000, maxActive: 3 } });
    for (const u of ['a', 'b', 'c']) {
      const r = await join(eventId, u);
      expect(r.status).toBe(202);
      expect(r.body).toEqual(expect.objectContaining({ status: 'admitted', position: 0, accessToken: expect.any(String), accessExpiresAt: expect.any(String) }));
      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 1 }, { authorization: `Bearer ${r.body.accessToken}` });
      expect(hold.status).toBe(201);
      // Within a second (the replicas' snapshots) the ticket reads admitted too.
      await pollUntil(async () => (await status(eventId, r.body.ticket)).body.status, (s) => s === 'admitted', { timeoutMs: 5000 });
    }
    const fourth = await join(eventId, 'd');
    expect(fourth.body).toEqual(expect.objectContaining({ status: 'waiting', position: 1 }));
    const fifth = await join(eventId, 'e');
    expect(fifth.body).toEqual(expect.objectContaining({ status: 'waiting', position: 2 }));
  });

  it('reject: joins get 410 QUEUE_CLOSED, those waiting read closed and keep their place', async () => {
    const eventId = uniqueId('reject');
    await app.createEvent(eventId, { capacity: 100 });
    expect((await patch(eventId, { paused: true })).status).toBe(200);
    const tickets: string[] = [];
    for (const u of ['w1', 'w2', 'w3']) tickets.push((await join(eventId, u)).body.ticket);
    const rejected = await patch(eventId, { queueMethod: 'reject' });
    expect(rejected.body).toEqual(expect.objectContaining({ status: 'closed', queueMethod: 'reject' }));
    const k = app.app.get(KeyBuilder).event(eventId);
    const before = await keyspaceDigest(client, eventId);
    expectError(await join(eventId, 'newcomer'), 410, 'QUEUE_CLOSED');
    expect(await keyspaceDigest(client, eventId)).toBe(before);
    await sleep(1100);
    for (const t of tickets) expect((await status(eventId, t)).body).toEqual({ status: 'closed' });
    expect(await client.xlen(k.stream)).toBe(3);

    expect((await patch(eventId, { queueMethod: 'fifo' })).body.status).toBe('paused');
    await sleep(1100);
    expect((await status(eventId, tickets[2])).body).toEqual(expect.objectContaining({ status: 'waiting', position: 3 }));
  });
});
