import type Redis from 'ioredis';

/**
 * A digest of every key and value in the database, to show a refused request
 * changed nothing. DUMP covers every type; the TTL is left out because it
 * moves by itself.
 */
export async function keyspaceDigest(redis: Redis): Promise<string> {
  const { createHash } = await import('node:crypto');
  const keys = (await redis.keys('*')).sort();
  const hash = createHash('sha256');
  for (const key of keys) {
    const value = await redis.dumpBuffer(key);
    hash.update(key).update('\0').update(value ?? Buffer.alloc(0)).update('\0');
  }
  return `${keys.length}:${hash.digest('hex')}`;
}
