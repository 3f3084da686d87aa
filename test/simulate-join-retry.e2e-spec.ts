import { createServer, request as forward, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { runCrowd } from '../scripts/simulate/crowd';
import { Http } from '../scripts/simulate/http';
import { parseOptions } from '../scripts/simulate/options';
import { ADMIN_TOKEN, TestApp, uniqueId } from './support/app-harness';
import { startTopologyApp, stopTopologyApp, Topology } from './support/topology';

/**
 * The simulator's crowd retries a join answered 503 the way a real client
 * does: with the Idempotency-Key it sent the first time. In front of the real
 * service, a proxy passes every person's first join through to Redis and then
 * answers it 503 (what a timed-out Redis call looks like under load): the join
 * went through, the answer did not. Without the key the retry meets 409
 * DUPLICATE and the person loses their place (`lost`); with it, everyone gets
 * their ticket back and the run ends with no one lost.
 */

const USERS = 40;
const SEATS = 20;

/** Forwards everything to `target`; a join is forwarded, but each user's first one is answered 503 instead. */
function lossyProxy(target: string): { server: Server; answered503: () => number } {
  const upstream = new URL(target);
  const seen = new Set<string>();
  let answered503 = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const out = forward(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const isJoin = req.method === 'POST' && /^\/v1\/events\/[^/]+\/queue$/.test(req.url ?? '');
            const userId = isJoin ? String(JSON.parse(body.toString('utf8') || '{}').userId) : '';
            if (isJoin && answer.statusCode === 202 && !seen.has(userId)) {
              seen.add(userId);
              answered503 += 1;
              res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
              res.end(JSON.stringify({ code: 'UNAVAILABLE', message: 'the answer was lost on the way (test proxy)' }));
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(parts));
          });
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  return { server, answered503: () => answered503 };
}

jest.setTimeout(120_000);

describe('simulator: a join answered 503 after it went through', () => {
  let topology: Topology;
  let app: TestApp;
  let proxy: ReturnType<typeof lossyProxy>;
  let base: string;

  beforeAll(async () => {
    ({ topology, app } = await startTopologyApp('single'));
    proxy = lossyProxy(app.url);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => proxy?.server.close(resolve));
    await stopTopologyApp(topology, app);
  });

  it('keeps every person\'s place: the retry with the same Idempotency-Key gets the ticket back', async () => {
    const eventId = uniqueId('sim-retry');
    const o = parseOptions([
      '--users', String(USERS), '--seats', String(SEATS), '--event', eventId,
      '--think', '0', '--confirm', '1', '--release', '0', '--expire', '0',
      '--hold-ttl', '10', '--session-ttl', '30', '--rate', '100', '--max-active', '40', '--poll-max', '1', '--connections', '20',
    ]);
    await app.createEvent(eventId, {
      capacity: SEATS,
      holdTtlSeconds: o.holdTtl,
      maxSeatsPerUser: o.maxSeatsPerUser,
      admission: { ratePerSecond: o.rate, maxActive: o.maxActive, sessionTtlSeconds: o.sessionTtl },
    });
    const http = new Http(base, o.connections);
    try {
      const run = await runCrowd(http, o, base, { authorization: `Bearer ${ADMIN_TOKEN}` }, () => undefined, false);
      // Every person's first join was answered 503 although it went through.
      expect(proxy.answered503()).toBe(USERS);
      expect(http.statuses.get('join')?.get('409 DUPLICATE') ?? 0).toBe(0);
      expect({ lost: run.outcomes.lost, joined: run.tallies.joined, joinFailed: run.tallies.joinFailed }).toEqual({ lost: 0, joined: USERS, joinFailed: 0 });
      expect(Object.values(run.outcomes).reduce((a, b) => a + b, 0)).toBe(USERS);
      expect(run.outcomes.bought).toBeGreaterThan(0);
    } finally {
      http.close();
    }
  });
});
