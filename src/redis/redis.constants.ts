import type { Cluster, Redis } from 'ioredis';

/** The one ioredis client (single node or cluster) the repositories share. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
export type RedisClient = Redis | Cluster;

/** True for a Redis Cluster client. */
export const isCluster = (client: RedisClient): client is Cluster => 'nodes' in client && typeof client.nodes === 'function' && (client as Cluster).isCluster === true;
