import type Redis from 'ioredis';
import { isHousekeepingKey, metaForDigest } from './inspect';

/**
 * A digest of every key and value in the database, to show a refused request
 * changed nothing. DUMP covers every type; the TTL is left out because it
 * moves by itself.
 *
 * With `eventId`, the keys of other events are left out (keys without a hash
 * tag, the registry and flags, stay in): their admitter and sweeper ticks may
 * write at any moment (a token bucket, the observed-rate window every 5 s),
 * which says nothing about the request under test. Housekeeping keys (the
 * sweeper's claims, see isHousekeepingKey) are left out for the same reason,
 * and so are the admitter's clock fields of an event's meta (metaForDigest).
 */
export async function keyspaceDigest(redis: Redis, eventId?: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const ownOrGlobal = (key: string) => eventId === undefined || !key.includes('{') || key.includes(`{${eventId}}`);
  const keys = (await redis.keys('*')).filter((key) => ownOrGlobal(key) && !isHousekeepingKey(key)).sort();
  const hash = createHash('sha256');
  for (const key of keys) {
    const value = key.endsWith('}:meta') ? Buffer.from(metaForDigest(await redis.hgetall(key))) : await redis.dumpBuffer(key);
    hash.update(key).update('\0').update(value ?? Buffer.alloc(0)).update('\0');
  }
  return `${keys.length}:${hash.digest('hex')}`;
}
