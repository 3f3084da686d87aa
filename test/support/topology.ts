import { startApp, TestApp } from './app-harness';
import type { Cluster, Redis } from 'ioredis';
import { RedisClusterHarness, startRedis } from './redis-harness';

/**
 * The Redis topologies every e2e suite runs on: `describe.each(TOPOLOGIES)`.
 * A cluster suite gets a real 3-master cluster built from redis-server
 * processes; the app then talks to it through REDIS_CLUSTER_NODES.
 */
export type TopologyName = 'single' | 'cluster';
export const TOPOLOGIES: TopologyName[] = ['single', 'cluster'];

export interface Topology {
  name: TopologyName;
  /** environment for startApp(): REDIS_URL or REDIS_CLUSTER_NODES */
  env: Record<string, string>;
  /** a plain client for the test's own look-ups; quit it when done (or use withClient) */
  client(): Redis | Cluster;
  /** one client per master: SCRIPT FLUSH, INFO, DEBUG… */
  masters(): Promise<Redis[]>;
  stop(): Promise<void>;
}

export async function startTopology(name: TopologyName): Promise<Topology> {
  if (name === 'single') {
    const redis = await startRedis();
    return {
      name,
      env: { REDIS_URL: redis.url },
      client: () => redis.client(),
      masters: async () => [redis.client()],
      stop: () => redis.cleanup(),
    };
  }
  const cluster = new RedisClusterHarness(3, 0);
  await cluster.start();
  return {
    name,
    env: { REDIS_CLUSTER_NODES: cluster.nodesEnv },
    client: () => cluster.client(),
    masters: async () => cluster.nodes.map((n) => n.client()),
    stop: () => cluster.stop(),
  };
}

/** Runs `work` with a fresh plain client and always closes it. */
export async function withClient<T>(topology: Topology, work: (client: Redis | Cluster) => Promise<T>): Promise<T> {
  const client = topology.client();
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/**
 * The usual suite setup: a topology and one app on it.
 * `beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);`
 */
export async function startTopologyApp(name: TopologyName, env: Record<string, string> = {}): Promise<{ topology: Topology; app: TestApp }> {
  const topology = await startTopology(name);
  try {
    return { topology, app: await startApp({ ...topology.env, ...env }) };
  } catch (err) {
    await topology.stop(); // the caller never gets it to stop
    throw err;
  }
}

/** Closes the app, then stops its Redis (either may be missing when setup failed). */
export async function stopTopologyApp(topology: Topology | undefined, app: TestApp | undefined): Promise<void> {
  await app?.close();
  await topology?.stop();
}
