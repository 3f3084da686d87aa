/**
 * Redis work per operation, for docs/scaling.md: each script run by EVALSHA
 * against a redis-server of its own (nothing else running), Redis time per
 * call from INFO commandstats (cmdstat_evalsha usec: the script and every
 * command inside it), and Redis memory per waiting user at 1,000,000
 * waiting (Streams backend, user ids 'user-0'…). Called by bench/waiting.ts.
 */
import Redis from 'ioredis';
import { queueKeys } from '../src/queue/queue.repository';
import { KeyBuilder } from '../src/redis/keys';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { startRedis } from '../test/support/redis-harness';
import { KEY_PREFIX, LUA_DIR } from './lib/config';

export interface RedisWork {
  /** Redis µs per call (script and the commands inside it) */
  microsPerCall: Record<string, number>;
  /** admit: Redis µs per admitted user, batches of 1,000 from a queue of ~1,000,000 */
  admitMicrosPerUser: number;
  waitingUsers: number;
  bytesPerWaitingUser: number;
  byKey: Record<string, number>;
}

async function evalshaStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
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
    await redis.evalsha(sha('createEvent'), 4, k.meta, k.seats, k.avail, k.seatIndex, 'streams', 300, 4, 1000, 10_000_000, 600, 100);
    await redis.hset(k.meta, 'paused', 1);

    /** Runs `count` calls of one script (pipelined by 1,000) and returns Redis µs per call. */
    const perCall = async (count: number, call: (p: ReturnType<Redis['pipeline']>, i: number) => void): Promise<number> => {
      const before = await evalshaStats(redis);
      for (let from = 0; from < count; from += 1000) {
        const p = redis.pipeline();
        for (let i = from; i < Math.min(count, from + 1000); i += 1) call(p, i);
        await p.exec();
      }
      const after = await evalshaStats(redis);
      return Math.round(((after.usec - before.usec) / (after.calls - before.calls)) * 100) / 100;
    };

    await redis.config('RESETSTAT');
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    log(`  redis work: ${users.toLocaleString('en-US')} joins…`);
    const join = await perCall(users, (p, i) => p.evalsha(sha('join'), q.length, ...q, `user-${i}`, ''));
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    const byKey: Record<string, number> = {};
    for (const [name, key] of Object.entries({ stream: k.stream, users: k.users })) {
      byKey[name] = Math.round((Number(await redis.memory('USAGE', key, 'SAMPLES', 0)) / users) * 10) / 10;
    }
    const duplicate = await perCall(2000, (p, i) => p.evalsha(sha('join'), q.length, ...q, `user-${i}`, ''));
    const queueHead = await perCall(2000, (p) => p.evalsha(sha('queueHead'), 4, k.meta, k.stream, k.zqueue, k.left, 0, 10_000));
    const epoch = await redis.hget(k.meta, 'createdAt');
    const waitingStatus = await perCall(2000, (p, i) => p.evalsha(sha('ticketStatus'), 6, k.meta, k.stream, k.zqueue, k.zwait, k.active, k.sessions, users - i, epoch!));

    // Admission: batches of 1,000 from the front of the million (the bucket set to hold exactly the batch).
    await redis.hset(k.meta, 'paused', 0, 'ratePerSecond', 10_000);
    const before = await evalshaStats(redis);
    for (let i = 0; i < 5; i += 1) {
      const now = await redis.time();
      await redis.hset(k.meta, 'tokens', 1000, 'tokensAt', Number(now[0]) * 1000 + Math.floor(Number(now[1]) / 1000));
      const r = (await redis.evalsha(sha('admit'), q.length, ...q, 100, 1000)) as unknown[];
      if (r[0] !== 'OK' || Number(r[1]) !== 1000) throw new Error(`admit: ${JSON.stringify(r)}`);
    }
    const after = await evalshaStats(redis);
    const admitMicrosPerUser = Math.round(((after.usec - before.usec) / 5000) * 100) / 100;
    const admittedStatus = await perCall(2000, (p, i) => p.evalsha(sha('ticketStatus'), 6, k.meta, k.stream, k.zqueue, k.zwait, k.active, k.sessions, i + 1, epoch!));
    const leave = await perCall(2000, (p, i) => p.evalsha(sha('leave'), 8, ...q.slice(0, 7), k.left, 10_000 + i, epoch!));
    const queueHeadAfterLeaves = await perCall(200, (p) => p.evalsha(sha('queueHead'), 4, k.meta, k.stream, k.zqueue, k.left, 0, 10_000));

    return {
      microsPerCall: {
        join,
        'join (duplicate)': duplicate,
        'queueHead (a replica snapshot refresh)': queueHead,
        'queueHead reading 2,000 announced leaves': queueHeadAfterLeaves,
        'ticketStatus of a waiting ticket (sorted set, or a replica that is catching up)': waitingStatus,
        'ticketStatus of an admitted ticket (the read after the turn came)': admittedStatus,
        leave,
      },
      admitMicrosPerUser,
      waitingUsers: users,
      bytesPerWaitingUser: Math.round(((memAfter - memBefore) / users) * 10) / 10,
      byKey,
    };
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}
