import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { isCluster, REDIS_CLIENT, RedisClient } from './redis.constants';

const POOL_SIZE = 8;

/**
 * Dedicated connections for WATCH/MULTI transactions (the luaAtomic=off path).
 * WATCH belongs to a connection, so two requests sharing the main client
 * would watch each other's keys; each transaction leases a connection of its
 * own. Connections are opened on first use.
 */
@Injectable()
export class TransactionPool implements OnApplicationShutdown {
  private readonly idle: RedisClient[] = [];
  private readonly waiters: ((c: RedisClient) => void)[] = [];
  private created = 0;

  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async run<T>(work: (connection: Redis) => Promise<T>): Promise<T> {
    const connection = await this.lease();
    try {
      return await work(connection as Redis);
    } finally {
      // A failed transaction may leave a WATCH behind; drop it before reuse.
      await (connection as Redis).unwatch().catch(() => undefined);
      this.release(connection);
    }
  }

  // After the HTTP server closed: no transaction is in flight any more.
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.idle.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private lease(): Promise<RedisClient> {
    const connection = this.idle.pop();
    if (connection) return Promise.resolve(connection);
    if (this.created < POOL_SIZE) {
      this.created += 1;
      // No auto-pipelining: WATCH, reads and MULTI must go out in order, alone.
      // The offline queue is on only so the new connection's first command
      // waits for its handshake; the command timeout still bounds it.
      const options = { enableAutoPipelining: false, enableOfflineQueue: true };
      return Promise.resolve(
        isCluster(this.redis) ? this.redis.duplicate(undefined, options) : this.redis.duplicate(options),
      );
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(connection: RedisClient): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(connection);
    else this.idle.push(connection);
  }
}
