import type Redis from 'ioredis';
import { createEvent, createEventBegin, createEventSeats } from '../../src/event/event.scripts';
import type { EventKeys } from '../../src/redis/keys';
import { runScriptOn } from '../../src/redis/script-catalogue';

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
  const claim = { token: 'bench', claimMs: 30_000 };
  if (!(await runScriptOn(redis, sha, createEventBegin, k, claim))) throw new Error(`createEventBegin ${k.meta}: the event exists`);
  for (let from = 0; from < e.capacity; from += 300) {
    const seats = Array.from({ length: Math.min(300, e.capacity - from) }, (_, i) => [from + i + 1, `GA-${from + i + 1}`]).flat();
    await runScriptOn(redis, sha, createEventSeats, k, { ...claim, rows: [], seats });
  }
  const createdAt = await runScriptOn(redis, sha, createEvent, k, {
    token: claim.token,
    queue: e.queue,
    holdTtlSeconds: e.holdTtlSeconds ?? 300,
    maxSeatsPerUser: e.maxSeatsPerUser ?? 4,
    ratePerSecond: e.ratePerSecond ?? 50,
    maxActive: e.maxActive ?? 1000,
    sessionTtlSeconds: e.sessionTtlSeconds ?? 600,
    capacity: e.capacity,
    endsAt: 0,
    powBits: 0,
    fields: e.meta ?? [],
  });
  if (createdAt === null) throw new Error(`createEvent ${k.meta}: the creation claim was lost`);
  return createdAt;
}
