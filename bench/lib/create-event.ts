import type Redis from 'ioredis';
import type { EventKeys } from '../../src/redis/keys';

/** What an event made straight through the scripts is given (the service's defaults otherwise). */
export interface DirectEvent {
  queue: 'streams' | 'zset';
  /** seats GA-1..GA-n (at least 1) */
  capacity: number;
  holdTtlSeconds?: number;
  maxSeatsPerUser?: number;
  ratePerSecond?: number;
  maxActive?: number;
  sessionTtlSeconds?: number;
  /** more meta fields as name, value pairs (e.g. the fair-start schedule) */
  meta?: (string | number)[];
}

/**
 * Creates an event the way the service does (claim, seats in chunks, meta
 * last: lua/event/createEventBegin, createEventSeats, createEvent), without
 * HTTP, for benchmarks that load Redis directly. Returns the event's createdAt.
 */
export async function createEventDirect(redis: Redis, sha: (name: string) => string, k: EventKeys, e: DirectEvent): Promise<number> {
  const token = 'bench';
  const claimMs = 30_000;
  await redis.evalsha(sha('createEventBegin'), 7, k.meta, k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs, token, claimMs);
  for (let from = 0; from < e.capacity; from += 300) {
    const pairs = Array.from({ length: Math.min(300, e.capacity - from) }, (_, i) => [from + i + 1, `GA-${from + i + 1}`]).flat();
    await redis.evalsha(sha('createEventSeats'), 6, k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs, token, claimMs, 0, ...pairs);
  }
  const r = (await redis.evalsha(sha('createEvent'), 2, k.meta, k.creating, token, e.queue,
    e.holdTtlSeconds ?? 300, e.maxSeatsPerUser ?? 4, e.ratePerSecond ?? 50, e.maxActive ?? 1000, e.sessionTtlSeconds ?? 600,
    e.capacity, 0, 0, ...(e.meta ?? []))) as unknown[];
  if (r[0] !== 'OK') throw new Error(`createEvent ${k.meta}: ${JSON.stringify(r)}`);
  return Number(r[2]);
}
