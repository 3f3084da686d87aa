import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { ConfigType } from '@nestjs/config';
import type { redisConfig } from '../config/configuration';

type RedisConfig = ConfigType<typeof redisConfig>;

/**
 * Connection behaviour for a service that must answer fast when Redis is not
 * there: no offline queue (a command while disconnected fails at once), a
 * command timeout (a frozen Redis costs at most that long), and no resend of
 * in-flight commands after a reconnect (a resent hold could run twice; the
 * client retries with its Idempotency-Key instead).
 *
 * No auto-pipelining: ioredis holds a batch back until the previous batch for
 * that node has fully answered, and starts a command's timeout only when it
 * writes it. Against a frozen Redis a request then waited up to twice the
 * timeout (the batch ahead timing out first, then its own); under CPU load,
 * requests queued behind batches. Written at once, each command's timeout
 * runs from the request's call and each reply is handed on as it arrives.
 */
export function nodeOptions(config: RedisConfig): RedisOptions {
  return {
    password: config.password,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: Math.max(config.commandTimeoutMs, 2000),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
  };
}

export function clusterOptions(config: RedisConfig): ClusterOptions {
  const { enableAutoPipelining, ...redisOptions } = nodeOptions(config);
  return {
    enableOfflineQueue: false,
    enableAutoPipelining,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
    redisOptions,
  };
}
