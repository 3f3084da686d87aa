import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisUnavailableError } from '../common/redis-errors';
import { isCluster, REDIS_CLIENT, RedisClient } from './redis.constants';

const POOL_SIZE = 8;

interface Waiter {
  take(connection: RedisClient): void;
}

/**
 * Dedicated connections for WATCH/MULTI transactions (the luaAtomic=off path).
 * WATCH belongs to a connection, so two requests sharing the main client
 * would watch each other's keys; each transaction leases a connection of its
 * own. Connections are opened on first use.
 *
 * Every run has a deadline (performance.now() time): waiting for a free
 * connection and the work itself both end there with RedisUnavailableError,
 * so with Redis frozen a queue of requests behind the pool answers 503 at the
 * deadline instead of one pool's worth of timeouts after another.
 */
@Injectable()
export class TransactionPool implements OnApplicationShutdown {
  private readonly idle: RedisClient[] = [];
  private readonly waiters: Waiter[] = [];
  private created = 0;

  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async run<T>(work: (connection: Redis) => Promise<T>, deadline: number): Promise<T> {
    const connection = await this.lease(deadline);
    const attempt = (async () => {
      try {
        return await work(connection as Redis);
      } finally {
        // A failed transaction may leave a WATCH behind; drop it before reuse.
        await (connection as Redis).unwatch().catch(() => undefined);
        this.release(connection);
      }
    })();
    // Past the deadline the answer is 503; the work ends by itself (its own
    // command timeouts) and only then gives the connection back.
    return withDeadline(attempt, deadline, 'the transaction did not finish before its deadline');
  }

  // After the HTTP server closed: no transaction is in flight any more.
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.idle.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private lease(deadline: number): Promise<RedisClient> {
    const connection = this.idle.pop();
    if (connection) return Promise.resolve(connection);
    if (this.created < POOL_SIZE) {
      this.created += 1;
      // No auto-pipelining: WATCH, reads and MULTI must go out in order, alone.
      // The offline queue is on only so the new connection's first command
      // waits for its handshake; the command timeout still bounds it.
      const options = { enableAutoPipelining: false, enableOfflineQueue: true };
      const fresh = isCluster(this.redis) ? this.redis.duplicate(undefined, options) : this.redis.duplicate(options);
      // Connection errors (a refused or BUSY ready check) reach the commands
      // that meet them; without a listener ioredis also prints each one.
      fresh.on('error', () => undefined);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        take: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new RedisUnavailableError('no Redis connection for a transaction became free before the deadline'));
      }, Math.max(0, deadline - performance.now()));
      this.waiters.push(waiter);
    });
  }

  private release(connection: RedisClient): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.take(connection);
    else this.idle.push(connection);
  }
}

/** `work`, or RedisUnavailableError when it has not settled by `deadline` (performance.now() time). */
export function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(what)), Math.max(0, deadline - performance.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
