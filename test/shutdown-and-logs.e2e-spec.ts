import { ADMIN_TOKEN } from './support/app-harness';
import { ServiceProcess, startService } from './support/process-harness';
import { startRedis } from './support/redis-harness';

const DRAIN_MS = 1500;

describe('a real process: JSON logs without secrets, graceful SIGTERM under load', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService({ REDIS_URL: redis.url, SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LOG_LEVEL: 'log' });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.cleanup();
  });

  const call = (path: string, init: RequestInit = {}) => fetch(service.url + path, init);
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  it('logs one JSON line per request with its request id, and never a token or ticket', async () => {
    expect((await call('/v1/events', { method: 'POST', headers: admin, body: JSON.stringify({ eventId: 'logs', capacity: 5 }) })).status).toBe(201);
    const joined = await call('/v1/events/logs/queue', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me-123' },
      body: JSON.stringify({ userId: 'logger' }),
    });
    expect(joined.headers.get('x-request-id')).toBe('trace-me-123');
    const { ticket } = (await joined.json()) as { ticket: string };
    let token = '';
    for (let i = 0; i < 100 && !token; i += 1) {
      const status = (await (await call(`/v1/events/logs/queue/${ticket}`)).json()) as { accessToken?: string };
      token = status.accessToken ?? '';
      if (!token) await new Promise((r) => setTimeout(r, 50));
    }
    expect(token).not.toBe('');
    const hold = await call('/v1/events/logs/holds', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ quantity: 1 }),
    });
    expect(hold.status).toBe(201);
    await new Promise((r) => setTimeout(r, 200));

    const lines = service.output.map((line) => JSON.parse(line) as Record<string, any>);
    const requests = lines.filter((l) => l.context === 'HTTP').map((l) => l.message);
    const join = requests.find((r) => r.requestId === 'trace-me-123');
    expect(join).toMatchObject({ method: 'POST', route: '/v1/events/:eventId/queue', status: 202, eventId: 'logs' });
    expect(typeof join.durationMs).toBe('number');
    expect(requests.find((r) => r.route === '/v1/events/:eventId/holds')).toMatchObject({ status: 201 });
    const all = service.output.join('\n');
    for (const secret of [token, token.split('.')[2], ADMIN_TOKEN, ticket, ticket.split('.')[1]]) {
      expect(all.includes(secret)).toBe(false);
    }
  });

  it('on SIGTERM turns readiness 503 at once, serves the drain period without a reset, then exits cleanly', async () => {
    let stop = false;
    const outcomes: { startedAt: number; status: number | 'network-error'; error?: string }[] = [];
    // Keep-alive load from 20 concurrent callers, bounded in time.
    const load = Array.from({ length: 20 }, async () => {
      const until = Date.now() + 10_000;
      while (!stop && Date.now() < until) {
        const startedAt = Date.now();
        try {
          const r = await call('/v1/events/logs');
          await r.arrayBuffer();
          outcomes.push({ startedAt, status: r.status });
        } catch (err) {
          outcomes.push({ startedAt, status: 'network-error', error: String((err as Error).cause ?? err) });
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const sigtermAt = Date.now();
    service.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const ready = await call('/health/ready');
    expect(ready.status).toBe(503);
    const exitCode = await service.waitForExit();
    stop = true;
    await Promise.all(load);

    // Nest closes everything, then re-raises the signal so the exit says why.
    expect([0, 'SIGTERM']).toContain(exitCode);
    expect(service.output.some((l) => l.includes('readiness is now 503'))).toBe(true);
    const duringDrain = outcomes.filter((o) => o.startedAt < sigtermAt + DRAIN_MS - 100);
    expect(duringDrain.length).toBeGreaterThan(50);
    expect(duringDrain.filter((o) => o.status !== 200)).toEqual([]);
    // After the drain the server closes: a request on a kept-alive socket then
    // gets 503 (Fastify's return503OnClosing) or a refused connection, never a wrong answer.
    const later = outcomes.filter((o) => o.startedAt >= sigtermAt + DRAIN_MS);
    expect(later.filter((o) => ![200, 503, 'network-error'].includes(o.status))).toEqual([]);
  });
});
