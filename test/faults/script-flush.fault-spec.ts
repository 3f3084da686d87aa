import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { startApp, TestApp } from '../support/app-harness';
import { expectCleanAudit } from '../support/flows';
import { startTopology, Topology, TOPOLOGIES } from '../support/topology';
import { FAULT_LOG_LEVEL, LoadLoop, LOAD_CAPACITY, prepareLoad, report, show, sleep, tally, unexpectedCalls } from './load';

// SCRIPT FLUSH (what a Redis restart, a failover or an operator does to the
// script cache) on every master, once a second for 5 s, under load: every
// EVALSHA that meets an empty cache gets NOSCRIPT and must be re-sent with the
// script body on the same node, so not a single request may fail.

describe.each(TOPOLOGIES)('SCRIPT FLUSH every second on every master of %s Redis, under load', (name) => {
  let topology: Topology;
  let app: TestApp;
  let masters: Redis[] = [];

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp({ ...topology.env, ...FAULT_LOG_LEVEL });
    masters = await topology.masters();
  }, 60_000);
  afterAll(async () => {
    masters.forEach((m) => m.disconnect());
    await app?.close();
    await topology?.stop();
  });

  it('fails no request, and every event audits clean', async () => {
    const { eventIds, users, joiners, readers } = await prepareLoad(app, 'flush');
    await Promise.all(masters.map((m) => m.config('RESETSTAT')));
    const load = new LoadLoop({ users, joiners, readers, capacity: LOAD_CAPACITY, maxRequests: 30_000, maxDurationMs: 8_000 }).start();
    const t0 = performance.now();
    await sleep(500);
    let flushes = 0;
    for (let i = 0; i < 5; i += 1) {
      await Promise.all(masters.map((m) => m.script('FLUSH')));
      flushes += masters.length;
      await sleep(1000);
    }
    await load.stop();

    report(`flush on ${name}`, load.calls);
    const loadTally = tally(load.calls);
    const bad = unexpectedCalls(load.calls);
    expect({ bad: show(bad, t0), tally: loadTally }).toEqual({ bad: [], tally: loadTally });
    expect(flushes).toBe(5 * masters.length);
    // The flushes did bite: EVALSHA met NOSCRIPT and the body was sent again (EVAL).
    const stats = await Promise.all(masters.map((m) => m.info('all')));
    const total = (pattern: RegExp) => stats.reduce((sum, text) => sum + Number(pattern.exec(text)?.[1] ?? 0), 0);
    expect(total(/^errorstat_NOSCRIPT:count=(\d+)/m)).toBeGreaterThan(0);
    expect(total(/^cmdstat_eval:calls=(\d+)/m)).toBeGreaterThan(0);
    // The load did run through the flushes, and changed state all along.
    const during = load.calls.filter((c) => c.start > t0 + 500 && c.end < t0 + 5500);
    expect(during.length).toBeGreaterThan(200);
    expect(load.holds.filter((h) => h.fate === 'confirmed').length).toBeGreaterThan(0);
    for (const eventId of eventIds) await expectCleanAudit(app, eventId);
    expect((await app.request('GET', '/health/ready')).status).toBe(200);
  }, 60_000);
});
