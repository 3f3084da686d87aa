import { challengeKey, issueChallenge, workBits } from '../src/join/challenge';
import { search } from '../web/pow';
import { ACCESS_TOKEN_SECRET, countStatuses, HttpResult, TestApp, uniqueId } from './support/app-harness';
import { expectError } from './support/inspect';
import { keysOfEvent, pausedEvent, refusalDigest } from './support/join-support';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES } from './support/topology';

/**
 * Proof-of-work join challenges (docs/api.md): issuing one
 * writes nothing, a join without one is 403 CHALLENGE_REQUIRED, a wrong nonce,
 * an expired, forged, another event's or a used challenge is 403
 * CHALLENGE_FAILED, and none of those refusals writes anything. A solved
 * challenge joins once.
 */
const BITS = 8;

/** A nonce that solves the challenge, found the way the page's worker finds it. */
const solve = (challenge: string, bits: number) => search(challenge, bits, 0, 1 << 24) as string;

/** A nonce that does not solve it. */
function wrongNonce(challenge: string, bits: number): string {
  let n = 0;
  while (workBits(challenge, `w${n}`) >= bits) n += 1;
  return `w${n}`;
}

describe.each(TOPOLOGIES)('join challenges on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const join = (eventId: string, body: object): Promise<HttpResult> => app.request('POST', `/v1/events/${eventId}/queue`, body);
  const challengeOf = async (eventId: string) => {
    const r = await app.request('GET', `/v1/events/${eventId}/challenge`);
    expect(r.status).toBe(200);
    return r.body as { challenge: string; difficultyBits: number; expiresAt: string };
  };

  it('the event shows its difficulty; issuing a challenge writes nothing and it expires within 5 minutes', async () => {
    const eventId = uniqueId('pow-issue');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: BITS } });
    const view = await app.request('GET', `/v1/events/${eventId}`);
    expect(view.body.config.challenge).toEqual({ difficultyBits: BITS });

    const before = await refusalDigest(topology, app, eventId);
    const issued = await Promise.all(Array.from({ length: 5 }, () => challengeOf(eventId)));
    expect(await refusalDigest(topology, app, eventId)).toBe(before);
    expect(new Set(issued.map((c) => c.challenge)).size).toBe(5);
    for (const c of issued) {
      expect(c.difficultyBits).toBe(BITS);
      const ttl = Date.parse(c.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(200_000); // Redis and this process share one clock here
      expect(ttl).toBeLessThanOrEqual(300_000 + 1000);
    }
    expectError(await app.request('GET', `/v1/events/${uniqueId('nope')}/challenge`), 404, 'EVENT_NOT_FOUND');
    expectError(await app.request('GET', `/v1/events/bad:id/challenge`), 400, 'VALIDATION');
  });

  it('refuses joins without a challenge, with a wrong nonce, expired, forged or another event\'s: 403, nothing written', async () => {
    const eventId = uniqueId('pow-refuse');
    const otherId = uniqueId('pow-other');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: BITS } });
    await pausedEvent(app, otherId, { capacity: 5, challenge: { difficultyBits: BITS } });
    const { challenge } = await challengeOf(eventId);
    const other = await challengeOf(otherId);
    const key = challengeKey(ACCESS_TOKEN_SECRET);
    // Signed with the service's key, so only its expiry is wrong (checked against Redis time in the join script).
    const [bits, expiresAt, epoch, id, mac] = challenge.split('.');
    const expired = issueChallenge(key, eventId, Number(epoch), BITS, Date.now() - 301_000).challenge;
    const forgedEasier = `1.${expiresAt}.${epoch}.${id}.${mac}`;
    const forgedMac = `${bits}.${expiresAt}.${epoch}.${id}.${'A'.repeat(22)}`;

    const before = await refusalDigest(topology, app, eventId);
    expectError(await join(eventId, { userId: 'fan-1' }), 403, 'CHALLENGE_REQUIRED');
    const failures: Record<string, object> = {
      wrongNonce: { challenge, nonce: wrongNonce(challenge, BITS) },
      expired: { challenge: expired, nonce: solve(expired, BITS) },
      forgedEasier: { challenge: forgedEasier, nonce: solve(forgedEasier, 1) },
      forgedMac: { challenge: forgedMac, nonce: solve(forgedMac, BITS) },
      otherEvent: { challenge: other.challenge, nonce: solve(other.challenge, BITS) },
      garbage: { challenge: 'hello', nonce: '1' },
    };
    for (const [kind, proof] of Object.entries(failures)) {
      const r = await join(eventId, { userId: 'fan-1', ...proof });
      expect({ kind, status: r.status, code: r.body.code }).toEqual({ kind, status: 403, code: 'CHALLENGE_FAILED' });
    }
    expect(await refusalDigest(topology, app, eventId)).toBe(before);
    // A challenge without a nonce (or the other way round) is a malformed body.
    expectError(await join(eventId, { userId: 'fan-1', challenge }), 400, 'VALIDATION');
    expectError(await join(eventId, { userId: 'fan-1', nonce: '1' }), 400, 'VALIDATION');
    expect(await refusalDigest(topology, app, eventId)).toBe(before);
  });

  it('a solved challenge joins once: reused it is 403 CHALLENGE_FAILED, and of 10 concurrent uses exactly one joins', async () => {
    const eventId = uniqueId('pow-once');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: BITS } });
    const first = await challengeOf(eventId);
    const proof = { challenge: first.challenge, nonce: solve(first.challenge, BITS) };
    const joined = await join(eventId, { userId: 'fan-1', ...proof });
    expect(joined.status).toBe(202);
    expect(joined.body).toMatchObject({ status: 'waiting', position: 1 });

    const before = await refusalDigest(topology, app, eventId);
    expectError(await join(eventId, { userId: 'fan-2', ...proof }), 403, 'CHALLENGE_FAILED');
    expect(await refusalDigest(topology, app, eventId)).toBe(before);

    const second = await challengeOf(eventId);
    const shared = { challenge: second.challenge, nonce: solve(second.challenge, BITS) };
    const racers = await Promise.all(Array.from({ length: 10 }, (_, i) => join(eventId, { userId: `racer-${i}`, ...shared })));
    expect(countStatuses(racers)).toEqual({ 202: 1, 403: 9 });
    for (const r of racers.filter((x) => x.status === 403)) expect(r.body.code).toBe('CHALLENGE_FAILED');
    const client = topology.client();
    try {
      const k = keysOfEvent(app, eventId);
      expect(await client.xlen(k.stream)).toBe(2);
      // One used id per join, each kept until its own expiry.
      expect(await client.zcard(k.powUsed)).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it('PATCH changes the difficulty: an easier old challenge fails, 0 needs none; the WATCH/MULTI path checks the same', async () => {
    const eventId = uniqueId('pow-patch');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: 4 } });
    const easy = await challengeOf(eventId);
    expect(easy.difficultyBits).toBe(4);
    const raised = await app.admin('PATCH', `/v1/events/${eventId}`, { challenge: { difficultyBits: BITS } });
    expect(raised.body.config.challenge).toEqual({ difficultyBits: BITS });
    let easyNonce = 0;
    while (workBits(easy.challenge, String(easyNonce)) < 4 || workBits(easy.challenge, String(easyNonce)) >= BITS) easyNonce += 1;
    expectError(await join(eventId, { userId: 'fan-1', challenge: easy.challenge, nonce: String(easyNonce) }), 403, 'CHALLENGE_FAILED');
    expectError(await app.admin('PATCH', `/v1/events/${eventId}`, { challenge: { difficultyBits: 33 } }), 400, 'VALIDATION');

    await app.admin('PUT', '/v1/flags/luaAtomic', { enabled: false });
    try {
      const before = await refusalDigest(topology, app, eventId);
      expectError(await join(eventId, { userId: 'fan-1' }), 403, 'CHALLENGE_REQUIRED');
      const c = await challengeOf(eventId);
      const expired = issueChallenge(challengeKey(ACCESS_TOKEN_SECRET), eventId, Number(c.challenge.split('.')[2]), BITS, Date.now() - 301_000).challenge;
      expectError(await join(eventId, { userId: 'fan-1', challenge: expired, nonce: solve(expired, BITS) }), 403, 'CHALLENGE_FAILED');
      expect(await refusalDigest(topology, app, eventId)).toBe(before);
      const proof = { challenge: c.challenge, nonce: solve(c.challenge, BITS) };
      expect((await join(eventId, { userId: 'fan-1', ...proof })).status).toBe(202);
      expectError(await join(eventId, { userId: 'fan-2', ...proof }), 403, 'CHALLENGE_FAILED');
    } finally {
      await app.admin('DELETE', '/v1/flags/luaAtomic');
    }

    const off = await app.admin('PATCH', `/v1/events/${eventId}`, { challenge: { difficultyBits: 0 } });
    expect(off.body.config.challenge).toEqual({ difficultyBits: 0 });
    expect((await challengeOf(eventId)).difficultyBits).toBe(0);
    expect((await join(eventId, { userId: 'fan-3' })).status).toBe(202);
    // An event created without one needs none.
    const plain = uniqueId('pow-none');
    await app.createEvent(plain, { capacity: 5 });
    expect((await app.request('GET', `/v1/events/${plain}`)).body.config.challenge).toEqual({ difficultyBits: 0 });
    expect((await join(plain, { userId: 'fan-1' })).status).toBe(202);
  });
  it('a challenge of an event deleted and created again is 403 CHALLENGE_FAILED (its createdAt is in the MAC)', async () => {
    const eventId = uniqueId('pow-again');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: BITS } });
    const old = await challengeOf(eventId);
    const proof = { challenge: old.challenge, nonce: solve(old.challenge, BITS) };
    expect((await app.admin('DELETE', `/v1/events/${eventId}`)).status).toBe(204);
    const create = () => app.admin('POST', '/v1/events', { eventId, capacity: 5, challenge: { difficultyBits: BITS } });
    let created = await create();
    for (let i = 0; created.status === 409 && i < 50; i += 1) {
      await new Promise((r) => setTimeout(r, 100)); // the delete's key removal still under way
      created = await create();
    }
    expect(created.status).toBe(201);
    expectError(await join(eventId, { userId: 'fan-1', ...proof }), 403, 'CHALLENGE_FAILED');
    const fresh = await challengeOf(eventId);
    expect((await join(eventId, { userId: 'fan-1', challenge: fresh.challenge, nonce: solve(fresh.challenge, BITS) })).status).toBe(202);
  });

  it('a join removes at most 100 expired challenge ids (a burst expiring together goes over the next joins)', async () => {
    const eventId = uniqueId('pow-burst');
    await pausedEvent(app, eventId, { capacity: 5, challenge: { difficultyBits: BITS } });
    const k = keysOfEvent(app, eventId);
    const client = topology.client();
    try {
      const expiredAt = Date.now() - 60_000;
      await client.zadd(k.powUsed, ...Array.from({ length: 250 }, (_, i) => [expiredAt + i, `burst-${i}`]).flat());
      for (const [i, left] of [[1, 150], [2, 50], [3, 0]]) {
        const c = await challengeOf(eventId);
        expect((await join(eventId, { userId: `fan-${i}`, challenge: c.challenge, nonce: solve(c.challenge, BITS) })).status).toBe(202);
        // the expired ids left, plus this join's and the earlier joins' own (unexpired) ids
        expect(await client.zcard(k.powUsed)).toBe(left + i);
      }
    } finally {
      client.disconnect();
    }
  });
});
