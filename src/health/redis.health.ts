import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { redisConfig } from '../config/configuration';
import { withDeadline } from '../redis/deadline';
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
    @Inject(redisConfig.KEY) private readonly config: ConfigType<typeof redisConfig>,
  ) {}

  async isReady(key = 'redis') {
    const check = this.indicator.check(key);
    if (this.shutdown.shuttingDown) return check.down({ message: 'shutting down' });
    try {
      // One deadline for both steps: the probe answers within the command timeout.
      await withDeadline(
        this.redis.ping().then(() => this.scripts.ensureLoaded()),
        this.config.commandTimeoutMs,
      );
      return check.up({ scripts: this.scripts.names.length });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
