import { Inject, Injectable } from '@nestjs/common';
import { KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';

/** Flag overrides: one Redis hash, name -> '1' | '0', shared by every replica. */
@Injectable()
export class FeatureFlagRepository {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly keys: KeyBuilder,
  ) {}

  async overrides(): Promise<Record<string, boolean>> {
    const raw = await this.redis.hgetall(this.keys.flagOverrides);
    return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, value === '1']));
  }

  async set(name: string, enabled: boolean): Promise<void> {
    await this.redis.hset(this.keys.flagOverrides, name, enabled ? '1' : '0');
  }

  async clear(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.flagOverrides, name)) === 1;
  }
}
