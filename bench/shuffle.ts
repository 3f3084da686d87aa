/**
 * The fair start at scale (BENCH_ONLY=shuffle): what shuffling a pre-queue of
 * BENCH_SHUFFLE_USERS (default 1,000,000) costs Redis.
 *
 * The pre-queue is kept in the shuffle's order from the first join on (a
 * sorted set by sort key, lua/includes/prequeue.lua), so "shuffling" at
 * salesStartAt is the seal (O(1)) and the admitter then takes entries from
 * the front in bounded batches. Measured on a redis-server of its own, with
 * `slowlog-log-slower-than 0` so SLOWLOG holds every command's duration:
 *
 *  1. the pre-queue is filled through the join script (EVALSHA in pipelines,
 *     sort keys computed here with the service's own HMAC rule): µs per join
 *     and the longest join;
 *  2. salesStartAt is moved to now (the run does not wait for a clock), and
 *     the first admit call seals the pre-queue: its duration;
 *  3. every entry is admitted in rank order by admit calls of 1,000 (the
 *     service's ADMIT_MAX_BATCH): the longest call and the total time;
 *  4. post-shuffle place look-ups (prequeueTicket, the one read a 'p' ticket
 *     costs after the start): µs per call and the longest, before the drain.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { KeyBuilder } from '../src/redis/keys';
import { queueKeys } from '../src/queue/queue.repository';
import { shuffleSortKey } from '../src/queue/ticket';
import { startRedis } from '../test/support/redis-harness';
import { KEY_PREFIX, LUA_DIR } from './lib/config';

export interface ShuffleResult {
  users: number;
  joinMicrosPerCall: number;
  longestJoinMicros: number;
  fillSeconds: number;
  sealMicros: number;
  placeLookupMicrosPerCall: number;
  longestPlaceLookupMicros: number;
  drainCalls: number;
  longestDrainCallMicros: number;
  drainSeconds: number;
  longestCommandMicros: number;
  longestCommand: string;
  usedMemoryMiB: number;
}

const PIPELINE = 1000;
const ADMIT_BATCH = 1000;

/** The longest entry in SLOWLOG since its last reset: [µs, command name]. */
async function longest(redis: Redis): Promise<[number, string]> {
  const entries = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  let best: [number, string] = [0, ''];
  for (const e of entries) if (Number(e[2]) > best[0]) best = [Number(e[2]), String(e[3][0]).toLowerCase()];
  return best;
}

async function evalshaUsec(redis: Redis): Promise<{ calls: number; usec: number }> {
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

export async function runShuffle(users: number, log: (line: string) => void): Promise<ShuffleResult> {
  const server = await startRedis(['--appendonly', 'no', '--save', '']);
  const redis = server.client();
  try {
    const sha = new Map<string, string>();
    for (const s of loadLuaScripts(LUA_DIR)) sha.set(s.name, (await redis.script('LOAD', s.lua)) as string);
    const keys = new KeyBuilder({ keyPrefix: KEY_PREFIX } as never);
    const eventId = 'fair-start';
    const k = keys.event(eventId);
    const q = queueKeys(k);
    const seed = randomBytes(32);
    const [s, us] = await redis.time();
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    // queue, holdTtl, maxSeats, rate, maxActive, sessionTtl, capacity, endsAt, queueOpensAt, salesStartAt, method, seed, commitment
    const created = (await redis.evalsha(sha.get('createEvent')!, 4, k.meta, k.seats, k.avail, k.seatIndex,
      'streams', 300, 4, 100_000, 10_000_000, 3600, 100, 0, 0, now + 3_600_000, 'fifo',
      seed.toString('hex'), createHash('sha256').update(seed).digest('hex'))) as unknown[];
    if (created[0] !== 'OK') throw new Error(`createEvent: ${JSON.stringify(created)}`);
    const epoch = Number(created[2]);
    await redis.config('SET', 'slowlog-max-len', '100000');
    await redis.config('SET', 'slowlog-log-slower-than', '0');

    // 1. Fill the pre-queue.
    log(`  shuffle: ${users.toLocaleString('en-US')} pre-queue joins…`);
    await redis.config('RESETSTAT');
    let fillLongest = 0;
    const fillStarted = performance.now();
    for (let from = 0; from < users; from += PIPELINE) {
      await redis.call('SLOWLOG', 'RESET');
      const p = redis.pipeline();
      for (let i = from; i < Math.min(users, from + PIPELINE); i += 1) {
        const userId = `fan-${i}`;
        p.evalsha(sha.get('join')!, q.length, ...q, userId, '', shuffleSortKey(seed, eventId, userId), epoch, 100);
      }
      for (const [err, reply] of (await p.exec()) ?? []) {
        if (err || (reply as unknown[])[0] !== 'PREQUEUE') throw err ?? new Error(`join: ${JSON.stringify(reply)}`);
      }
      fillLongest = Math.max(fillLongest, (await longest(redis))[0]);
      if (from % 200_000 === 0 && from > 0) log(`    ${from.toLocaleString('en-US')}`);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const joinStats = await evalshaUsec(redis);
    const usedMemoryMiB = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) / 2 ** 20;

    // 2. The start: salesStartAt moved to now; the first script to run after it
    // seals the pre-queue (here a 'p' ticket's first read, which also looks up its place).
    await redis.hset(k.meta, 'salesStartAt', now);
    await redis.call('SLOWLOG', 'RESET');
    const sealReply = (await redis.evalsha(sha.get('prequeueTicket')!, 5, k.meta, k.users, k.left, k.prequeue, k.pqrecs, 'status', 'p', 1, epoch)) as unknown[];
    const sealMicros = (await longest(redis))[0];
    if (sealReply[0] !== 'WAITING' || (await redis.hget(k.meta, 'pqSealed')) !== '1') throw new Error(`seal: ${JSON.stringify(sealReply)}`);

    // 4. Place look-ups of 'p' tickets (what each pre-queue user's first read after the start costs).
    await redis.config('RESETSTAT');
    await redis.call('SLOWLOG', 'RESET');
    const lookups = Math.min(20_000, users);
    for (let from = 0; from < lookups; from += PIPELINE) {
      const p = redis.pipeline();
      for (let i = from; i < Math.min(lookups, from + PIPELINE); i += 1) {
        const pn = 1 + Math.floor(Math.random() * users);
        p.evalsha(sha.get('prequeueTicket')!, 5, k.meta, k.users, k.left, k.prequeue, k.pqrecs, 'status', 'p', pn, epoch);
      }
      await p.exec();
    }
    const lookupStats = await evalshaUsec(redis);
    const longestLookup = (await longest(redis))[0];

    // 3. Drain the whole pre-queue in rank order, 1,000 per admit call.
    log('  shuffle: admitting every pre-queue entry in rank order…');
    await redis.call('SLOWLOG', 'RESET');
    let drainCalls = 0;
    let drainLongest = 0;
    let overall: [number, string] = [0, ''];
    const drainStarted = performance.now();
    while (Number(await redis.hget(k.meta, 'pqTaken')) < Number(await redis.hget(k.meta, 'pqCount'))) {
      const [ts, tus] = await redis.time();
      await redis.hset(k.meta, 'tokens', ADMIT_BATCH, 'tokensAt', Number(ts) * 1000 + Math.floor(Number(tus) / 1000));
      const r = (await redis.evalsha(sha.get('admit')!, q.length, ...q, 100, ADMIT_BATCH)) as unknown[];
      if (r[0] !== 'OK') throw new Error(`admit: ${JSON.stringify(r)}`);
      drainCalls += 1;
      if (drainCalls % 50 === 0) {
        const l = await longest(redis);
        drainLongest = Math.max(drainLongest, l[1] === 'evalsha' ? l[0] : 0);
        if (l[0] > overall[0]) overall = l;
        await redis.call('SLOWLOG', 'RESET');
      }
    }
    const l = await longest(redis);
    drainLongest = Math.max(drainLongest, l[1] === 'evalsha' ? l[0] : 0);
    if (l[0] > overall[0]) overall = l;
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const sessions = await redis.hlen(k.sessions);
    if (sessions !== users) throw new Error(`admitted ${sessions} of ${users}`);
    for (const x of [[fillLongest, 'evalsha (join)'], [sealMicros, 'evalsha (seal)'], [longestLookup, 'evalsha (place look-up)']] as [number, string][]) {
      if (x[0] > overall[0]) overall = x;
    }

    return {
      users,
      joinMicrosPerCall: Math.round((joinStats.usec / joinStats.calls) * 100) / 100,
      longestJoinMicros: fillLongest,
      fillSeconds: Math.round(fillSeconds * 10) / 10,
      sealMicros,
      placeLookupMicrosPerCall: Math.round((lookupStats.usec / lookupStats.calls) * 100) / 100,
      longestPlaceLookupMicros: longestLookup,
      drainCalls,
      longestDrainCallMicros: drainLongest,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      longestCommandMicros: overall[0],
      longestCommand: overall[1],
      usedMemoryMiB: Math.round(usedMemoryMiB),
    };
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}
