import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { isCluster, REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { ReplicaWait } from '../redis/replica-wait';
import { ScriptRegistry } from '../redis/script-registry';
import { ShutdownState } from './shutdown-state';

/** The only eviction policy under which Redis never drops a hold, ticket or session to make room. */
export const SAFE_MAXMEMORY_POLICY = 'noeviction';

/**
 * Readiness: Redis answers a PING and holds every script; not while shutting down.
 * Its details also name Redis's `maxmemory-policy` (every master's, on a cluster),
 * and a policy other than `noeviction` is a warning once at boot.
 */
@Injectable()
export class RedisReadinessIndicator implements OnApplicationBootstrap {
  private readonly logger = new Logger('Redis');

  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly scripts: ScriptRegistry,
    private readonly shutdown: ShutdownState,
    private readonly replicas: ReplicaWait,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const unsafe = Object.entries(await this.maxmemoryPolicies()).filter(([, policy]) => policy !== SAFE_MAXMEMORY_POLICY);
      if (unsafe.length > 0) {
        const where = unsafe.map(([node, policy]) => `${policy} on ${node}`).join(', ');
        this.logger.warn(
          `Redis maxmemory-policy is ${where}: when Redis runs out of memory it may evict keys, and an evicted key ` +
            `can lose holds, tickets and sessions. Set maxmemory-policy ${SAFE_MAXMEMORY_POLICY} (writes then fail with 503 instead).`,
        );
      }
    } catch (err) {
      this.logger.warn(`could not read Redis maxmemory-policy: ${(err as Error).message}`);
    }
  }

  async isReady(key = 'redis') {
    const check = this.indicator.check(key);
    if (this.shutdown.shuttingDown) return check.down({ message: 'shutting down' });
    try {
      await this.redis.ping();
      await this.scripts.ensureLoaded();
      const policies = await this.maxmemoryPolicies();
      const distinct = [...new Set(Object.values(policies))].sort();
      return check.up({
        scripts: this.scripts.names.length,
        // One policy, or the distinct ones comma-separated when masters disagree.
        maxmemoryPolicy: distinct.join(', '),
        ...(isCluster(this.redis) ? { maxmemoryPolicyByMaster: policies } : {}),
        replication: await this.replication(),
      });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /**
   * `maxmemory_policy` of every master, by `host:port`. Read from INFO, which
   * managed Redis services allow where they rename or disable CONFIG.
   */
  private async maxmemoryPolicies(): Promise<Record<string, string>> {
    const masters: Redis[] = isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
    const entries = await Promise.all(
      masters.map(async (node) => {
        const info = await node.info('memory');
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
        return [`${node.options.host}:${node.options.port}`, policy] as const;
      }),
    );
    return Object.fromEntries(entries);
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
