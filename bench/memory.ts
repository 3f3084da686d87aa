/**
 * Steps 3 and 4 of the bench, straight against a redis-server of their own
 * (no HTTP: a million joins through the service would take too long):
 *  - Redis memory per waiting user at BENCH_MEMORY_USERS (default 1,000,000)
 *    waiting users, for each queue backend, from INFO used_memory deltas;
 *  - the Redis time of one admit call (SLOWLOG with slowlog-log-slower-than 0),
 *    for batches of 10/100/1,000 from the big queue, and for 1,000 from queues
 *    of 10,000 / 100,000 / the big one.
 * Joins and admissions run the service's own scripts (lua/, through
 * loadLuaScripts) by EVALSHA, with the service's key builder.
 */
import { createHash } from 'node:crypto';
import type { ConfigType } from '@nestjs/config';
import type Redis from 'ioredis';
import type { redisConfig } from '../src/config/configuration';
import { ADMIT_MAX_BATCH } from '../src/queue/admitter';
import { joinKeys, queueKeys } from '../src/queue/queue.repository';
import { KeyBuilder } from '../src/redis/keys';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { startRedis } from '../test/support/redis-harness';
import { KEY_PREFIX, LUA_DIR, settings } from './lib/config';
import { createEventDirect } from './lib/create-event';

export type Backend = 'streams' | 'zset';

export interface MemoryResult {
  backend: Backend;
  users: number;
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  bytesPerUser: number;
  /** MEMORY USAGE (SAMPLES 0) of each of the event's queue keys, bytes per user */
  perKeyBytesPerUser: Record<string, number>;
  loadSeconds: number;
  joinsPerSecond: number;
  /** the userIds loaded (their length matters for the bytes) */
  exampleUserId: string;
}

export interface AdmitTiming {
  backend: Backend;
  queueLength: number;
  batch: number;
  admitted: number;
  /**
   * Redis time of the EVALSHA (INFO commandstats usec delta, slowlog off:
   * SLOWLOG would log, and charge to the script, every command it calls), µs:
   * median, min, max over the repeats
   */
  redisUs: { median: number; min: number; max: number; all: number[] };
  /** client-side round trip, median µs */
  clientUsMedian: number;
}

export interface MemoryAndAdmission {
  memory: MemoryResult[];
  admission: AdmitTiming[];
  repeats: number;
  redisVersion: string;
}

const REPEATS = 5;
const PIPELINE = 1000;
const IN_FLIGHT = 4;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function usedMemory(redis: Redis): Promise<number> {
  const text = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(text)?.[1]);
}

async function evalshaUsec(redis: Redis): Promise<{ calls: number; usec: number }> {
  const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

export async function runMemoryAndAdmission(log: (line: string) => void): Promise<MemoryAndAdmission> {
  const server = await startRedis(['--appendonly', 'no']);
  const redis = server.client();
  try {
    const scripts = new Map(loadLuaScripts(LUA_DIR).map((s) => [s.name, s]));
    const sha = new Map<string, string>();
    for (const name of ['createEventBegin', 'createEventSeats', 'createEvent', 'join', 'admit']) {
      const script = scripts.get(name);
      if (!script) throw new Error(`no ${name} script in ${LUA_DIR}`);
      sha.set(name, (await redis.script('LOAD', script.lua)) as string);
      if (sha.get(name) !== createHash('sha1').update(script.lua).digest('hex')) throw new Error(`SHA of ${name} differs`);
    }
    const keys = new KeyBuilder({ keyPrefix: KEY_PREFIX } as ConfigType<typeof redisConfig>);
    const redisVersion = /^redis_version:(.+)$/m.exec(await redis.info('server'))?.[1]?.trim() ?? 'unknown';

    const createEvent = async (eventId: string, backend: Backend) => {
      await createEventDirect(redis, (name) => sha.get(name)!, keys.event(eventId), { queue: backend, capacity: 1 });
    };

    /** `count` joins by EVALSHA, pipelines of PIPELINE, IN_FLIGHT pipelines at once. */
    const load = async (eventId: string, count: number, progress: boolean): Promise<number> => {
      const k = joinKeys(keys.event(eventId));
      const joinSha = sha.get('join')!;
      const started = performance.now();
      let next = 0;
      let lastReport = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < count) {
            const from = next;
            const to = Math.min(count, from + PIPELINE);
            next = to;
            const p = redis.pipeline();
            for (let i = from; i < to; i += 1) p.evalsha(joinSha, k.length, ...k, `user-${i}`, '', '', '', 100, '0', '', 0, 0, i + 1);
            const replies = (await p.exec()) ?? [];
            for (const [err, reply] of replies) {
              if (err) throw err;
              if ((reply as unknown[])[0] !== 'OK') throw new Error(`join into ${eventId}: ${JSON.stringify(reply)}`);
            }
            if (progress && to - lastReport >= count / 10) {
              lastReport = to;
              log(`    ${eventId}: ${to.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} joined (${Math.round((performance.now() - started) / 1000)} s)`);
            }
          }
        }),
      );
      return (performance.now() - started) / 1000;
    };

    const memory: MemoryResult[] = [];
    const big = settings.memoryUsers;
    for (const backend of ['streams', 'zset'] as Backend[]) {
      const eventId = `mem-${backend}`;
      log(`▶ memory: ${big.toLocaleString('en-US')} waiting users, ${backend} backend (pipelined EVALSHA join, ${PIPELINE} per pipeline)`);
      await createEvent(eventId, backend);
      const before = await usedMemory(redis);
      const seconds = await load(eventId, big, true);
      const after = await usedMemory(redis);
      const k = keys.event(eventId);
      const perKey: Record<string, number> = {};
      for (const [name, key] of Object.entries({ stream: k.stream, zqueue: k.zqueue, zwait: k.zwait, users: k.users, nonces: k.nonces })) {
        const bytes = (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
        if (bytes) perKey[name] = Math.round((bytes / big) * 10) / 10;
      }
      const result: MemoryResult = {
        backend,
        users: big,
        usedMemoryBefore: before,
        usedMemoryAfter: after,
        bytesPerUser: Math.round(((after - before) / big) * 10) / 10,
        perKeyBytesPerUser: perKey,
        loadSeconds: Math.round(seconds * 10) / 10,
        joinsPerSecond: Math.round(big / seconds),
        exampleUserId: `user-0 … user-${big - 1}`,
      };
      memory.push(result);
      log(`    ${backend}: ${result.bytesPerUser} B/user (${JSON.stringify(perKey)}), ${result.joinsPerSecond.toLocaleString('en-US')} joins/s pipelined`);
    }

    const sizes = [10_000, 100_000].filter((n) => n < big);
    for (const backend of ['streams', 'zset'] as Backend[]) {
      for (const size of sizes) {
        log(`▶ admission: loading a ${size.toLocaleString('en-US')}-user ${backend} queue`);
        await createEvent(`q${size}-${backend}`, backend);
        await load(`q${size}-${backend}`, size, false);
      }
    }

    await redis.config('SET', 'slowlog-log-slower-than', '-1');
    const admitOnce = async (eventId: string, backend: Backend, batch: number) => {
      const k = keys.event(eventId);
      const [seconds, micros] = await redis.time();
      const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      // A bucket that holds exactly `batch` tokens: burst = rate * tickMs / 1000 = batch with
      // tickMs 100 and rate batch*10; tokens already full, so the refill adds nothing.
      await redis.hset(k.meta, 'tokens', batch, 'tokensAt', nowMs, 'ratePerSecond', batch * 10, 'maxActive', 1_000_000_000);
      const queueLength = backend === 'streams' ? await redis.xlen(k.stream) : await redis.zcard(k.zqueue);
      const stats0 = await evalshaUsec(redis);
      const t0 = process.hrtime.bigint();
      const reply = (await redis.evalsha(sha.get('admit')!, queueKeys(k).length, ...queueKeys(k), 100, batch)) as unknown[];
      const clientUs = Number(process.hrtime.bigint() - t0) / 1000;
      const stats1 = await evalshaUsec(redis);
      if (stats1.calls !== stats0.calls + 1) throw new Error(`expected one EVALSHA between two INFO reads, saw ${stats1.calls - stats0.calls}`);
      if (reply[0] !== 'OK' || Number(reply[1]) !== batch) throw new Error(`admit ${eventId} batch ${batch}: ${JSON.stringify(reply)}`);
      return { queueLength, redisUs: stats1.usec - stats0.usec, clientUs, admitted: Number(reply[1]) };
    };
    const timeAdmit = async (eventId: string, backend: Backend, batch: number): Promise<AdmitTiming> => {
      const runs = [];
      for (let i = 0; i < REPEATS; i += 1) runs.push(await admitOnce(eventId, backend, batch));
      const us = runs.map((r) => r.redisUs);
      const t: AdmitTiming = {
        backend,
        queueLength: runs[0].queueLength,
        batch,
        admitted: runs[0].admitted,
        redisUs: { median: median(us), min: Math.min(...us), max: Math.max(...us), all: us },
        clientUsMedian: Math.round(median(runs.map((r) => r.clientUs))),
      };
      log(
        `    ${backend}, queue ${t.queueLength.toLocaleString('en-US')}, batch ${batch}: ${t.redisUs.median} µs Redis time (median of ${REPEATS}; min ${t.redisUs.min}, max ${t.redisUs.max})`,
      );
      return t;
    };

    const admission: AdmitTiming[] = [];
    for (const backend of ['streams', 'zset'] as Backend[]) {
      log(`▶ admission (${backend}): batches 10 / 100 / ${ADMIT_MAX_BATCH} / 1,000 from the ${big.toLocaleString('en-US')} queue, then 1,000 from each queue size`);
      for (const batch of [...new Set([10, 100, ADMIT_MAX_BATCH, 1000])].sort((a, b) => a - b)) admission.push(await timeAdmit(`mem-${backend}`, backend, batch));
      for (const size of sizes) admission.push(await timeAdmit(`q${size}-${backend}`, backend, 1000));
    }
    return { memory, admission, repeats: REPEATS, redisVersion };
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}
