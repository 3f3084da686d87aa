import calculateSlot from 'cluster-key-slot';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { redisConfig } from '../config/configuration';
import { DomainError } from '../common/domain-error';
import { isCluster, REDIS_CLIENT, RedisClient } from './redis.constants';
import { MasterReplication, parseReplicationInfo } from './replication-info';

/** Dedicated connections per master: each one is blocked by a WAIT for as long as it lasts. */
const POOL_SIZE = 32;
/** How long the marker written before a replayed answer's WAIT lives (it only has to reach the replicas). */
const MARK_TTL_MS = 1000;

export type WaitOutcome = 'acked' | 'timeout';

interface NodePool {
  idle: Redis[];
  waiters: ((connection: Redis) => void)[];
  all: Redis[];
}

/**
 * Durable writes: after a write, Redis `WAIT numreplicas timeout` on the
 * master that ran it, so that an answer is given only once
 * REDIS_WAIT_REPLICAS replicas have the write (a failover then keeps it).
 *
 * WAIT waits for the replication offset of the *connection's* last write and
 * blocks that connection meanwhile. So the write and its WAIT must run on the
 * same connection, and that connection must not be the shared client (every
 * other request would queue behind the WAIT, for up to its timeout when a
 * replica is away). Each durable write therefore leases a connection of its
 * own to the master of its key's slot, runs the script there, then WAITs.
 * A connection to the exact node (not a cluster client, which routes a
 * keyless WAIT to any node) means a failover in between cannot make the WAIT
 * ask another node, whose answer would say nothing about this write.
 */
@Injectable()
export class ReplicaWait implements OnApplicationShutdown {
  private readonly pools = new Map<string, NodePool>();
  private readonly listeners: ((outcome: WaitOutcome, seconds: number) => void)[] = [];

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(redisConfig.KEY) private readonly config: ConfigType<typeof redisConfig>,
  ) {}

  /** REDIS_WAIT_REPLICAS: 0 means writes answer as soon as the master has them. */
  get replicas(): number {
    return this.config.waitReplicas;
  }

  get timeoutMs(): number {
    return this.config.waitTimeoutMs;
  }

  /** Told of every WAIT's outcome and how long it took (metrics). */
  onOutcome(listener: (outcome: WaitOutcome, seconds: number) => void): void {
    this.listeners.push(listener);
  }

  /** Runs `work` on a connection of its own to the master that owns `key`'s slot. */
  async onMasterOf<T>(key: string, work: (connection: Redis) => Promise<T>): Promise<T> {
    const { nodeKey, node } = this.masterOf(key);
    const pool = this.poolOf(nodeKey);
    const connection = await this.lease(pool, node);
    try {
      return await work(connection);
    } catch (err) {
      // The slot moved (failover): this connection goes to one node only, so
      // it does not follow MOVED; have the cluster client learn the new layout.
      if (/^(MOVED|ASK) /.test((err as Error).message)) this.refreshSlots();
      throw err;
    } finally {
      this.release(pool, connection);
    }
  }

  /**
   * WAITs on `connection` for REDIS_WAIT_REPLICAS replicas; true when they
   * acknowledged within REDIS_WAIT_TIMEOUT_MS. With `markKey`, first writes a
   * short-lived marker there: WAIT is documented to cover the connection's
   * own writes, and an answer replayed from Redis (written earlier, maybe by
   * another connection or service replica) is certainly covered only by a
   * write made after it was read. (Redis 7.0 also counts a read; the marker
   * does not depend on that.)
   */
  async waitOn(connection: Redis, markKey?: string): Promise<boolean> {
    const started = performance.now();
    const acked = markKey
      ? (await Promise.all([connection.set(markKey, '1', 'PX', MARK_TTL_MS), connection.wait(this.replicas, this.timeoutMs)]))[1]
      : await connection.wait(this.replicas, this.timeoutMs);
    const outcome: WaitOutcome = acked >= this.replicas ? 'acked' : 'timeout';
    const seconds = (performance.now() - started) / 1000;
    for (const listener of this.listeners) listener(outcome, seconds);
    return outcome === 'acked';
  }

  /** Replication of every master: its offset and each replica's, from INFO replication. */
  async replication(): Promise<MasterReplication[]> {
    const masters = isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
    return Promise.all(masters.map(async (node) => parseReplicationInfo(nodeKeyOf(node), await node.info('replication'))));
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.pools.values()].flatMap((p) => p.all);
    this.pools.clear();
    await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private masterOf(key: string): { nodeKey: string; node: Redis } {
    if (!isCluster(this.redis)) return { nodeKey: 'single', node: this.redis };
    const nodeKey = this.redis.slots[calculateSlot(key)]?.[0];
    const node = nodeKey ? this.redis.nodes('master').find((n) => nodeKeyOf(n) === nodeKey) : undefined;
    // The cluster client has no master for this slot right now (failover, startup): as a Redis fault would.
    if (!nodeKey || !node) {
      this.refreshSlots();
      throw new DomainError('UNAVAILABLE', 'No Redis master serves this event right now; nothing was done. Retry shortly.');
    }
    return { nodeKey, node };
  }

  private refreshSlots(): void {
    if (isCluster(this.redis)) this.redis.refreshSlotsCache();
  }

  private poolOf(nodeKey: string): NodePool {
    let pool = this.pools.get(nodeKey);
    if (!pool) {
      // A new master (failover): close the connections to nodes that no longer are one.
      this.dropStalePools();
      pool = { idle: [], waiters: [], all: [] };
      this.pools.set(nodeKey, pool);
    }
    return pool;
  }

  private dropStalePools(): void {
    if (!isCluster(this.redis)) return;
    const masters = new Set(this.redis.nodes('master').map(nodeKeyOf));
    for (const [nodeKey, pool] of this.pools) {
      if (masters.has(nodeKey)) continue;
      this.pools.delete(nodeKey);
      for (const c of pool.all) c.disconnect();
    }
  }

  private lease(pool: NodePool, node: Redis): Promise<Redis> {
    const idle = pool.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (pool.all.length < POOL_SIZE) {
      // The offline queue is on only so the first command waits for the
      // handshake; the command timeout still bounds it.
      const connection = node.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false });
      pool.all.push(connection);
      return Promise.resolve(connection);
    }
    // Every connection is in a WAIT: wait for one, as long as a Redis command may take.
    return new Promise((resolve, reject) => {
      const waiter = (connection: Redis) => {
        clearTimeout(timer);
        resolve(connection);
      };
      const timer = setTimeout(() => {
        pool.waiters.splice(pool.waiters.indexOf(waiter), 1);
        reject(new DomainError('UNAVAILABLE', 'Too many confirms are waiting for Redis replicas; nothing was done. Retry shortly.'));
      }, this.config.commandTimeoutMs);
      pool.waiters.push(waiter);
    });
  }

  private release(pool: NodePool, connection: Redis): void {
    const waiter = pool.waiters.shift();
    if (waiter) waiter(connection);
    else pool.idle.push(connection);
  }
}

/** ioredis's name of a cluster node: host:port. */
const nodeKeyOf = (node: Redis) => `${node.options.host}:${node.options.port}`;
