import { HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { Admitted, expectCleanAudit } from './support/flows';
import { admitAll, counters, eventDigest, expectError, readAccessToken, signAccessToken } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/**
 * Broken object-level authorization: a hold is touched only by its owner,
 * with a valid token of its event and a live session. Every refusal here must
 * leave the event's keys exactly as they were (CONTRACT §2, invariant 8).
 */
describe.each(TOPOLOGIES)('hold ownership and access tokens on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  let eventId: string;
  let otherEventId: string;
  let alice: Admitted;
  let bob: Admitted;
  let carol: Admitted;

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp(topology.env);
    eventId = uniqueId('bola');
    otherEventId = uniqueId('bola-other');
    const admission = { ratePerSecond: 100_000, maxActive: 1_000_000 };
    await app.createEvent(eventId, { capacity: 10, admission });
    await app.createEvent(otherEventId, { capacity: 10, admission });
    [alice, bob] = await admitAll(app, eventId, ['alice', 'bob']);
    [carol] = await admitAll(app, otherEventId, ['carol']);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await topology?.stop();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const hold = (headers: Record<string, string>, body: unknown = { quantity: 1 }) => app.request('POST', `/v1/events/${eventId}/holds`, body, headers);
  const release = (holdId: string, headers: Record<string, string>) => app.request('DELETE', `/v1/events/${eventId}/holds/${holdId}`, undefined, headers);
  const confirm = (holdId: string, headers: Record<string, string>, extra: Record<string, string> = {}) =>
    app.request('POST', `/v1/events/${eventId}/holds/${holdId}/confirm`, { paymentRef: 'p' }, { ...headers, ...extra });

  /** Runs `refusals`, then checks nothing of the event changed: keys, counters, audit. */
  async function expectNoChange(refusals: () => Promise<void>) {
    const before = { digest: await eventDigest(topology, eventId), counters: await counters(app, eventId) };
    expect(Number(before.digest.split(':')[0])).toBeGreaterThan(5); // the event's keys were found
    await refusals();
    expect({ digest: await eventDigest(topology, eventId), counters: await counters(app, eventId) }).toEqual(before);
    await expectCleanAudit(app, eventId);
  }

  it("refuses another user's release and confirm with 403 NOT_OWNER and changes nothing", async () => {
    const mine = await hold(alice.auth, { seatIds: ['GA-1', 'GA-2'] });
    expect(mine.status).toBe(201);
    await expectNoChange(async () => {
      expectError(await release(mine.body.holdId, bob.auth), 403, 'NOT_OWNER');
      expectError(await confirm(mine.body.holdId, bob.auth), 403, 'NOT_OWNER');
      expectError(await confirm(mine.body.holdId, bob.auth, { 'idempotency-key': 'steal-1' }), 403, 'NOT_OWNER');
    });
    // Bob's refused keyed confirm stored nothing: the same key on his own hold works normally.
    const his = await hold(bob.auth);
    const bobsOrder = await confirm(his.body.holdId, bob.auth, { 'idempotency-key': 'steal-1' });
    expect(bobsOrder.status).toBe(201);
    expect(bobsOrder.body.seatIds).toEqual(his.body.seatIds);
    // Alice's hold is intact and still hers.
    const order = await confirm(mine.body.holdId, alice.auth);
    expect(order.status).toBe(201);
    expect(order.body.seatIds).toEqual(['GA-1', 'GA-2']);
    await expectCleanAudit(app, eventId);
  });

  it('refuses a token of another event with 403 FORBIDDEN on hold, release and confirm', async () => {
    const mine = await hold(alice.auth);
    expect(mine.status).toBe(201);
    await expectNoChange(async () => {
      expectError(await hold(carol.auth), 403, 'FORBIDDEN');
      expectError(await release(mine.body.holdId, carol.auth), 403, 'FORBIDDEN');
      expectError(await confirm(mine.body.holdId, carol.auth), 403, 'FORBIDDEN');
    });
    // The same token is fine on its own event.
    expect((await app.request('POST', `/v1/events/${otherEventId}/holds`, { quantity: 1 }, carol.auth)).status).toBe(201);
    expect((await release(mine.body.holdId, alice.auth)).status).toBe(204);
  });

  it('answers 401 UNAUTHORIZED to expired, tampered, foreign-signed, unsigned or missing tokens', async () => {
    const mine = await hold(alice.auth);
    expect(mine.status).toBe(201);
    const claims = readAccessToken(alice.token);
    expect(claims).toMatchObject({ sub: 'alice', eid: eventId });
    const [head, body, signature] = alice.token.split('.');
    // Change one signature character in the middle (the last one may only carry padding bits).
    const at = Math.floor(signature.length / 2);
    const tampered = `${head}.${body}.${signature.slice(0, at)}${signature[at] === 'A' ? 'B' : 'A'}${signature.slice(at + 1)}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
    const bad: Record<string, Record<string, string>> = {
      expired: bearer(signAccessToken({ ...claims, exp: Math.floor(Date.now() / 1000) - 5 })),
      tampered: bearer(tampered),
      'signed with another secret': bearer(signAccessToken(claims, 'not-the-secret-not-the-secret-0123456789')),
      'alg none': bearer(unsigned),
      'claims missing': bearer(signAccessToken({ sub: 'alice', eid: eventId, exp: claims.exp } as never)),
      'not a JWT': bearer('not-a-token'),
      'Basic scheme': { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
      'no token': {},
    };
    await expectNoChange(async () => {
      for (const [what, headers] of Object.entries(bad)) {
        const answers: [string, HttpResult][] = [
          ['hold', await hold(headers)],
          ['release', await release(mine.body.holdId, headers)],
          ['confirm', await confirm(mine.body.holdId, headers)],
        ];
        for (const [op, r] of answers) {
          expect({ what, op, status: r.status, code: r.body?.code }).toEqual({ what, op, status: 401, code: 'UNAUTHORIZED' });
        }
      }
    });
    // The untampered token still works.
    expect((await release(mine.body.holdId, alice.auth)).status).toBe(204);
  });

  it("refuses a validly signed token whose session belongs to another user with 403 FORBIDDEN", async () => {
    // As if the secret leaked: mallory's claims pointing at alice's live session.
    const claims = readAccessToken(alice.token);
    const forged = bearer(signAccessToken({ ...claims, sub: 'mallory' }));
    await expectNoChange(async () => {
      expectError(await hold(forged), 403, 'FORBIDDEN');
    });
  });

  it('refuses holds with 403 FORBIDDEN once the session was ended via DELETE ticket', async () => {
    const dave = (await admitAll(app, eventId, ['dave']))[0];
    expect((await hold(dave.auth)).status).toBe(201);
    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${dave.ticket}`)).status).toBe(204);
    // The token is still a valid JWT; the script finds no live session behind it.
    await expectNoChange(async () => {
      expectError(await hold(dave.auth), 403, 'FORBIDDEN');
      expectError(await hold(dave.auth, { seatIds: ['GA-9'] }), 403, 'FORBIDDEN');
    });
    // Joining again gives a new session, and the old token stays refused.
    const again = (await admitAll(app, eventId, ['dave']))[0];
    expect((await hold(again.auth)).status).toBe(201);
    expectError(await hold(dave.auth), 403, 'FORBIDDEN');
    await expectCleanAudit(app, eventId);
  });

  it("a hold belongs to its session: after it ends, someone joining as the same user id cannot release or confirm it (403 NOT_OWNER), and nothing changes", async () => {
    const [erin] = await admitAll(app, eventId, ['erin']);
    const keyed = { 'idempotency-key': 'erin-confirm-key-0001' };
    const held = await hold(erin.auth, { quantity: 2 });
    expect(held.status).toBe(201);
    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${erin.ticket}`)).status).toBe(204);
    // Anonymous mode: anyone may join as 'erin' once her place is gone.
    const [impostor] = await admitAll(app, eventId, ['erin']);
    expect(readAccessToken(impostor.token).sub).toBe('erin');
    expect(readAccessToken(impostor.token).sid).not.toBe(readAccessToken(erin.token).sid);
    await expectNoChange(async () => {
      expectError(await release(held.body.holdId, impostor.auth), 403, 'NOT_OWNER');
      expectError(await confirm(held.body.holdId, impostor.auth), 403, 'NOT_OWNER');
      expectError(await confirm(held.body.holdId, impostor.auth, keyed), 403, 'NOT_OWNER');
    });
    // Her hold is intact: her own token (same session) still buys it, and a keyed retry replays it.
    const order = await confirm(held.body.holdId, erin.auth, keyed);
    expect(order.status).toBe(201);
    expect(order.body.seatIds).toEqual(held.body.seatIds);
    expect((await confirm(held.body.holdId, erin.auth, keyed)).body.orderId).toBe(order.body.orderId);
    // The later session neither replays her keyed answer nor reads her order.
    await expectNoChange(async () => {
      expectError(await confirm(held.body.holdId, impostor.auth, keyed), 403, 'NOT_OWNER');
      expectError(await confirm(held.body.holdId, impostor.auth), 403, 'NOT_OWNER');
    });
    await expectCleanAudit(app, eventId);
  });
});
