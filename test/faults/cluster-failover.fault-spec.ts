import type Redis from 'ioredis';
import { performance } from 'node:perf_hooks';
import { startApp, TestApp } from '../support/app-harness';
import { expectCleanAudit } from '../support/flows';
import { RedisClusterHarness, RedisProcess } from '../support/redis-harness';
import { FAULT_LOG_LEVEL, LoadLoop, LOAD_CAPACITY, Poller, prepareLoad, report, show, sleep, tally, unexpectedCalls } from './load';

// A Redis Cluster of 3 masters with one replica each. Under load, the replica
// of the master that holds an event is told CLUSTER FAILOVER: it takes over
// that master's slots (the old master becomes its replica). The service must
// follow by itself: MOVED answers re-route it, the new master has no scripts
// cached and gets them again, and requests after the failover succeed.
// During the switch a request may fail only as 503 UNAVAILABLE.

/** How long the service may take to find its feet again after the promotion. */
const RECOVERY_MS = 10_000;

const role = async (node: Redis) => ((await node.call('ROLE')) as [string])[0];

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return performance.now();
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('a cluster master failed over to its replica (CLUSTER FAILOVER), under load', () => {
  const cluster = new RedisClusterHarness(3, 1);
  let app: TestApp;
  const clients = new Map<RedisProcess, Redis>();

  beforeAll(async () => {
    await cluster.start();
    for (const node of cluster.nodes) clients.set(node, node.client());
    // Every replica has synced with its master before the test starts.
    for (const node of cluster.nodes) {
      if ((await role(clients.get(node)!)) !== 'slave') continue;
      await waitUntil(`replica ${node.port} in sync`, async () => /master_link_status:up/.test(await clients.get(node)!.info('replication')), 20_000);
    }
    app = await startApp({ REDIS_CLUSTER_NODES: cluster.nodesEnv, ...FAULT_LOG_LEVEL });
  }, 60_000);
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await app?.close();
    await cluster.stop();
  });

  it('recovers by itself: 503 UNAVAILABLE at most during the switch, readiness 200 within 10 s, audits clean', async () => {
    const { eventIds, users, joiners, readers } = await prepareLoad(app, 'failover');

    // The master that holds the first event, and its replica.
    const any = clients.get(cluster.nodes[0])!;
    const slot = (await any.cluster('KEYSLOT', `{${eventIds[0]}}`)) as number;
    const owner = (await any.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)!;
    const oldMaster = cluster.nodes.find((n) => n.port === owner[2][1])!;
    let replica: RedisProcess | undefined;
    for (const node of cluster.nodes) {
      const r = (await clients.get(node)!.call('ROLE')) as [string, string, number];
      if (r[0] === 'slave' && Number(r[2]) === oldMaster.port) replica = node;
    }
    expect(replica).toBeDefined();
    const replicaClient = clients.get(replica!)!;
    const oldMasterClient = clients.get(oldMaster)!;

    const ready = new Poller(`${app.url}/health/ready`, 100).start();
    const load = new LoadLoop({ users, joiners, readers, capacity: LOAD_CAPACITY, maxRequests: 40_000, maxDurationMs: 25_000 }).start();
    const t0 = performance.now();
    await sleep(1000);

    const failoverAt = performance.now();
    expect(await replicaClient.cluster('FAILOVER')).toBe('OK');
    const promotedAt = await waitUntil('the replica to become master', async () => (await role(replicaClient)) === 'master' && (await role(oldMasterClient)) === 'slave', 10_000);
    const readyAt = await ready.waitFor(200, promotedAt, RECOVERY_MS);
    await sleep(Math.max(readyAt + 2000, promotedAt + 3000) - performance.now());
    await load.stop();
    await ready.stop();
    report('failover', load.calls);

    // 1. Contract answers only; 503 UNAVAILABLE only from the failover on, until the service has caught up with
    //    the new layout (readiness pings any node, so it may be 200 while a MOVED is still on its way).
    const bad = unexpectedCalls(load.calls, (c) => c.end >= failoverAt && c.start <= promotedAt + RECOVERY_MS);
    const loadTally = tally(load.calls);
    expect({ bad: show(bad, t0), tally: loadTally }).toEqual({ bad: [], tally: loadTally });

    // 2. It recovered by itself within 10 s of the promotion, and after that the moved event is served by its
    //    new master: holds succeed there; readiness is 200.
    const recoveredAt = Math.max(promotedAt, ...load.calls.filter((c) => c.status === 503).map((c) => c.end));
    if (process.env.FAULTS_VERBOSE) {
      process.stdout.write(`promoted +${Math.round(promotedAt - failoverAt)} ms after FAILOVER; ready +${Math.round(readyAt - promotedAt)} ms and last 503 +${Math.round(recoveredAt - promotedAt)} ms after the promotion\n`);
    }
    expect(recoveredAt - promotedAt).toBeLessThanOrEqual(RECOVERY_MS);
    const after = load.calls.filter((c) => c.start > recoveredAt && c.eventId === eventIds[0]);
    expect(after.filter((c) => c.op === 'hold' && c.status === 201).length).toBeGreaterThan(0);
    expect(await replicaClient.exists(`qg:{${eventIds[0]}}:meta`)).toBe(1);
    expect(ready.samples.filter((s) => s.start > readyAt).every((s) => s.status === 200)).toBe(true);

    // 3. Nothing went astray in the switch.
    for (const eventId of eventIds) await expectCleanAudit(app, eventId);
  }, 60_000);
});
