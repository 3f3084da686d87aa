import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Admitter } from '../src/queue/admitter';
import { queueKeys } from '../src/queue/queue.repository';
import { KeyBuilder } from '../src/redis/keys';
import { Sweeper } from '../src/seat/sweeper';
import { countStatuses, startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil, scriptSha, ticketSeq } from './support/inspect';
import { startRedis } from './support/redis-harness';

/**
 * Issue 18 item 4: queueMethod random draws with randomness the service
 * passes in (never Lua's math.random, which Redis seeds with a constant at
 * start), uniformly among those waiting, whatever the gaps left in line.
 */
describe('queueMethod random', () => {
  async function withApp<T>(work: (app: TestApp, redisUrl: string) => Promise<T>): Promise<T> {
    const redis = await startRedis();
    const app = await startApp({ REDIS_URL: redis.url });
    try {
      await app.app.get(Admitter).stop();
      await app.app.get(Sweeper).stop();
      return await work(app, redis.url);
    } finally {
      await app.close();
      await redis.cleanup();
    }
  }

  async function waitingEvent(app: TestApp, eventId: string, users: number): Promise<string[]> {
    await app.createEvent(eventId, { capacity: 100, queueMethod: 'random', admission: { ratePerSecond: 1000, maxActive: 20, sessionTtlSeconds: 600 } });
    await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    const tickets: string[] = [];
    for (let i = 0; i < users; i += 1) {
      const r = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: `rnd-${i}` });
      expect(r.status).toBe(202);
      tickets.push(r.body.ticket);
    }
    return tickets;
  }

  it('the same scenario on a fresh Redis twice (a restart) admits different people', async () => {
    const runOnce = () =>
      withApp(async (app, redisUrl) => {
        const eventId = 'same-scenario';
        await waitingEvent(app, eventId, 200);
        await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });
        let admitted = 0;
        await pollUntil(async () => (admitted += await app.admitNow(eventId)), (n) => n >= 20, { timeoutMs: 20_000, intervalMs: 50 });
        const k = app.app.get(KeyBuilder).event(eventId);
        const client = new Redis(redisUrl);
        try {
          return (await client.hkeys(k.sessions)).map(Number).sort((a, b) => a - b);
        } finally {
          client.disconnect();
        }
      });
    const first = await runOnce();
    const second = await runOnce();
    expect(first).toHaveLength(20);
    expect(second).toHaveLength(20);
    // Sequences 1..200 joined in the same order both times: Lua's math.random drew the very same 20.
    expect(second).not.toEqual(first);
  }, 120_000);

  it('10,000 single draws from 100 waiting (with 50 gaps in line) hit every rank as often as chance allows', async () => {
    await withApp(async (app, redisUrl) => {
      const eventId = uniqueId('uniform');
      const tickets = await waitingEvent(app, eventId, 150);
      // 50 leave from all over the line: the draw must not favour those after a gap.
      const leaving = tickets.filter((_, i) => i % 3 === 1);
      const left = await Promise.all(leaving.map((t) => app.request('DELETE', `/v1/events/${eventId}/queue/${t}`)));
      expect(countStatuses(left)).toEqual({ 204: 50 });
      const waiting = tickets.filter((_, i) => i % 3 !== 1).map(ticketSeq).sort((a, b) => a - b);
      expect(waiting).toHaveLength(100);
      const rank = new Map(waiting.map((seq, r) => [seq, r]));
      await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false });

      const client = new Redis(redisUrl);
      try {
        const k = app.app.get(KeyBuilder).event(eventId);
        await client.hset(k.meta, 'tokens', 5);
        // The state before a draw, put back before each one: the same 100 wait every time.
        const saved = [k.meta, k.stream, k.users, k.left, k.nonces];
        const dumps = await Promise.all(saved.map((key) => client.dumpBuffer(key)));
        const admit = scriptSha('admit');
        const keys = queueKeys(k);
        const counts = new Array<number>(100).fill(0);
        const DRAWS = 10_000;
        for (let from = 0; from < DRAWS; from += 250) {
          const p = client.pipeline();
          for (let i = from; i < Math.min(DRAWS, from + 250); i += 1) {
            saved.forEach((key, j) => p.restore(key, 0, dumps[j]!, 'REPLACE'));
            p.del(k.active, k.sessions);
            p.evalsha(admit, keys.length, ...keys, 100, 1, randomBytes(16).toString('hex'));
            p.hkeys(k.sessions);
          }
          const replies = (await p.exec())!;
          for (let i = 0; i < replies.length; i += saved.length + 3) {
            const [err, admitted] = replies[i + saved.length + 1];
            expect(err).toBeNull();
            expect((admitted as unknown[])[1]).toBe(1);
            const [, sessions] = replies[i + saved.length + 2] as [Error | null, string[]];
            expect(sessions).toHaveLength(1);
            counts[rank.get(Number(sessions[0]))!] += 1;
          }
        }
        // Each rank: binomial(10,000, 1/100), mean 100, sd 9.95. Six sd either way: a false
        // failure once in ~10^7 runs. Chi-square over 99 degrees of freedom below 181: ~10^-6.
        for (const c of counts) {
          expect(c).toBeGreaterThan(100 - 60);
          expect(c).toBeLessThan(100 + 60);
        }
        const chi2 = counts.reduce((sum, c) => sum + (c - 100) ** 2 / 100, 0);
        expect(chi2).toBeLessThan(181);
        // Entries right after a gap (every second waiting one) are drawn no more often than the others.
        const afterGap = waiting.reduce((sum, seq, r) => sum + (rank.has(seq - 1) ? 0 : counts[r]), 0);
        const afterGapCount = waiting.filter((seq) => !rank.has(seq - 1)).length;
        expect(Math.abs(afterGap / afterGapCount - 100)).toBeLessThan(15);
      } finally {
        client.disconnect();
      }
    });
  }, 180_000);
});
