import type Redis from 'ioredis';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { Admitted, expectCleanAudit, joinAndAdmit } from './support/flows';
import { RedisProcess, startRedis, startReplica } from './support/redis-harness';

// REDIS_WAIT_REPLICAS=1 against a master with one replica. The replica is
// frozen (SIGSTOP) to play a replica that is behind: a confirm then cannot be
// acknowledged, and must not answer 201.

const WAIT_TIMEOUT_MS = 300;

const ordersOn = async (client: Redis, eventId: string) =>
  (await client.xrange(`qg:{${eventId}}:orders`, '-', '+')).map(([, fields]) => fields[fields.indexOf('orderId') + 1]);

/** A sample's value from Prometheus text: `series` is the name with its labels, as printed. */
const metric = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const scrape = async (a: TestApp) => (await fetch(`${a.url}/metrics`)).text();
const waits = async (a: TestApp) => {
  const text = await scrape(a);
  return { acked: metric(text, 'queuegate_redis_wait_total{outcome="acked"}'), timeout: metric(text, 'queuegate_redis_wait_total{outcome="timeout"}') };
};

describe('durable confirm: REDIS_WAIT_REPLICAS=1 on a master with one replica', () => {
  let master: RedisProcess & { cleanup: () => Promise<void> };
  let replica: RedisProcess & { cleanup: () => Promise<void> };
  let masterClient: Redis;
  let replicaClient: Redis;
  /** two replicas of the service on the same Redis, as two pods */
  let app: TestApp;
  let other: TestApp;

  beforeAll(async () => {
    master = await startRedis();
    replica = await startReplica(master);
    masterClient = master.client();
    replicaClient = replica.client();
    const env = { REDIS_URL: master.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS) };
    app = await startApp(env);
    other = await startApp(env);
  }, 60_000);
  afterAll(async () => {
    replica?.thaw();
    masterClient?.disconnect();
    replicaClient?.disconnect();
    await app?.close();
    await other?.close();
    await replica?.cleanup();
    await master?.cleanup();
  });

  async function admittedHold(eventId: string, userId: string, seatIds: string[]): Promise<{ user: Admitted; holdId: string }> {
    const user = await joinAndAdmit(app, eventId, userId);
    const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds }, user.auth);
    expect(hold.status).toBe(201);
    return { user, holdId: hold.body.holdId };
  }

  it('answers 201 only once the replica has the order', async () => {
    const eventId = uniqueId('durable-ok');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000 } });
    const { user, holdId } = await admittedHold(eventId, 'u1', ['GA-1']);
    const confirm = await app.request('POST', `/v1/events/${eventId}/holds/${holdId}/confirm`, {}, user.auth);
    expect(confirm.status).toBe(201);
    // Acknowledged by WAIT means applied on the replica: it is there without waiting for anything.
    expect(await ordersOn(replicaClient, eventId)).toEqual([confirm.body.orderId]);
    expect(await replicaClient.hget(`qg:{${eventId}}:seats`, 'GA-1')).toBe(`s:${confirm.body.orderId}`);
  });

  it('a replica behind: 503 with Retry-After, the outcome told uncertain; the retry answers the order once it is safe', async () => {
    const eventId = uniqueId('durable-lag');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000 } });
    const { user, holdId } = await admittedHold(eventId, 'u1', ['GA-1', 'GA-2']);
    const headers = { ...user.auth, 'idempotency-key': 'confirm-once-0001' };
    const confirmPath = `/v1/events/${eventId}/holds/${holdId}/confirm`;
    const before = await waits(app);

    replica.freeze();
    try {
      const first = await app.request('POST', confirmPath, {}, headers);
      expect(first.status).toBe(503);
      expect(first.body.code).toBe('UNAVAILABLE');
      expect(first.body.message).toMatch(/not yet certain/);
      expect(first.body.message).toMatch(/same Idempotency-Key/);
      expect(first.headers.get('retry-after')).toBe('1');
      expect(first.ms).toBeGreaterThanOrEqual(WAIT_TIMEOUT_MS - 20);
      // The order is on the master, which is why the answer is "not certain" rather than "failed".
      const onMaster = await ordersOn(masterClient, eventId);
      expect(onMaster).toHaveLength(1);

      // The retries wait too, on this replica of the service and on another one (a fresh connection,
      // whose WAIT would count nothing of its own without the marker written first): still 503.
      for (const a of [app, other]) {
        const again = await a.request('POST', confirmPath, {}, headers);
        expect({ status: again.status, code: again.body.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
      }
      // Without a key too (the already-confirmed answer): 503 while it is not safe.
      const unkeyed = await other.request('POST', confirmPath, {}, user.auth);
      expect(unkeyed.status).toBe(503);

      // Readiness stays 200 (the queue and holds work on) and shows the replica falling behind.
      const ready = await app.request('GET', '/health/ready');
      expect(ready.status).toBe(200);
      const replication = ready.body.details.redis.replication;
      expect(replication.waitReplicas).toBe(1);
      expect(replication.masters).toHaveLength(1);
      expect(replication.masters[0].replicas).toHaveLength(1);
      expect(replication.masters[0].replicas[0].lagBytes).toBeGreaterThan(0);
      // Holds do not wait for replicas (docs/design.md, Reliability: why), so they go on while it is behind.
      const hold = await app.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-3'] }, user.auth);
      expect(hold.status).toBe(201);

      // This service replica waited twice (the first confirm and its retry), in vain both times.
      expect(await waits(app)).toEqual({ acked: before.acked, timeout: before.timeout! + 2 });
      const during = await scrape(app);
      // ...and each wait took the whole timeout.
      expect(metric(during, 'queuegate_redis_wait_duration_seconds_count{outcome="timeout"}')).toBe(before.timeout! + 2);
      expect(metric(during, 'queuegate_redis_wait_duration_seconds_bucket{le="0.25",outcome="timeout"}')).toBe(0);
      const lag = during.split('\n').find((l) => l.startsWith('queuegate_redis_replication_lag_bytes{'));
      expect(lag).toContain(`replica="127.0.0.1:${replica.port}"`);
      expect(Number(lag!.split(' ').pop())).toBeGreaterThan(0);
      expect(metric(during, `queuegate_redis_connected_replicas{master="127.0.0.1:${master.port}"}`)).toBe(1);
    } finally {
      replica.thaw();
    }

    // Once the replica has caught up, the same retry answers the first order: 201 with the key, 200 without.
    // (It catches up within a moment of SIGCONT; a retry before that would answer 503 again.)
    let retried = await other.request('POST', confirmPath, {}, headers);
    for (let i = 0; retried.status === 503 && i < 20; i += 1) {
      await new Promise((r) => setTimeout(r, 200));
      retried = await other.request('POST', confirmPath, {}, headers);
    }
    expect(retried.status).toBe(201);
    expect(await ordersOn(replicaClient, eventId)).toEqual([retried.body.orderId]);
    const unkeyed = await app.request('POST', confirmPath, {}, user.auth);
    expect({ status: unkeyed.status, orderId: unkeyed.body.orderId }).toEqual({ status: 200, orderId: retried.body.orderId });
    expect((await waits(other)).acked).toBeGreaterThanOrEqual(1);
    await expectCleanAudit(app, eventId);
  });

  it('more confirms waiting than connections to wait on: the overflow answers 503 after waiting one command timeout for a connection', async () => {
    // 700 ms WAITs and a 1000 ms command timeout: with the replica frozen, the first 32 confirms (the pool)
    // hold every connection for 700 ms, the next 32 get theirs in time, and those after give up waiting
    // for a connection after 1000 ms. The WAIT ends 300 ms (BUSY_MACHINE_MARGIN_MS) before the command
    // timeout: with 900 ms, two concurrent test runs made a WAIT's answer arrive after its 1000 ms timeout
    // ("not reachable", a third kind of 503).
    const crowded = await startApp({ REDIS_URL: master.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '700', REDIS_COMMAND_TIMEOUT_MS: '1000' });
    try {
      const eventId = uniqueId('durable-crowd');
      await crowded.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000 } });
      const user = await joinAndAdmit(crowded, eventId, 'u1');
      const hold = await crowded.request('POST', `/v1/events/${eventId}/holds`, { seatIds: ['GA-1'] }, user.auth);
      expect(hold.status).toBe(201);
      replica.freeze();
      let answers;
      try {
        answers = await Promise.all(
          Array.from({ length: 100 }, () => crowded.request('POST', `/v1/events/${eventId}/holds/${hold.body.holdId}/confirm`, {}, user.auth)),
        );
      } finally {
        replica.thaw();
      }
      const kinds = answers.map((a) => `${a.status} ${a.body.code} ${/not yet certain/.test(a.body.message) ? 'uncertain' : /Too many confirms/.test(a.body.message) ? 'crowded' : a.body.message}`);
      const counts = kinds.reduce<Record<string, number>>((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});
      expect(Object.keys(counts).sort()).toEqual(['503 UNAVAILABLE crowded', '503 UNAVAILABLE uncertain']);
      expect(counts['503 UNAVAILABLE uncertain']).toBeGreaterThanOrEqual(32);
      expect(answers.every((a) => a.headers.get('retry-after') === '1')).toBe(true);
      // One order all the same.
      expect(await ordersOn(masterClient, eventId)).toHaveLength(1);
    } finally {
      await crowded.close();
    }
  });

  it('a confirm refused by the script (hold unknown) answers at once: nothing to wait for', async () => {
    const eventId = uniqueId('durable-404');
    await app.createEvent(eventId, { capacity: 10, admission: { ratePerSecond: 1000 } });
    const user = await joinAndAdmit(app, eventId, 'u1');
    const before = await waits(app);
    replica.freeze();
    try {
      const r = await app.request('POST', `/v1/events/${eventId}/holds/AAAAAAAAAAAAAAAA/confirm`, {}, user.auth);
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('HOLD_NOT_FOUND');
      expect(await waits(app)).toEqual(before);
    } finally {
      replica.thaw();
    }
  });
});
