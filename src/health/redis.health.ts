import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { ReplicaWait } from '../redis/replica-wait';
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
    private readonly replicas: ReplicaWait,
  ) {}

  async isReady(key = 'redis') {
    const check = this.indicator.check(key);
    if (this.shutdown.shuttingDown) return check.down({ message: 'shutting down' });
    try {
      await this.redis.ping();
      await this.scripts.ensureLoaded();
      return check.up({ scripts: this.scripts.names.length, replication: await this.replication() });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /**
   * Each master's replicas and their lag, and whether confirms can be durable
   * now (as many replicas online as REDIS_WAIT_REPLICAS). Information, not a
   * readiness condition: with too few replicas only confirms answer 503,
   * while taking every replica out of service would stop the queue as well.
   */
  private async replication() {
    // A Redis that refuses INFO (a restrictive ACL) is still ready: say so instead of failing.
    const masters = await this.replicas.replication().catch((err: Error) => err);
    if (masters instanceof Error) return { error: `INFO replication failed: ${masters.message}` };
    return {
      waitReplicas: this.replicas.replicas,
      waitTimeoutMs: this.replicas.timeoutMs,
      masters: masters.map((m) => ({
        ...m,
        durable: m.replicas.filter((r) => r.state === 'online').length >= this.replicas.replicas,
      })),
    };
  }
}
