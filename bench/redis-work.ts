/**
 * Redis work per operation, for docs/scaling.md: each script run by EVALSHA
 * against a redis-server of its own (nothing else running), Redis time per
 * call from INFO commandstats (cmdstat_evalsha usec: the script and every
 * command inside it), and Redis memory per waiting user at 1,000,000
 * waiting (Streams backend, user ids 'user-0'…). Called by bench/waiting.ts.
 */
import Redis from 'ioredis';
import { headKeys, joinKeys, leaveKeys, queueKeys, statusKeys } from '../src/queue/queue.repository';
import { KeyBuilder } from '../src/redis/keys';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { startRedis } from '../test/support/redis-harness';
import { KEY_PREFIX, LUA_DIR } from './lib/config';
import { createEventDirect } from './lib/create-event';
import { timedEvalsha } from './lib/redis-stats';

export interface RedisWork {
  /** Redis CPU µs per call (INFO cpu: the script, the commands inside it, and reading and answering the call) */
  cpuMicrosPerCall: Record<string, number>;
  /** Redis µs per call as commandstats times it (wall clock inside Redis: inflated when the machine is oversubscribed) */
  microsPerCall: Record<string, number>;
  /** admit: Redis µs per admitted user, batches of 1,000 from a queue of ~1,000,000 */
  admitMicrosPerUser: number;
  waitingUsers: number;
  bytesPerWaitingUser: number;
  byKey: Record<string, number>;
  /** joins right after 200,000 used challenge ids expired together: the longest single call (µs), and ids left */
  challengeBurst: { expiredIds: number; joins: number; longestJoinMicros: number; idsLeft: number };
}

async function evalshaStats(redis: Redis): Promise<{ calls: number; usec: number; cpu: number }> {
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
  const cpu = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0), cpu: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6 };
}

export async function measureRedisWork(users: number, log: (line: string) => void): Promise<RedisWork> {
  const server = await startRedis(['--appendonly', 'no', '--save', '']);
  const redis = new Redis(server.port, '127.0.0.1');
  try {
    const shas = new Map<string, string>();
    for (const s of loadLuaScripts(LUA_DIR)) shas.set(s.name, (await redis.script('LOAD', s.lua)) as string);
    const sha = (name: string) => shas.get(name)!;
    const keys = new KeyBuilder({ keyPrefix: KEY_PREFIX } as never);
    const eventId = 'work';
    const k = keys.event(eventId);
    const q = queueKeys(k);
    const j = joinKeys(k);
    // An event of 100 seats GA-1..GA-100, made as the service makes it: claim, seats, meta.
    await createEventDirect(redis, sha, k, { queue: 'streams', capacity: 100, ratePerSecond: 1000, maxActive: 10_000_000 });
    await redis.hset(k.meta, 'paused', 1);

    const cpuPerCall: Record<string, number> = {};
    const wallPerCall: Record<string, number> = {};
    const r2 = (x: number) => Math.round(x * 100) / 100;
    /** Runs `count` calls of one script (pipelined by 1,000) and records Redis CPU and commandstats µs per call. */
    const perCall = async (name: string, count: number, call: (p: ReturnType<Redis['pipeline']>, i: number) => void): Promise<void> => {
      const before = await evalshaStats(redis);
      for (let from = 0; from < count; from += 1000) {
        const p = redis.pipeline();
        for (let i = from; i < Math.min(count, from + 1000); i += 1) call(p, i);
        await p.exec();
      }
      const after = await evalshaStats(redis);
      const calls = after.calls - before.calls;
      cpuPerCall[name] = r2((after.cpu - before.cpu) / calls);
      wallPerCall[name] = r2((after.usec - before.usec) / calls);
    };

    await redis.config('RESETSTAT');
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    log(`  redis work: ${users.toLocaleString('en-US')} joins…`);
    // user-i takes sequence i + 1; its nonce is i + 1 here (the service draws a random one).
    await perCall('join', users, (p, i) => p.evalsha(sha('join'), j.length, ...j, `user-${i}`, '', '', '', 100, '0', '', 0, 0, i + 1));
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    const byKey: Record<string, number> = {};
    for (const [name, key] of Object.entries({ stream: k.stream, users: k.users, nonces: k.nonces })) {
      byKey[name] = Math.round((Number(await redis.memory('USAGE', key, 'SAMPLES', 0)) / users) * 10) / 10;
    }
    await perCall('join (duplicate)', 10_000, (p, i) => p.evalsha(sha('join'), j.length, ...j, `user-${i}`, '', '', '', 100, '0', '', 0, 0, 1));
    const head = headKeys(k);
    await perCall('queueHead (a replica snapshot refresh)', 10_000, (p) => p.evalsha(sha('queueHead'), head.length, ...head, 0, 10_000, users, users + 1, 0, 1, 16_384));
    const epoch = await redis.hget(k.meta, 'createdAt');
    const status = statusKeys(k);
    await perCall('ticketStatus of a waiting ticket (sorted set, or a replica catching up)', 10_000, (p, i) =>
      p.evalsha(sha('ticketStatus'), status.length, ...status, users - i, epoch!, users - i));

    // Admission: batches of 1,000 from the front of the million (the bucket set to hold exactly the batch).
    await redis.hset(k.meta, 'paused', 0, 'ratePerSecond', 10_000);
    const before = await evalshaStats(redis);
    const ADMIT_CALLS = 10;
    for (let i = 0; i < ADMIT_CALLS; i += 1) {
      const now = await redis.time();
      await redis.hset(k.meta, 'tokens', 1000, 'tokensAt', Number(now[0]) * 1000 + Math.floor(Number(now[1]) / 1000));
      const r = (await redis.evalsha(sha('admit'), q.length, ...q, 100, 1000, '')) as unknown[];
      if (r[0] !== 'OK' || Number(r[1]) !== 1000) throw new Error(`admit: ${JSON.stringify(r)}`);
    }
    const after = await evalshaStats(redis);
    const admitMicrosPerUser = r2((after.cpu - before.cpu) / (ADMIT_CALLS * 1000));
    await perCall('ticketStatus of an admitted ticket (the read after the turn came)', 10_000, (p, i) =>
      p.evalsha(sha('ticketStatus'), status.length, ...status, i + 1, epoch!, i + 1));
    const leave = leaveKeys(k);
    await perCall('leave (announced to the replicas)', 2000, (p, i) => p.evalsha(sha('leave'), leave.length, ...leave, 20_000 + i, epoch!, 20_000 + i));
    await perCall('queueHead catching up on 2,000 leaves at once', 200, (p) => p.evalsha(sha('queueHead'), head.length, ...head, 0, 10_000, users, users + 1, 0, 1, 16_384));
    await perCall('queueHead of a new replica (16,384 nonces from the head)', 200, (p) => p.evalsha(sha('queueHead'), head.length, ...head, 0, 1, 0, 0, 0, 1, 16_384));

    // Join after a challenge burst: 200,000 used challenge ids expired together (issue 18 item 7).
    // Each join removes at most 100 of them, so no single join pays for the burst.
    log('  redis work: joins after a burst of 200,000 expired challenge ids…');
    const [ts] = await redis.time();
    const nowMs = Number(ts) * 1000;
    const EXPIRED = 200_000;
    for (let from = 0; from < EXPIRED; from += 10_000) {
      const members = Array.from({ length: 10_000 }, (_, i) => [nowMs - 60_000 + (from + i) / 1000, `spent-${from + i}`]).flat();
      await redis.zadd(k.powUsed, ...members);
    }
    await redis.hset(k.meta, 'powBits', 1, 'paused', 1);
    let longestJoinMicros = 0;
    const BURST_JOINS = 50;
    for (let i = 0; i < BURST_JOINS; i += 1) {
      const [usec, r] = await timedEvalsha(redis, () =>
        redis.evalsha(sha('join'), j.length, ...j, `after-burst-${i}`, '', '', '', 100, '0', `fresh-${i}`, 1, nowMs + 600_000, i + 1, epoch!));
      if ((r as unknown[])[0] !== 'OK') throw new Error(`join after the burst: ${JSON.stringify(r)}`);
      longestJoinMicros = Math.max(longestJoinMicros, usec);
    }
    const challengeBurst = { expiredIds: EXPIRED, joins: BURST_JOINS, longestJoinMicros, idsLeft: await redis.zcard(k.powUsed) };

    return {
      cpuMicrosPerCall: cpuPerCall,
      microsPerCall: wallPerCall,
      admitMicrosPerUser,
      waitingUsers: users,
      bytesPerWaitingUser: Math.round(((memAfter - memBefore) / users) * 10) / 10,
      byKey,
      challengeBurst,
    };
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}
