import { performance } from 'node:perf_hooks';
import { startApp, TestApp, uniqueId } from '../support/app-harness';
import { Admitted, admitMany, expectCleanAudit } from '../support/flows';
import { RedisProcess, ReplicatedCluster, roleOf, waitForSync, waitUntil } from '../support/redis-harness';
import { FAULT_LOG_LEVEL, orderIds, sleep } from './load';

// The failover that loses money: a master killed outright (SIGKILL) while its
// replica is behind, and the replica promoted (CLUSTER FAILOVER TAKEOVER).
// Redis replicates asynchronously, so what the master acknowledged but had
// not yet sent is gone. "Behind" is made deterministic: the replica is frozen
// (SIGSTOP) and its link cut on the master (CLIENT KILL TYPE replica), so
// writes from then on reach only the master's backlog.
//
// Buyers hold one seat and confirm it (with an Idempotency-Key), in a loop,
// before, during and after the fault. Every answer is counted. Then every
// confirm that did not get an order is retried with its key, and the new
// master's orders stream is compared with the orders the buyers were told.
//
// REDIS_WAIT_REPLICAS=0: some 201s are lost (if none were, the fault was not
// provoked and the test fails). REDIS_WAIT_REPLICAS=1: none is lost; the
// confirms the replica could not acknowledge answered 503 instead.

/** Buyers, each buying one seat every PACE_MS: about 80 confirms a second, and nobody reaches maxSeatsPerUser (20). */
const BUYERS = 40;
const PACE_MS = 500;
const CAPACITY = 3000;
const WAIT_TIMEOUT_MS = 300;
/** How long the service may take to find its feet again after the promotion. */
const RECOVERY_MS = 15_000;

interface Confirm {
  user: Admitted;
  holdId: string;
  seatIds: string[];
  key: string;
  start: number;
  end: number;
  status: number;
  code?: string;
  orderId?: string;
}

async function post(app: TestApp, path: string, headers: Record<string, string>, body: unknown = {}) {
  try {
    const r = await fetch(app.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

const outcome = (c: { status: number; code?: string }) => (c.status < 300 ? String(c.status) : `${c.status} ${c.code ?? ''}`.trim());
const tally = (cs: { status: number; code?: string }[]) =>
  cs.reduce<Record<string, number>>((acc, c) => ((acc[outcome(c)] = (acc[outcome(c)] ?? 0) + 1), acc), {});

describe.each([0, 1])('REDIS_WAIT_REPLICAS=%i: a master killed while its replica is behind, the replica promoted', (waitReplicas) => {
  const cluster = new ReplicatedCluster();
  const client = (node: RedisProcess) => cluster.nodeClient(node);
  let app: TestApp;

  beforeAll(async () => {
    await cluster.start();
    app = await startApp({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      REDIS_WAIT_REPLICAS: String(waitReplicas),
      REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
      ...FAULT_LOG_LEVEL,
    });
  }, 60_000);
  afterAll(async () => {
    cluster.release();
    await app?.close();
    await cluster.stop();
  });

  it(`${waitReplicas === 0 ? 'loses some acknowledged orders' : 'loses no acknowledged order'}; every answer counted, audit clean`, async () => {
    const eventId = uniqueId(`unplanned-${waitReplicas}`);
    await app.createEvent(eventId, { capacity: CAPACITY, maxSeatsPerUser: 20, admission: { ratePerSecond: 1000 } });
    const buyers = await admitMany(app, eventId, Array.from({ length: BUYERS }, (_, i) => `buyer${i}`), BUYERS);
    const { master, replicas } = await cluster.shardOf(`{${eventId}}`);
    expect(replicas).toHaveLength(1);
    const [replica] = replicas;

    // Buyers: hold one seat, confirm it with a key; again, while the test says so. A buyer whose
    // confirm is told nothing certain (503) moves on; it retries at the end.
    const confirms: Confirm[] = [];
    const holds: { status: number; code?: string }[] = [];
    let going = true;
    const loops = buyers.map(async (user, i) => {
      await sleep((PACE_MS * i) / BUYERS);
      for (; going; await sleep(PACE_MS)) {
        const hold = await post(app, `/v1/events/${eventId}/holds`, user.auth, { quantity: 1 });
        holds.push({ status: hold.status, code: hold.body?.code });
        if (hold.status !== 201) continue;
        const c: Confirm = { user, holdId: hold.body.holdId, seatIds: hold.body.seatIds, key: `confirm-${hold.body.holdId}`, start: performance.now(), end: 0, status: 0 };
        const r = await post(app, `/v1/events/${eventId}/holds/${c.holdId}/confirm`, { ...user.auth, 'idempotency-key': c.key });
        Object.assign(c, { end: performance.now(), status: r.status, code: r.body?.code, orderId: r.body?.orderId });
        confirms.push(c);
      }
    });

    // Readiness names each master's replicas: here every master has its one replica online.
    const replicationOf = async () => (await app.request('GET', '/health/ready')).body.details.redis.replication;
    const healthy = await replicationOf();
    expect(healthy.masters.map((m: any) => [m.replicas.length, m.replicas[0]?.state, m.durable])).toEqual(Array(3).fill([1, 'online', true]));

    // 1. Healthy: the replica keeps up.
    await sleep(1000);
    // 2. The replica falls behind: frozen, and its link cut, so acks reach only the master's backlog.
    replica.freeze();
    const cutAt = performance.now();
    expect(Number(await client(master).client('KILL', 'TYPE', 'replica'))).toBe(1);
    // Operators see it: the master has no replica any more, so confirms cannot be durable.
    const degraded = (await replicationOf()).masters.find((m: any) => m.node === `127.0.0.1:${master.port}`);
    expect({ replicas: degraded.replicas.length, durable: degraded.durable }).toEqual({ replicas: 0, durable: waitReplicas === 0 });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain(`queuegate_redis_connected_replicas{master="127.0.0.1:${master.port}"} 0`);
    await sleep(1500);
    // 3. The master dies with what only it had; the replica, resumed, takes over without it.
    await master.kill();
    const killedAt = performance.now();
    replica.thaw();
    expect(await client(replica).cluster('FAILOVER', 'TAKEOVER')).toBe('OK');
    const promotedAt = await waitUntil('the replica to become master', async () => (await roleOf(client(replica))) === 'master', 10_000);
    // 4. The dead master comes back (empty: no persistence) and rejoins as the new master's replica,
    //    so that confirms can be acknowledged again.
    cluster.forget(master);
    await master.start();
    await waitUntil('the old master to rejoin as a replica', async () => (await roleOf(client(master))) === 'slave', 15_000);
    await waitForSync(master);
    // 5. Until the service confirms again by itself, then a little longer.
    const recoveredAt = await waitUntil('a confirm answered 201 after the promotion', async () => confirms.some((c) => c.start > promotedAt && c.status === 201), RECOVERY_MS);
    await sleep(1000);
    going = false;
    await Promise.all(loops);

    // Every confirm that got no order is retried with its key, now that the shard is whole again.
    const retries: Confirm[] = [];
    for (const c of confirms.filter((x) => x.status !== 201)) {
      const r = await post(app, `/v1/events/${eventId}/holds/${c.holdId}/confirm`, { ...c.user.auth, 'idempotency-key': c.key });
      retries.push({ ...c, status: r.status, code: r.body?.code, orderId: r.body?.orderId });
    }

    // What the new master has.
    const onNewMaster = await orderIds(client(replica), eventId);
    const seats = await client(replica).hgetall(`qg:{${eventId}}:seats`);
    const told = [...confirms, ...retries].filter((c) => c.status === 201 || c.status === 200);
    const lost = told.filter((c) => !onNewMaster.has(c.orderId!));
    const inWindow = (c: Confirm) => c.start >= cutAt && c.end <= killedAt;
    const summary = {
      confirms: tally(confirms),
      retries: tally(retries),
      holds: tally(holds),
      told: told.length,
      lost: lost.length,
      resold: lost.filter((c) => c.seatIds.some((s) => seats[s]?.startsWith('s:'))).length,
      window201: confirms.filter((c) => inWindow(c) && c.status === 201).length,
    };
    if (process.env.FAULTS_VERBOSE) {
      process.stdout.write(
        `REDIS_WAIT_REPLICAS=${waitReplicas}: ${JSON.stringify(summary)}; promoted +${Math.round(promotedAt - killedAt)} ms after the kill, ` +
          `first 201 after it +${Math.round(recoveredAt - promotedAt)} ms\n`,
      );
    }

    // Every answer is one the contract allows: an order, 503 UNAVAILABLE (Redis away or replicas behind),
    // or, for a hold that existed only on the dead master, its truth now: HOLD_NOT_FOUND.
    const allowed = ['201', '200', '503 UNAVAILABLE', '404 HOLD_NOT_FOUND'];
    expect(Object.keys(summary.confirms).filter((k) => !allowed.includes(k))).toEqual([]);
    expect(Object.keys(summary.holds).filter((k) => !['201', '503 UNAVAILABLE'].includes(k))).toEqual([]);
    // Retried once the shard is whole, nothing is uncertain any more.
    expect(Object.keys(summary.retries).filter((k) => !['201', '200', '404 HOLD_NOT_FOUND'].includes(k))).toEqual([]);
    expect(confirms.filter((c) => c.start > recoveredAt && c.status === 201).length).toBeGreaterThan(0);

    if (waitReplicas === 0) {
      // The master answered 201 for confirms only it had: the fault was provoked, and they are gone.
      expect(summary.window201).toBeGreaterThan(0);
      expect(summary.lost).toBeGreaterThan(0);
    } else {
      // While the replica could not acknowledge, no confirm was told 201...
      expect(summary.window201).toBe(0);
      expect(confirms.filter(inWindow).length).toBeGreaterThan(0);
      // ...and every order a buyer was told about is on the new master, its seats sold to it.
      expect(lost.map((c) => c.orderId)).toEqual([]);
      for (const c of told) for (const s of c.seatIds) expect(`${s} ${seats[s]}`).toBe(`${s} s:${c.orderId}`);
    }
    await expectCleanAudit(app, eventId);
  }, 120_000);
});
