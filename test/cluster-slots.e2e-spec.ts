import type { Cluster, Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { KeyBuilder } from '../src/redis/keys';
import { HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { admitMany, expectCleanAudit, joinAndAdmit } from './support/flows';
import { startTopology, Topology } from './support/topology';

// Redis Cluster's own CRC16 slot function, as ioredis routes commands with it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const calculateSlot = require('cluster-key-slot') as (key: string) => number;

// CONTRACT §5: every key of one event carries the hash tag {eventId}, so every
// script touches one slot. These tests check it three ways: the key builder's
// keys for random ids, where events land on a real 3-master cluster, and a
// whole sale flow on that cluster (a script or transaction touching two slots
// would answer CROSSSLOT, which the service turns into a 500).

const ID_FIRST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_REST = ID_FIRST + '._-';
const pick = (alphabet: string) => alphabet[randomBytes(1)[0] % alphabet.length];

/** A random identifier of 1..64 characters matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$. */
function randomId(): string {
  const length = 1 + (randomBytes(1)[0] % 64);
  let id = pick(ID_FIRST);
  while (id.length < length) id += pick(ID_REST);
  return id;
}

/** Every key the builder makes for one event (including a hold and both idempotency kinds). */
function eventKeys(keys: KeyBuilder, eventId: string): string[] {
  const { holdPrefix, idemPrefix, ...fixed } = keys.event(eventId);
  const holdId = randomBytes(12).toString('base64url');
  return [
    ...Object.values(fixed),
    holdPrefix + holdId,
    idemPrefix + 'unused',
    keys.hold(eventId, holdId),
    keys.idempotency(eventId, 'hold', randomId(), randomId(), randomId()),
    keys.idempotency(eventId, `confirm:${randomId()}`, randomId(), randomId(), randomId()),
  ];
}

const keyBuilder = (keyPrefix: string) => new KeyBuilder({ keyPrefix } as ConstructorParameters<typeof KeyBuilder>[0]);

describe('key builder: one slot per event', () => {
  it.each(['qg:', 'tenant-a.qg:', ''])('maps every key of an event to one slot, for 1000 random event ids (prefix %p)', (prefix) => {
    const keys = keyBuilder(prefix);
    const slotsSeen = new Set<number>();
    for (let i = 0; i < 1000; i += 1) {
      const eventId = randomId();
      const all = eventKeys(keys, eventId);
      expect(all.length).toBe(30);
      const slots = new Set(all.map(calculateSlot));
      if (slots.size !== 1) throw new Error(`event ${eventId}: keys on ${slots.size} slots: ${all.join(' ')}`);
      // The slot is the tag's slot: the event id alone decides where it lives.
      expect([...slots][0]).toBe(calculateSlot(eventId));
      slotsSeen.add(calculateSlot(eventId));
    }
    // ...and different events land on many slots (not all on one tag).
    expect(slotsSeen.size).toBeGreaterThan(900);
  });
});

describe('on a 3-master Redis Cluster', () => {
  let topology: Topology;
  let app: TestApp;
  let masters: Redis[];
  let client: Redis | Cluster;

  beforeAll(async () => {
    topology = await startTopology('cluster');
    app = await startApp(topology.env);
    masters = await topology.masters();
    client = topology.client();
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    masters?.forEach((m) => m.disconnect());
    await app?.close();
    await topology?.stop();
  });

  it('computes slots exactly as the cluster does (CLUSTER KEYSLOT)', async () => {
    const keys = keyBuilder('qg:');
    for (let i = 0; i < 20; i += 1) {
      for (const key of eventKeys(keys, randomId())) {
        expect(await masters[0].cluster('KEYSLOT', key)).toBe(calculateSlot(key));
      }
    }
  });

  it('spreads 30 events over all 3 masters, each event whole on one master', async () => {
    const keys = keyBuilder('qg:');
    const ids = Array.from({ length: 30 }, (_, i) => uniqueId(`spread${i}`));
    for (const eventId of ids) await app.createEvent(eventId, { capacity: 3 });
    const hosts = new Map<number, string[]>();
    for (const eventId of ids) {
      const k = keys.event(eventId);
      const holding: number[] = [];
      for (const [i, master] of masters.entries()) {
        // EXISTS on a master that does not own the slot answers MOVED: count that as "not here".
        const here = await master.exists(k.meta, k.seats, k.avail, k.seatIndex).catch((err: Error) => {
          if (/MOVED/.test(err.message)) return 0;
          throw err;
        });
        if (here > 0) {
          expect(here).toBe(4);
          holding.push(i);
        }
      }
      expect(holding).toHaveLength(1);
      hosts.set(holding[0], [...(hosts.get(holding[0]) ?? []), eventId]);
    }
    expect([...hosts.keys()].sort()).toEqual([0, 1, 2]);
  });

  it('runs the whole sale flow on both queue backends and both atomic paths with no 5xx (no CROSSSLOT)', async () => {
    const answers: { what: string; status: number; code?: string }[] = [];
    const call = async (what: string, p: Promise<HttpResult>) => {
      const r = await p;
      answers.push({ what, status: r.status, code: r.body?.code });
      return r;
    };
    const ids: string[] = [];
    for (const queue of ['streams', 'zset'] as const) {
      const eventId = uniqueId(`slots-${queue}`);
      ids.push(eventId);
      const base = `/v1/events/${eventId}`;
      await app.createEvent(eventId, { capacity: 8, queue, maxSeatsPerUser: 4, holdTtlSeconds: 1, admission: { ratePerSecond: 1000 } });
      expect((await call('create again', app.admin('POST', '/v1/events', { eventId, capacity: 1 }))).status).toBe(409);
      await call('patch', app.admin('PATCH', base, { maxSeatsPerUser: 4, admission: { ratePerSecond: 1000 } }));
      const [a, b, c] = await admitMany(app, eventId, ['a', 'b', 'c'], 3);
      expect((await call('duplicate join', app.request('POST', `${base}/queue`, { userId: 'a' }))).status).toBe(409);
      await call('ticket', app.request('GET', `${base}/queue/${a.ticket}`));

      // Holds by name and by quantity, with and without an Idempotency-Key.
      const h1 = await call('hold seats', app.request('POST', `${base}/holds`, { seatIds: ['GA-1', 'GA-2'] }, a.auth));
      expect(h1.status).toBe(201);
      const idem = { ...a.auth, 'idempotency-key': 'k1' };
      const h2 = await call('hold idem', app.request('POST', `${base}/holds`, { quantity: 2 }, idem));
      const h2again = await call('hold idem replay', app.request('POST', `${base}/holds`, { quantity: 2 }, idem));
      expect(h2again.body.holdId).toBe(h2.body.holdId);
      expect((await call('taken', app.request('POST', `${base}/holds`, { seatIds: ['GA-1'] }, b.auth))).body.code).toBe('SEAT_UNAVAILABLE');
      expect((await call('limit', app.request('POST', `${base}/holds`, { quantity: 1 }, a.auth))).body.code).toBe('LIMIT_EXCEEDED');
      expect((await call('no seat', app.request('POST', `${base}/holds`, { seatIds: ['nope'] }, b.auth))).body.code).toBe('SEAT_NOT_FOUND');
      expect((await call('not owner', app.request('DELETE', `${base}/holds/${h1.body.holdId}`, undefined, b.auth))).body.code).toBe('NOT_OWNER');

      // Confirm (twice, and with a key), release, and a hold left to expire.
      const idemConfirm = { ...a.auth, 'idempotency-key': 'c1' };
      expect((await call('confirm', app.request('POST', `${base}/holds/${h1.body.holdId}/confirm`, { paymentRef: 'p' }, idemConfirm))).status).toBe(201);
      expect((await call('confirm replay', app.request('POST', `${base}/holds/${h1.body.holdId}/confirm`, {}, idemConfirm))).status).toBe(201);
      expect((await call('confirm again', app.request('POST', `${base}/holds/${h1.body.holdId}/confirm`, {}, a.auth))).status).toBe(200);
      expect((await call('release', app.request('DELETE', `${base}/holds/${h2.body.holdId}`, undefined, a.auth))).status).toBe(204);
      expect((await call('release again', app.request('DELETE', `${base}/holds/${h2.body.holdId}`, undefined, a.auth))).status).toBe(404);
      const h3 = await call('hold to expire', app.request('POST', `${base}/holds`, { quantity: 3 }, b.auth));
      expect(h3.status).toBe(201);
      // 2 sold + 3 held of 8: four more is sold out.
      expect((await call('sold out', app.request('POST', `${base}/holds`, { quantity: 4 }, c.auth))).body.code).toBe('SOLD_OUT');
      await new Promise((r) => setTimeout(r, 2200)); // 1 s TTL + the sweeper's 1 s bound
      const expired = await call('expired', app.request('POST', `${base}/holds/${h3.body.holdId}/confirm`, {}, b.auth));
      expect(['HOLD_EXPIRED', 'HOLD_NOT_FOUND']).toContain(expired.body.code);

      // Reads, then leave and join again through the WATCH/MULTI path (luaAtomic off).
      await call('view', app.request('GET', base));
      await call('seat page', app.request('GET', `${base}/seats?limit=5`));
      await call('seat page held', app.request('GET', `${base}/seats?status=sold`));
      expect((await call('leave', app.request('DELETE', `${base}/queue/${c.ticket}`))).status).toBe(204);
      expect((await call('flag off', app.admin('PUT', '/v1/flags/luaAtomic', { enabled: false }))).status).toBe(200);
      try {
        const again = await joinAndAdmit(app, eventId, 'c');
        const d = await call('watch join', app.request('POST', `${base}/queue`, { userId: 'd' }));
        expect(d.status).toBe(202);
        expect((await call('watch leave', app.request('DELETE', `${base}/queue/${d.body.ticket}`))).status).toBe(204);
        expect((await call('watch leave admitted', app.request('DELETE', `${base}/queue/${again.ticket}`))).status).toBe(204);
      } finally {
        await call('flag back', app.admin('DELETE', '/v1/flags/luaAtomic'));
      }
      await call('pause', app.admin('PATCH', base, { paused: true }));
      await call('join while paused', app.request('POST', `${base}/queue`, { userId: 'e' }));
      await call('audit', app.admin('GET', `${base}/audit`));
      await expectCleanAudit(app, eventId);
    }

    const failed = answers.filter((a) => a.status >= 500);
    expect(failed).toEqual([]);
    expect(answers.length).toBeGreaterThan(50);

    // Every key the flow wrote sits in its event's slot, on the master that owns it.
    for (const master of masters) {
      const keys = await master.keys('*');
      for (const key of keys) {
        const tag = /\{([^}]+)\}/.exec(key)?.[1];
        if (tag === undefined) {
          expect(['qg:registry', 'qg:flags']).toContain(key);
          continue;
        }
        expect(calculateSlot(key)).toBe(calculateSlot(tag));
      }
    }
    for (const eventId of ids) expect(await client.exists(`qg:{${eventId}}:orders`)).toBe(1);
  }, 60_000);
});
