import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { sign, SignOptions } from 'jsonwebtoken';
import { keysOfEvent, pausedEvent, refusalDigest } from './support/join-support';
import { countStatuses, startApp, TestApp, uniqueId } from './support/app-harness';
import { waitForAdmission } from './support/flows';
import { expectError } from './support/inspect';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/**
 * JOIN_IDENTITY=jwt (docs/api.md): the user is the sub of an
 * identity token the ticketing platform signed; bad tokens are 401 and write
 * nothing; one person holds one place, and joining again from another tab or
 * device gets that same place back (200, same ticket).
 */
const SECRET = 'identity-test-secret-0123456789abcdef';
const ISSUER = 'https://tickets.example';
const AUDIENCE = 'queuegate';

const hs256 = (claims: object, options: SignOptions = {}, secret = SECRET) =>
  sign(claims, secret, { algorithm: 'HS256', expiresIn: 300, issuer: ISSUER, audience: AUDIENCE, ...options });

/** An unsigned token: header alg "none", an empty signature. */
const unsigned = (claims: object) =>
  [{ alg: 'none', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.';

describe.each(TOPOLOGIES)('join identity (jwt) on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp({
      ...topology.env,
      JOIN_IDENTITY: 'jwt',
      JOIN_JWT_SECRET: SECRET,
      JOIN_JWT_ISSUER: ISSUER,
      JOIN_JWT_AUDIENCE: AUDIENCE,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await topology?.stop();
  });

  const join = (eventId: string, token?: string, body: object = {}) =>
    app.request('POST', `/v1/events/${eventId}/queue`, body, token === undefined ? {} : { authorization: `Bearer ${token}` });

  it('refuses missing, expired, not-yet-valid, wrong-issuer, wrong-audience, wrong-key, alg:none and bad-sub tokens with 401, writing nothing', async () => {
    const eventId = uniqueId('jwt-bad');
    await pausedEvent(app, eventId);
    const now = Math.floor(Date.now() / 1000);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const bad: Record<string, string | undefined> = {
      missing: undefined,
      expired: sign({ sub: 'fan-1', exp: now - 60, iss: ISSUER, aud: AUDIENCE }, SECRET, { algorithm: 'HS256' }),
      noExp: sign({ sub: 'fan-1' }, SECRET, { algorithm: 'HS256', issuer: ISSUER, audience: AUDIENCE }),
      notYetValid: hs256({ sub: 'fan-1', nbf: now + 600 }),
      wrongIssuer: hs256({ sub: 'fan-1' }, { issuer: 'https://evil.example' }),
      noIssuer: sign({ sub: 'fan-1' }, SECRET, { algorithm: 'HS256', expiresIn: 300, audience: AUDIENCE }),
      wrongAudience: hs256({ sub: 'fan-1' }, { audience: 'someone-else' }),
      wrongKey: hs256({ sub: 'fan-1' }, {}, 'another-secret-0123456789abcdef0123'),
      rs256: sign({ sub: 'fan-1' }, otherKey, { algorithm: 'RS256', expiresIn: 300, issuer: ISSUER, audience: AUDIENCE }),
      algNone: unsigned({ sub: 'fan-1', iss: ISSUER, aud: AUDIENCE, exp: now + 300 }),
      badSub: hs256({ sub: 'fan:1{x}' }),
      noSub: hs256({}),
      garbage: 'not.a.token',
    };
    const before = await refusalDigest(topology, app, eventId);
    for (const [kind, token] of Object.entries(bad)) {
      const r = await join(eventId, token);
      expect({ kind, status: r.status, code: r.body.code }).toEqual({ kind, status: 401, code: 'UNAUTHORIZED' });
    }
    expect(await refusalDigest(topology, app, eventId)).toBe(before);
    // The same token, valid: it joins.
    expect((await join(eventId, hs256({ sub: 'fan-1' }))).status).toBe(202);
  });

  it('refuses a body userId with 400 VALIDATION, token or not', async () => {
    const eventId = uniqueId('jwt-body');
    await pausedEvent(app, eventId);
    const before = await refusalDigest(topology, app, eventId);
    expectError(await join(eventId, hs256({ sub: 'fan-2' }), { userId: 'fan-2' }), 400, 'VALIDATION');
    expectError(await join(eventId, undefined, { userId: 'someone-else' }), 400, 'VALIDATION');
    expect(await refusalDigest(topology, app, eventId)).toBe(before);
  });

  it('20 concurrent joins by one sub: exactly one place, and all 20 answers carry its ticket (Lua and WATCH/MULTI)', async () => {
    for (const luaAtomic of [true, false]) {
      await app.admin('PUT', '/v1/flags/luaAtomic', { enabled: luaAtomic });
      try {
        const eventId = uniqueId(`jwt-race-${luaAtomic ? 'lua' : 'watch'}`);
        await app.createEvent(eventId, { capacity: 5 });
        expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
        // Someone else first, so the person's place is 2 in every answer.
        expect((await join(eventId, hs256({ sub: 'early-bird' }))).status).toBe(202);
        const token = hs256({ sub: 'fan-3' });
        const answers = await Promise.all(Array.from({ length: 20 }, () => join(eventId, token)));
        expect(countStatuses(answers)).toEqual({ 200: 19, 202: 1 });
        const tickets = new Set(answers.map((a) => a.body.ticket));
        expect(tickets.size).toBe(1);
        for (const a of answers) expect(a.body).toMatchObject({ status: 'waiting', position: 2, queue: 'streams' });
        const k = keysOfEvent(app, eventId);
        const client = topology.client();
        try {
          expect(await client.xlen(k.stream)).toBe(2);
          expect(await client.hgetall(k.users)).toEqual({ 'early-bird': '1', 'fan-3': '2' });
        } finally {
          client.disconnect();
        }
        const [ticket] = tickets;
        expect((await app.request('GET', `/v1/events/${eventId}/queue/${ticket}`)).body).toMatchObject({ status: 'waiting', position: 2 });
      } finally {
        await app.admin('DELETE', '/v1/flags/luaAtomic');
      }
    }
  });

  it('the place follows the person: a second device gets the same ticket, also once admitted, and on the sorted-set backend', async () => {
    const eventId = uniqueId('jwt-devices');
    await app.createEvent(eventId, { capacity: 5, queue: 'zset' });
    const first = await join(eventId, hs256({ sub: 'fan-4' }));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'waiting', position: 1, queue: 'zset' });
    // Another device: its own token for the same person.
    const second = await join(eventId, hs256({ sub: 'fan-4', jti: 'device-2' }));
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ ticket: first.body.ticket, status: 'waiting', position: 1, etaSeconds: expect.any(Number), queue: 'zset' });

    await waitForAdmission(app, eventId, first.body.ticket);
    const third = await join(eventId, hs256({ sub: 'fan-4' }));
    expect(third.status).toBe(200);
    expect(third.body).toEqual({ ticket: first.body.ticket, status: 'admitted', queue: 'zset' });
    const status = await app.request('GET', `/v1/events/${eventId}/queue/${third.body.ticket}`);
    expect(status.body).toMatchObject({ status: 'admitted', accessToken: expect.any(String) });

    // Having left, the person joins anew: a new place, 202.
    expect((await app.request('DELETE', `/v1/events/${eventId}/queue/${first.body.ticket}`)).status).toBe(204);
    const again = await join(eventId, hs256({ sub: 'fan-4' }));
    expect(again.status).toBe(202);
    expect(again.body.ticket).not.toBe(first.body.ticket);
  });
});

describe('join identity with public keys', () => {
  let topology: Topology;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    topology = await startTopology('single');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await topology?.stop();
  });

  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

  it.each([
    ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ] as const)('verifies %s tokens with JOIN_JWT_PUBLIC_KEY and refuses HS256 signed with that public key', async (algorithm, pair) => {
    const app = await startApp({ ...topology.env, JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem(pair.publicKey) });
    apps.push(app);
    const eventId = uniqueId(`jwt-${algorithm}`);
    await app.createEvent(eventId, { capacity: 5 });
    const join = (token: string) => app.request('POST', `/v1/events/${eventId}/queue`, {}, { authorization: `Bearer ${token}` });

    const good = await join(sign({ sub: 'fan-5' }, pair.privateKey, { algorithm, expiresIn: 60 }));
    expect(good.status).toBe(202);
    // The classic confusion attack: HS256 with the public key's PEM as the HMAC secret.
    const confused = unsignedWithHmac({ sub: 'fan-6', exp: Math.floor(Date.now() / 1000) + 60 }, pem(pair.publicKey));
    expectError(await join(confused), 401, 'UNAUTHORIZED');
    const otherPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expectError(await join(sign({ sub: 'fan-7' }, otherPair.privateKey, { algorithm: 'ES256', expiresIn: 60 })), 401, 'UNAUTHORIZED');
  });

  it('refuses to boot with JOIN_IDENTITY=jwt and no key, naming the variables', async () => {
    await expect(startApp({ ...topology.env, JOIN_IDENTITY: 'jwt' })).rejects.toThrow(
      /JOIN_JWT_SECRET or JOIN_JWT_PUBLIC_KEY must be set when JOIN_IDENTITY=jwt/,
    );
  });
});

/** An HS256 token signed by hand (jsonwebtoken itself refuses to sign with a PEM as an HMAC secret). */
function unsignedWithHmac(claims: object, secret: string): string {
  const { createHmac } = require('node:crypto') as typeof import('node:crypto');
  const head = [{ alg: 'HS256', typ: 'JWT' }, claims].map((p) => Buffer.from(JSON.stringify(p)).toString('base64url')).join('.');
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}
