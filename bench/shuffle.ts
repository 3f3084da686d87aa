/**
 * The fair start at scale (BENCH_ONLY=shuffle): what shuffling a pre-queue of
 * BENCH_SHUFFLE_USERS (default 1,000,000) costs Redis.
 *
 * The pre-queue is kept in the shuffle's order from the first join on (a
 * sorted set by sort key, lua/includes/prequeue.lua), so "shuffling" at
 * salesStartAt is the seal (O(1)) and the admitter then takes entries from
 * the front in bounded batches. Measured on a redis-server of its own, with
 * `slowlog-log-slower-than 0` so SLOWLOG holds every call's duration (it
 * also logs each command a script calls, which adds its own cost to the
 * script's time), except for the admit calls: those are timed one by one
 * from `INFO commandstats` with the slowlog off, so the figure is the
 * script's alone:
 *
 *  1. the pre-queue is filled through the join script (EVALSHA in pipelines,
 *     sort keys computed here with the service's own HMAC rule): µs per join
 *     and the longest join;
 *  2. salesStartAt is moved to now (the run does not wait for a clock), and
 *     the first admit call seals the pre-queue: its duration;
 *  3. every entry is admitted in rank order by admit calls of the service's
 *     ADMIT_MAX_BATCH: the longest call and the total time;
 *  4. post-shuffle place look-ups (prequeueTicket, the one read a 'p' ticket
 *     costs after the start): µs per call and the longest, before the drain.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { KeyBuilder } from '../src/redis/keys';
import { ADMIT_MAX_BATCH } from '../src/queue/admitter';
import { joinKeys, prequeueTicketKeys, queueKeys } from '../src/queue/queue.repository';
import { shuffleSortKey } from '../src/queue/ticket';
import { startRedis } from '../test/support/redis-harness';
import { KEY_PREFIX, LUA_DIR } from './lib/config';
import { createEventDirect } from './lib/create-event';
import { timedEvalsha } from './lib/redis-stats';

/** Durations of one kind of call, from SLOWLOG (µs). */
export interface Spread {
  calls: number;
  p50: number;
  p99: number;
  max: number;
}

export interface ShuffleResult {
  users: number;
  fillSeconds: number;
  usedMemoryMiB: number;
  /** a pre-queue join */
  join: Spread;
  /** the seal at salesStartAt (with one place look-up) */
  sealMicros: number;
  /** a 'p' ticket's first read after the start */
  placeLookup: Spread;
  /** admit calls of ADMIT_MAX_BATCH draining the pre-queue in rank order */
  drain: Spread;
  drainSeconds: number;
  /** reference: admit calls of ADMIT_MAX_BATCH from the Streams queue (joins after the start), same run */
  streamDrain: Spread;
  /** a script that does nothing (`return 1`), run as often as the joins: this machine's noise floor right now */
  noiseFloor: Spread;
  longestCommandMicros: number;
  longestCommand: string;
  /** users per admit call (the service's ADMIT_MAX_BATCH) */
  admitBatch: number;
}

const PIPELINE = 1000;
const ADMIT_BATCH = ADMIT_MAX_BATCH;

/** The SLOWLOG entries since its last reset, then reset: [µs, command name][]. */
async function drainSlowlog(redis: Redis): Promise<[number, string][]> {
  const entries = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  await redis.call('SLOWLOG', 'RESET');
  return entries.map((e) => [Number(e[2]), String(e[3][0]).toLowerCase()]);
}

function spread(durations: number[]): Spread {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { calls: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
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
    const j = joinKeys(k);
    // pre-queue number pn is joined with nonce pn here (the service draws a random one)
    const pq = prequeueTicketKeys(k);
    const seed = randomBytes(32);
    const [s, us] = await redis.time();
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const epoch = await createEventDirect(redis, (name) => sha.get(name)!, k, {
      queue: 'streams',
      capacity: 100,
      ratePerSecond: 100_000,
      maxActive: 10_000_000,
      sessionTtlSeconds: 3600,
      meta: ['salesStartAt', now + 3_600_000, 'queueMethod', 'fifo', 'seed', seed.toString('hex'), 'commitment', createHash('sha256').update(seed).digest('hex')],
    });
    await redis.config('SET', 'slowlog-max-len', '100000');
    await redis.config('SET', 'slowlog-log-slower-than', '0');

    // 1. Fill the pre-queue.
    log(`  shuffle: ${users.toLocaleString('en-US')} pre-queue joins…`);
    const joins: number[] = [];
    let overall: [number, string] = [0, ''];
    // The bench's own SLOWLOG/CONFIG/INFO calls are not the work measured (a SLOWLOG GET of
    // 1,000 entries is itself slow): they are left out of the longest command.
    const OWN = new Set(['slowlog', 'config', 'info']);
    const keep = (entries: [number, string][], into: number[]) => {
      for (const e of entries) {
        if (e[1] === 'evalsha') into.push(e[0]);
        if (e[0] > overall[0] && !OWN.has(e[1])) overall = e;
      }
    };
    await redis.call('SLOWLOG', 'RESET');
    const fillStarted = performance.now();
    for (let from = 0; from < users; from += PIPELINE) {
      const p = redis.pipeline();
      for (let i = from; i < Math.min(users, from + PIPELINE); i += 1) {
        const userId = `fan-${i}`;
        p.evalsha(sha.get('join')!, j.length, ...j, userId, '', shuffleSortKey(seed, eventId, userId), epoch, 100, '0', '', 0, 0, i + 1);
      }
      for (const [err, reply] of (await p.exec()) ?? []) {
        if (err || (reply as unknown[])[0] !== 'PREQUEUE') throw err ?? new Error(`join: ${JSON.stringify(reply)}`);
      }
      keep(await drainSlowlog(redis), joins);
      if (from % 200_000 === 0 && from > 0) log(`    ${from.toLocaleString('en-US')}`);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const usedMemoryMiB = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) / 2 ** 20;

    // 2. The start: salesStartAt moved to now; the first script to run after it
    // seals the pre-queue (here a 'p' ticket's first read, which also looks up its place).
    await redis.hset(k.meta, 'salesStartAt', now);
    await drainSlowlog(redis);
    const sealReply = (await redis.evalsha(sha.get('prequeueTicket')!, pq.length, ...pq, 'status', 1, epoch, 1)) as unknown[];
    const sealEntries = await drainSlowlog(redis);
    const sealMicros = sealEntries.find((e) => e[1] === 'evalsha')?.[0] ?? 0;
    keep(sealEntries, []);
    if (sealReply[0] !== 'WAITING' || (await redis.hget(k.meta, 'pqSealed')) !== '1') throw new Error(`seal: ${JSON.stringify(sealReply)}`);

    // 4. Place look-ups of 'p' tickets (what each pre-queue user's first read after the start costs).
    const lookupTimes: number[] = [];
    const lookups = Math.min(20_000, users);
    for (let from = 0; from < lookups; from += PIPELINE) {
      const p = redis.pipeline();
      for (let i = from; i < Math.min(lookups, from + PIPELINE); i += 1) {
        const pn = 1 + Math.floor(Math.random() * users);
        p.evalsha(sha.get('prequeueTicket')!, pq.length, ...pq, 'status', pn, epoch, pn);
      }
      await p.exec();
      keep(await drainSlowlog(redis), lookupTimes);
    }

    // The noise floor: a script that does nothing, as many calls as the joins, same pipelines.
    const nothing = (await redis.script('LOAD', 'return 1')) as string;
    const floor: number[] = [];
    for (let from = 0; from < users; from += PIPELINE) {
      const p = redis.pipeline();
      for (let i = from; i < Math.min(users, from + PIPELINE); i += 1) p.evalsha(nothing, 0);
      await p.exec();
      for (const e of await drainSlowlog(redis)) if (e[1] === 'evalsha') floor.push(e[0]);
    }

    // 3. Drain the whole pre-queue in rank order, ADMIT_BATCH per admit call.
    log('  shuffle: admitting every pre-queue entry in rank order…');
    await drainSlowlog(redis);
    await redis.config('SET', 'slowlog-log-slower-than', '-1');
    const admitCall = async (into: number[]) => {
      const [ts, tus] = await redis.time();
      await redis.hset(k.meta, 'tokens', ADMIT_BATCH, 'tokensAt', Number(ts) * 1000 + Math.floor(Number(tus) / 1000));
      const [usec, r] = (await timedEvalsha(redis, () => redis.evalsha(sha.get('admit')!, q.length, ...q, 100, ADMIT_BATCH))) as [number, unknown[]];
      if (r[0] !== 'OK') throw new Error(`admit: ${JSON.stringify(r)}`);
      into.push(usec);
      if (usec > overall[0]) overall = [usec, 'evalsha'];
    };
    const drains: number[] = [];
    const drainStarted = performance.now();
    while (Number(await redis.hget(k.meta, 'pqTaken')) < Number(await redis.hget(k.meta, 'pqCount'))) await admitCall(drains);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const sessions = await redis.hlen(k.sessions);
    if (sessions !== users) throw new Error(`admitted ${sessions} of ${users}`);

    // Reference, same run: joins after the start go to the stream; admit them the same way.
    const later = Math.min(users, 200_000);
    for (let from = 0; from < later; from += PIPELINE) {
      const p = redis.pipeline();
      for (let i = from; i < Math.min(later, from + PIPELINE); i += 1) p.evalsha(sha.get('join')!, j.length, ...j, `late-${i}`, '', '', '', 100, '0', '', 0, 0, i + 1);
      await p.exec();
    }
    const streamDrains: number[] = [];
    while ((await redis.xlen(k.stream)) > 0) await admitCall(streamDrains);

    return {
      users,
      fillSeconds: Math.round(fillSeconds * 10) / 10,
      usedMemoryMiB: Math.round(usedMemoryMiB),
      join: spread(joins),
      sealMicros,
      placeLookup: spread(lookupTimes),
      drain: spread(drains),
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      streamDrain: spread(streamDrains),
      noiseFloor: spread(floor),
      longestCommandMicros: overall[0],
      longestCommand: overall[1],
      admitBatch: ADMIT_BATCH,
    };
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}
