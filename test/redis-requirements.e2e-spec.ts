import { startApp, TestApp } from './support/app-harness';
import { RedisClusterHarness, startRedis } from './support/redis-harness';

/**
 * Redis must not evict keys (an evicted hold record or ticket loses a
 * promise). Readiness names each master's maxmemory-policy, and any policy but
 * noeviction is one clear warning at boot.
 */

/** Boots the app with warnings on, collecting every log line it writes while booting. */
async function bootCollectingLogs(env: Record<string, string>): Promise<{ app: TestApp; lines: string[] }> {
  const lines: string[] = [];
  const original = { out: process.stdout.write, err: process.stderr.write };
  const collect = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  process.stdout.write = collect as typeof process.stdout.write;
  process.stderr.write = collect as typeof process.stderr.write;
  try {
    return { app: await startApp({ ...env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }), lines };
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
}

const policyWarnings = (lines: string[]) => lines.filter((l) => l.includes('maxmemory-policy'));

describe('Redis maxmemory-policy: readiness details and the boot warning', () => {
  it('noeviction: readiness names it, and boot warns about nothing', async () => {
    const redis = await startRedis(['--appendonly', 'no', '--maxmemory-policy', 'noeviction']);
    const { app, lines } = await bootCollectingLogs({ REDIS_URL: redis.url });
    try {
      expect(policyWarnings(lines)).toEqual([]);
      const ready = await app.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      // Other details (replication, for durable confirms) sit beside it.
      expect(ready.body.details.redis).toMatchObject({ status: 'up', scripts: expect.any(Number), maxmemoryPolicy: 'noeviction' });
      expect(ready.body.details.redis.maxmemoryPolicyByMaster).toBeUndefined();
    } finally {
      await app.close();
      await redis.cleanup();
    }
  });

  it('allkeys-lru: one warning at boot saying evicted keys can lose holds, and readiness names the policy', async () => {
    const redis = await startRedis(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    const { app, lines } = await bootCollectingLogs({ REDIS_URL: redis.url });
    try {
      const warnings = policyWarnings(lines);
      expect(warnings).toHaveLength(1);
      const entry = JSON.parse(warnings[0]) as { level: string; context: string; message: string };
      expect(entry.level).toBe('warn');
      expect(entry.message).toContain(`allkeys-lru on 127.0.0.1:${redis.port}`);
      expect(entry.message).toContain('can lose holds');
      expect(entry.message).toContain('Set maxmemory-policy noeviction');
      // Still ready: the policy is the operator's call, said loudly but not enforced.
      const ready = await app.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.redis.maxmemoryPolicy).toBe('allkeys-lru');
      // A policy changed at run time shows in the next readiness answer.
      const client = redis.client();
      await client.config('SET', 'maxmemory-policy', 'volatile-ttl');
      client.disconnect();
      expect((await app.request('GET', '/health/ready')).body.details.redis.maxmemoryPolicy).toBe('volatile-ttl');
    } finally {
      await app.close();
      await redis.cleanup();
    }
  });

  it('on a cluster: every master by address, the distinct policies, and a warning naming the one master that evicts', async () => {
    const cluster = new RedisClusterHarness(3, 0);
    await cluster.start();
    let app: TestApp | undefined;
    try {
      const odd = cluster.nodes[1];
      const client = odd.client();
      await client.config('SET', 'maxmemory-policy', 'volatile-lru');
      client.disconnect();
      const booted = await bootCollectingLogs({ REDIS_CLUSTER_NODES: cluster.nodesEnv });
      app = booted.app;
      const warnings = policyWarnings(booted.lines);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`volatile-lru on 127.0.0.1:${odd.port}`);
      for (const other of [cluster.nodes[0], cluster.nodes[2]]) expect(warnings[0]).not.toContain(`:${other.port}`);

      const ready = await app.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.redis.maxmemoryPolicy).toBe('noeviction, volatile-lru');
      expect(ready.body.details.redis.maxmemoryPolicyByMaster).toEqual(
        Object.fromEntries(cluster.nodes.map((n) => [`127.0.0.1:${n.port}`, n === odd ? 'volatile-lru' : 'noeviction'])),
      );
    } finally {
      await app?.close();
      await cluster.stop();
    }
  }, 90_000);
});
