import { KeyBuilder } from '../src/redis/keys';
import { countStatuses, HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError } from './support/inspect';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/**
 * JOIN_RATE_PER_MINUTE (docs/api.md): joins per client
 * address per minute across every replica, counted in Redis; over it 429
 * RATE_LIMITED with Retry-After. The address is the socket peer, or with
 * TRUST_PROXY_HOPS the hops-th entry from the right of X-Forwarded-For.
 */
const LIMIT = 30;

describe.each(TOPOLOGIES)('join rate per client address on %s Redis', (name) => {
  let topology: Topology;
  let replicas: TestApp[] = [];
  let direct: TestApp;

  beforeAll(async () => {
    topology = await startTopology(name);
    const behindProxy = { ...topology.env, JOIN_RATE_PER_MINUTE: String(LIMIT), TRUST_PROXY_HOPS: '1' };
    replicas = [await startApp(behindProxy), await startApp(behindProxy)];
    direct = await startApp({ ...topology.env, JOIN_RATE_PER_MINUTE: String(LIMIT) });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([...replicas, direct].filter(Boolean).map((a) => a.close()));
    await topology?.stop();
  });

  const join = (app: TestApp, eventId: string, userId: string, forwardedFor?: string): Promise<HttpResult> =>
    app.request('POST', `/v1/events/${eventId}/queue`, { userId }, forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor });

  const counter = async (address: string): Promise<string | null> => {
    const client = topology.client();
    try {
      return await client.get(replicas[0].app.get(KeyBuilder).joinRate(address));
    } finally {
      client.disconnect();
    }
  };

  it('two replicas share the count: the 31st join from one address in the minute is 429 with Retry-After; another address is unaffected', async () => {
    const eventId = uniqueId('rate');
    await replicas[0].createEvent(eventId, { capacity: 100 });
    expect((await replicas[0].admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const address = '203.0.113.7';
    // Spread over both replicas, in parallel: the limit holds across them.
    const first = await Promise.all(
      Array.from({ length: LIMIT }, (_, i) => join(replicas[i % 2], eventId, `fan-${i}`, `198.51.100.1, ${address}`)),
    );
    expect(countStatuses(first)).toEqual({ 202: LIMIT });
    expect(await counter(address)).toBe(String(LIMIT));

    for (const replica of replicas) {
      const over = await join(replica, eventId, 'one-too-many', address);
      expectError(over, 429, 'RATE_LIMITED');
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // A refused join does not add to the count (nor join anyone).
    expect(await counter(address)).toBe(String(LIMIT));
    expect((await replicas[0].request('GET', `/v1/events/${eventId}`)).body.waiting).toBe(LIMIT);
    // What the client writes left of the proxy's entry is not trusted: still the same address.
    expectError(await join(replicas[1], eventId, 'spoofer', `192.0.2.99, ${address}`), 429, 'RATE_LIMITED');

    // Another client, IPv6 (':' in the address; the key holds a hash of it): unaffected.
    const v6 = '2001:db8::7';
    const other = await join(replicas[1], eventId, 'fan-v6', v6);
    expect(other.status).toBe(202);
    expect(await counter(v6)).toBe('1');
    expect(replicas[0].app.get(KeyBuilder).joinRate(v6)).toMatch(/^qg:rl:[A-Za-z0-9_-]{22}$/);
  });

  it('without TRUST_PROXY_HOPS, X-Forwarded-For is ignored: the socket peer is counted', async () => {
    const eventId = uniqueId('rate-direct');
    await direct.createEvent(eventId, { capacity: 100 });
    // Every join claims another address; all come from 127.0.0.1.
    const answers = await Promise.all(Array.from({ length: LIMIT }, (_, i) => join(direct, eventId, `fan-${i}`, `192.0.2.${i + 1}`)));
    expect(countStatuses(answers)).toEqual({ 202: LIMIT });
    expect(await counter('127.0.0.1')).toBe(String(LIMIT));
    const over = await join(direct, eventId, 'fan-x', '192.0.2.200');
    expectError(over, 429, 'RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
