import { QueueRepository } from '../src/queue/queue.repository';
import { formatTicket, ticketKey } from '../src/queue/ticket';
import { Sweeper } from '../src/seat/sweeper';
import { ACCESS_TOKEN_SECRET, startApp, TestApp, uniqueId } from './support/app-harness';
import { pollUntil } from './support/inspect';
import { counters, pool, sleep } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/**
 * Issue 11 item 6 (CONTRACT "Scale"): idle events cost nothing. With 1,000
 * events nobody uses and two replicas ticking admission every 20 ms, the
 * replicas run (almost) no admit or sweep scripts: one cheap read per event
 * per replica per second is all. An event that gets busy again is served at
 * once, and its holds still come back within 1 s of expiry (invariant 3).
 */
describe.each(TOPOLOGIES)('idle events on %s Redis', (name) => {
  const EVENTS = 1000;
  const REPLICAS = 2;
  let topology: Topology;
  let apps: TestApp[];
  const ids = Array.from({ length: EVENTS }, (_, i) => uniqueId(`idle${i}`));

  beforeAll(async () => {
    topology = await startTopology(name);
    apps = [];
    for (let i = 0; i < REPLICAS; i += 1) apps.push(await startApp({ ...topology.env, ADMIT_TICK_MS: '20' }));
    await pool(ids, 20, (eventId, i) =>
      apps[i % REPLICAS].createEvent(eventId, { capacity: 4, holdTtlSeconds: 1, admission: { ratePerSecond: 100_000, maxActive: 1_000_000 } }),
    );
  }, 180_000);
  afterAll(async () => {
    await Promise.all((apps ?? []).map((a) => a.close()));
    await topology?.stop();
  });

  /** Calls per command over every master (INFO commandstats). */
  async function commandStats(): Promise<Map<string, number>> {
    const masters = await topology.masters();
    try {
      const out = new Map<string, number>();
      for (const node of masters) {
        for (const [, cmd, calls] of (await node.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
          out.set(cmd, (out.get(cmd) ?? 0) + Number(calls));
        }
      }
      return out;
    } finally {
      masters.forEach((m) => m.disconnect());
    }
  }

  async function perSecond(ms: number): Promise<Record<string, number>> {
    const before = await commandStats();
    await sleep(ms);
    const after = await commandStats();
    const rates: Record<string, number> = {};
    for (const [cmd, calls] of after) {
      const delta = calls - (before.get(cmd) ?? 0);
      if (delta > 0) rates[cmd] = Math.round((delta * 1000) / ms);
    }
    // the INFO calls of this measurement
    if (rates.info !== undefined) delete rates.info;
    return rates;
  }

  it(`1,000 idle events, ${REPLICAS} replicas: admit/sweep scripts per second <= 2 x replicas, one cheap read per event per replica per second`, async () => {
    await sleep(2500); // both replicas have looked at every event (once a second)
    const rates = await perSecond(5000);
    console.log(`[${name}] ${EVENTS} idle events, ${REPLICAS} replicas, calls per second: ${JSON.stringify(rates)}`);
    // Script runs are EVALSHA, or EVAL for ioredis's first call of a script on a connection.
    expect((rates.evalsha ?? 0) + (rates.eval ?? 0)).toBeLessThanOrEqual(2 * REPLICAS);
    // One HMGET per event per replica per second (a 5 s window holds 5 or 6 rounds of each replica).
    expect(rates.hmget ?? 0).toBeLessThanOrEqual((EVENTS * REPLICAS * 6) / 5);
    expect(rates.hmget ?? 0).toBeGreaterThanOrEqual((EVENTS * REPLICAS * 4) / 5);
    // Nothing else per event: the rest is a few calls per replica (registry read, flags).
    const others = Object.entries(rates).filter(([cmd]) => !['hmget', 'evalsha', 'eval'].includes(cmd));
    expect(others.reduce((sum, [, r]) => sum + r, 0)).toBeLessThanOrEqual(10 * REPLICAS);
  });

  it('an idle event that gets a join is admitted at once; its holds expire within 1 s even by a replica that did not take them', async () => {
    const eventId = ids[EVENTS / 2];
    const joined = await apps[0].request('POST', `/v1/events/${eventId}/queue`, { userId: 'back' });
    expect(joined.status).toBe(202);
    // Read the ticket without running admission ourselves: the background loops must do it.
    const { elapsedMs } = await pollUntil(
      () => apps[1].request('GET', `/v1/events/${eventId}/queue/${joined.body.ticket}`),
      (r) => r.status === 200 && r.body.status === 'admitted',
      { timeoutMs: 5000, intervalMs: 20 },
    );
    console.log(`[${name}] join on an idle event admitted after ${Math.round(elapsedMs)} ms`);
    const token = (await apps[1].request('GET', `/v1/events/${eventId}/queue/${joined.body.ticket}`)).body.accessToken;

    // Replica 0 takes the hold with its sweeper stopped: replica 1 has to learn of it by itself.
    await apps[0].app.get(Sweeper).stop();
    try {
      const held = await apps[0].request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, { authorization: `Bearer ${token}` });
      expect(held.status).toBe(201);
      const expiresAt = Date.parse(held.body.expiresAt);
      await pollUntil(() => counters(apps[1], eventId), (c) => c.held === 0, { timeoutMs: 10_000, intervalMs: 20 });
      const late = Date.now() - expiresAt;
      console.log(`[${name}] hold on a formerly idle event back ${late} ms after expiresAt`);
      expect(late).toBeLessThan(1000 + 200); // 200 ms: the poll's own request
      expect(await counters(apps[1], eventId)).toEqual({ available: 4, held: 0, sold: 0 });
    } finally {
      apps[0].app.get(Sweeper).onApplicationBootstrap();
    }
  });

  it('a join no replica saw (straight into Redis) is found by the once-a-second look and admitted', async () => {
    const eventId = ids[EVENTS / 2 + 1];
    const r = await apps[0].app.get(QueueRepository).join(eventId, 'direct', '', { sortKey: '', epoch: '' }, 100, { answerExisting: false, nonce: 7 });
    if (r.kind !== 'joined') throw new Error(`join: ${r.kind}`);
    const started = performance.now();
    await waitForAdmissionWithoutTicks(apps[1], eventId, formatTicket(ticketKey(ACCESS_TOKEN_SECRET), eventId, r.epoch, { kind: 's', n: r.seq, nonce: r.nonce }));
    console.log(`[${name}] join unseen by the replicas admitted after ${Math.round(performance.now() - started)} ms`);
  });

  /** Polls a ticket until admitted, without running admission (waitForAdmission would). */
  async function waitForAdmissionWithoutTicks(app: TestApp, eventId: string, ticket: string) {
    await pollUntil(
      () => app.request('GET', `/v1/events/${eventId}/queue/${ticket}`),
      (r) => r.status === 200 && r.body.status === 'admitted',
      { timeoutMs: 5000, intervalMs: 50 },
    );
  }
});
