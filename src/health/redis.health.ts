import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { ScriptRegistry } from '../redis/script-registry';
import { ShutdownState } from './shutdown-state';

/** Readiness: Redis answers a PING and holds every script; not while shutting down. */
@Injectable()
export class RedisReadinessIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly scripts: ScriptRegistry,
    private readonly shutdown: ShutdownState,
  ) {}

  async isReady(key = 'redis') {
    const check = this.indicator.check(key);
    if (this.shutdown.shuttingDown) return check.down({ message: 'shutting down' });
    try {
      await this.redis.ping();
      await this.scripts.ensureLoaded();
      return check.up({ scripts: this.scripts.names.length });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
