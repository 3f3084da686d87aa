import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { EVENT_STATUSES, eventStatus, EventStatus, QueueMethod, StatusInputs } from '../src/event/event-status';
import { inlineIncludes } from '../src/redis/lua-loader';
import { RedisProcess, startRedis } from './support/redis-harness';

/**
 * The event-status rule is written twice, in lua/includes/eventStatus.lua (the
 * scripts) and src/event/event-status.ts (the service). Every vector of
 * test/fixtures/event-status-vectors.json goes through both: the TypeScript
 * function directly, and the Lua include for real, inlined as the
 * ScriptRegistry inlines it, in a redis-server this suite starts.
 */

interface Vector {
  name: string;
  now: number;
  fields: Record<string, string>;
  status: EventStatus;
}

const FIXTURE = join(__dirname, 'fixtures', 'event-status-vectors.json');
const { vectors } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { vectors: Vector[] };

/** The hash fields the rule reads; createEvent always writes the first four. */
const ALWAYS = ['available', 'held', 'paused', 'endsAt'];
const READ = [...ALWAYS, 'queueMethod', 'queueOpensAt', 'salesStartAt'];

/**
 * The TypeScript rule's inputs from the hash fields, read as the service reads
 * them (queue.watch-repository.ts; the eventView and queueHead scripts hand over
 * the same values): numbers from the stored strings, paused when '1', an absent
 * method as 'fifo' and an absent time as 0.
 */
function tsInputs(v: Vector): StatusInputs {
  const f = v.fields;
  return {
    available: Number(f.available),
    held: Number(f.held),
    paused: f.paused === '1',
    nowMs: v.now,
    queueMethod: (f.queueMethod ?? 'fifo') as QueueMethod,
    queueOpensAt: Number(f.queueOpensAt ?? 0),
    salesStartAt: Number(f.salesStartAt ?? 0),
    endsAt: Number(f.endsAt ?? 0),
  };
}

/** Writes the vector's fields as the event hash KEYS[1] (nothing else in it) and answers eventStatus(KEYS[1], now). */
const LUA = inlineIncludes(
  [
    '--- @include "includes/eventStatus"',
    "redis.call('DEL', KEYS[1])",
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))",
    'local status = eventStatus(KEYS[1], tonumber(ARGV[1]))',
    'return status',
  ].join('\n'),
  'event-status-vectors.e2e-spec.ts',
);

describe('event status: one set of vectors, the Lua include and the TypeScript function', () => {
  let redis: RedisProcess & { cleanup: () => Promise<void> };
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await redis?.cleanup();
  });

  const luaStatus = async (v: Vector, i: number): Promise<unknown> =>
    client.eval(LUA, 1, `vector:${i}`, String(v.now), ...Object.entries(v.fields).flat());

  it('the vectors name every status, and only fields the rule reads (the always-written ones in each)', () => {
    expect(LUA).not.toMatch(/@include/);
    expect(new Set(vectors.map((v) => v.status))).toEqual(new Set(EVENT_STATUSES));
    for (const v of vectors) {
      expect({ name: v.name, unknown: Object.keys(v.fields).filter((f) => !READ.includes(f)) }).toEqual({ name: v.name, unknown: [] });
      expect({ name: v.name, missing: ALWAYS.filter((f) => v.fields[f] === undefined) }).toEqual({ name: v.name, missing: [] });
    }
  });

  it.each(vectors.map((v, i) => [v.name, v, i] as const))('%s', async (_name, v, i) => {
    expect({ ts: eventStatus(tsInputs(v)), lua: await luaStatus(v, i) }).toEqual({ ts: v.status, lua: v.status });
  });
});
