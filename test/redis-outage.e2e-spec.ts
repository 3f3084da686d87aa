import { HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { BUSY_MACHINE_MARGIN_MS, expectError, pollUntil, ticketSeq } from './support/inspect';
import { startRedis } from './support/redis-harness';

const COMMAND_TIMEOUT_MS = 500;
/**
 * CONTRACT §2: a request answers within REDIS_COMMAND_TIMEOUT_MS + 200 ms, timed
 * by the service from the request's arrival to its answer (HttpResult.serverMs).
 * The test's own clock also counts waiting for the shared event loop, so it gets
 * the busy-machine margin on top: nothing hangs, seen from the client either.
 */
const ANSWER_BUDGET_MS = COMMAND_TIMEOUT_MS + 200;
const CLIENT_BUDGET_MS = ANSWER_BUDGET_MS + BUSY_MACHINE_MARGIN_MS;

/**
 * Redis going away under a running app (single node: the harness owns the
 * process). Requests answer 503 UNAVAILABLE within the command timeout and
 * never hang; readiness says so; when Redis is back the same app serves again.
 */
describe('when Redis is unreachable (single node)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let eventId: string;

  beforeAll(async () => {
    // Append-only file on, so the data (the event) is still there after a restart.
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    // LOG_LEVEL fatal: the 503s below are expected, not worth a log line each.
    app = await startApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), LOG_LEVEL: 'fatal' });
    eventId = uniqueId('outage');
    await app.createEvent(eventId, { capacity: 10, queue: 'streams' });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
  });
  afterAll(async () => {
    redis?.thaw();
    await app?.close();
    await redis?.cleanup();
  });

  let users = 0;
  const join = () => app.request('POST', `/v1/events/${eventId}/queue`, { userId: `u${(users += 1)}` });

  function expectFast(r: HttpResult): void {
    expect(r.serverMs).toBeLessThan(ANSWER_BUDGET_MS);
    expect(r.ms).toBeLessThan(CLIENT_BUDGET_MS);
  }

  function expectFastUnavailable(results: HttpResult[]): void {
    for (const r of results) {
      expectError(r, 503, 'UNAVAILABLE');
      expectFast(r);
    }
  }

  it('stopped: joins and readiness answer 503 fast; restarted: ready again and joins succeed without restarting the app', async () => {
    const first = await join();
    expect(first.status).toBe(202);
    expect((await app.request('GET', '/health/ready')).status).toBe(200);

    await redis.stop();

    // One at a time, then a burst: none waits for Redis.
    const sequential: HttpResult[] = [];
    for (let i = 0; i < 5; i += 1) sequential.push(await join());
    expectFastUnavailable(sequential);
    expectFastUnavailable(await Promise.all(Array.from({ length: 20 }, join)));
    expectFastUnavailable([
      await app.request('GET', `/v1/events/${eventId}`),
      await app.request('GET', `/v1/events/${eventId}/queue/${first.body.ticket}`),
      await app.admin('POST', '/v1/events', { eventId: uniqueId('outage-new'), capacity: 1 }),
    ]);
    const ready = await app.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expectFast(ready);
    // Liveness checks nothing external: the process is fine.
    expect((await app.request('GET', '/health/live')).status).toBe(200);

    await redis.start();

    const back = await pollUntil(() => app.request('GET', '/health/ready'), (r) => r.status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    expect(back.value.body.status).toBe('ok');
    const joined = await pollUntil(join, (r) => r.status === 202, { timeoutMs: 10_000, intervalMs: 100 });
    // The event survived (append-only file) and the refused joins took no place in line.
    expect(joined.value.body.position).toBe(2);
    expect(ticketSeq(joined.value.body.ticket)).toBe(ticketSeq(first.body.ticket) + 1);
    expect((await app.request('GET', `/v1/events/${eventId}/queue/${first.body.ticket}`)).body).toMatchObject({ status: 'waiting', position: 1 });
  });

  it('frozen (SIGSTOP): a join answers 503 within the command timeout + 200 ms; thawed: joins succeed again', async () => {
    expect((await join()).status).toBe(202);

    redis.freeze();
    let frozen: HttpResult[];
    let ready: HttpResult;
    try {
      // Staggered, one every 100 ms for 1.2 s, so that most of them arrive
      // while earlier commands (and the admitter's) are still waiting on Redis.
      frozen = await Promise.all(
        Array.from({ length: 12 }, (_, i) => new Promise((r) => setTimeout(r, i * 100)).then(join)),
      );
      ready = await app.request('GET', '/health/ready');
    } finally {
      redis.thaw();
    }
    expectFastUnavailable(frozen);
    // It did wait for Redis (the timeout), rather than failing on something else.
    for (const r of frozen) expect(r.serverMs).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
    expect(ready.status).toBe(503);
    expectFast(ready);

    const joined = await pollUntil(join, (r) => r.status === 202, { timeoutMs: 10_000, intervalMs: 100 });
    expect(joined.value.body.queue).toBe('streams');
    expect((await app.request('GET', '/health/ready')).status).toBe(200);
  });
});
