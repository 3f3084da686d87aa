import { performance } from 'node:perf_hooks';
import { startApp, TestApp } from '../support/app-harness';
import { expectCleanAudit } from '../support/flows';
import { startRedis } from '../support/redis-harness';
import { FAULT_LOG_LEVEL, LoadLoop, LOAD_CAPACITY, Poller, prepareLoad, report, show, sleep, tally, unexpectedCalls } from './load';

// Redis frozen (SIGSTOP) for 2 s under load: its connections stay open and
// nothing answers, the worst case for a client (no error, just silence).
// CONTRACT §2: requests never hang; each answers 503 UNAVAILABLE within
// REDIS_COMMAND_TIMEOUT_MS. The bound checked is that timeout + 200 ms.

const COMMAND_TIMEOUT_MS = 500;
const BOUND_MS = COMMAND_TIMEOUT_MS + 200;

describe('Redis frozen (SIGSTOP) for 2 s, under load', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), ...FAULT_LOG_LEVEL });
  }, 60_000);
  afterAll(async () => {
    redis?.thaw();
    await app?.close();
    await redis?.cleanup();
  });

  it(`answers every request within REDIS_COMMAND_TIMEOUT_MS + 200 ms (${BOUND_MS} ms), and all is well after the thaw`, async () => {
    const { eventIds, users, joiners, readers } = await prepareLoad(app, 'freeze');
    const ready = new Poller(`${app.url}/health/ready`, 100).start();
    // The client gives up after 5 s: a request still open then is a hang.
    const load = new LoadLoop({ users, joiners, readers, capacity: LOAD_CAPACITY, maxRequests: 30_000, maxDurationMs: 15_000, requestTimeoutMs: 5000 }).start();
    const t0 = performance.now();

    await sleep(1000);
    const freezeAt = performance.now();
    redis.freeze();
    await sleep(2000);
    redis.thaw();
    const thawAt = performance.now();
    const readyAt = await ready.waitFor(200, thawAt, 10_000);
    await sleep(1500);
    await load.stop();
    await ready.stop();
    report('freeze', load.calls);
    if (process.env.FAULTS_VERBOSE) process.stdout.write(`slowest: ${Math.round(Math.max(...load.calls.map((c) => c.end - c.start)))} ms\n`);

    // 1. Nothing hung: every request (and every readiness probe) answered within the bound.
    const slow = load.calls.filter((c) => c.status === 0 || c.end - c.start > BOUND_MS);
    expect(show(slow, t0)).toEqual([]);
    const slowProbes = ready.samples.filter((s) => s.status === 0 || s.end - s.start > BOUND_MS);
    expect(slowProbes.map((s) => `${s.status} in ${Math.round(s.end - s.start)} ms`)).toEqual([]);

    // 2. Contract answers only; 503 UNAVAILABLE only for requests sent before the thaw that were still open during the freeze.
    const bad = unexpectedCalls(load.calls, (c) => c.end >= freezeAt && c.start < thawAt);
    const loadTally = tally(load.calls);
    expect({ bad: show(bad, t0), tally: loadTally }).toEqual({ bad: [], tally: loadTally });
    expect(load.calls.filter((c) => c.status === 503).length).toBeGreaterThan(0);

    // 3. Readiness said 503 while frozen, 200 after; the load went on after the thaw.
    expect(ready.samples.some((s) => s.start > freezeAt && s.end < thawAt && s.status === 503)).toBe(true);
    expect(ready.samples.filter((s) => s.start > readyAt).every((s) => s.status === 200)).toBe(true);
    const after = load.calls.filter((c) => c.start > thawAt);
    expect(after.filter((c) => c.op === 'hold' && c.status === 201).length).toBeGreaterThan(0);

    for (const eventId of eventIds) await expectCleanAudit(app, eventId);
  }, 60_000);
});
