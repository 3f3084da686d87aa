import { KeyBuilder } from '../src/redis/keys';
import { TestApp, uniqueId } from './support/app-harness';
import { waitForAdmission } from './support/flows';
import { eventDigest, expectError } from './support/inspect';
import { startTopologyApp, stopTopologyApp, Topology, TOPOLOGIES, withClient } from './support/topology';

/** A join key of the shortest allowed length (16). */
const KEY = 'join-7f3a-1c2d4e';

/**
 * A join whose answer was lost (timeout, dropped connection) must not lock the
 * user out: a retry with the same Idempotency-Key gets the same ticket back,
 * while anyone else asking for that user still gets 409 DUPLICATE.
 */
describe.each(TOPOLOGIES)('join with an Idempotency-Key on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;

  beforeAll(async () => ({ topology, app } = await startTopologyApp(name)), 60_000);
  afterAll(() => stopTopologyApp(topology, app));

  const join = (eventId: string, userId: string, key?: string) =>
    app.request('POST', `/v1/events/${eventId}/queue`, { userId }, key ? { 'idempotency-key': key } : {});

  it.each([
    ['streams', true],
    ['zset', true],
    ['streams', false],
    ['zset', false],
  ])('%s backend, luaAtomic %s: same key -> same ticket; no key or another key -> 409', async (queue, lua) => {
    expect((await app.admin('PUT', '/v1/flags/luaAtomic', { enabled: lua })).status).toBe(200);
    const eventId = uniqueId(`join-idem-${queue}`);
    await app.createEvent(eventId, { capacity: 5, queue });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);

    const first = await join(eventId, 'mobile-fan', KEY);
    expect(first.status).toBe(202);
    const retry = await join(eventId, 'mobile-fan', KEY);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);

    const noKey = await join(eventId, 'mobile-fan');
    expect(noKey.status).toBe(409);
    expect(noKey.body).toMatchObject({ code: 'DUPLICATE', position: 1 });
    expect((await join(eventId, 'mobile-fan', 'another-key-0123456789')).status).toBe(409);
    // Another user with the same key is another request.
    const other = await join(eventId, 'other-fan', KEY);
    expect(other.status).toBe(202);
    expect(other.body.ticket).not.toBe(first.body.ticket);

    // Once admitted, the same retry still recovers the ticket, which now answers admitted.
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: false })).status).toBe(200);
    await waitForAdmission(app, eventId, first.body.ticket);
    const later = await join(eventId, 'mobile-fan', KEY);
    expect(later.status).toBe(202);
    expect(later.body.ticket).toBe(first.body.ticket);
    expect(later.body.position).toBe(0);
    const status = await app.request('GET', `/v1/events/${eventId}/queue/${later.body.ticket}`);
    expect(status.body.status).toBe('admitted');
    expect((await app.admin('DELETE', '/v1/flags/luaAtomic')).status).toBe(204);
  });

  it('refuses a key shorter than 16, longer than 128 or with other characters with 400 VALIDATION, and writes nothing', async () => {
    const eventId = uniqueId('join-idem-bad');
    await app.createEvent(eventId, { capacity: 1 });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const keys = app.app.get(KeyBuilder).event(eventId);
    const digest = () => withClient(topology, (c) => eventDigest(c, keys));
    const before = await digest();
    // A 5-character key could be guessed, and with the user's id it would hand over their ticket.
    for (const bad of ['k1x2z', 'x'.repeat(15), 'x'.repeat(129), 'has:colon-0123456789', 'two words 0123456789', '{tag}-0123456789abc']) {
      expectError(await join(eventId, 'u1', bad), 400, 'VALIDATION');
    }
    expect(await digest()).toBe(before);
    // The bounds themselves are fine, and every allowed character.
    expect((await join(eventId, 'u1', 'Az09._-'.repeat(3).slice(0, 16))).status).toBe(202);
    expect((await join(eventId, 'u2', 'Az09._-'.repeat(19).slice(0, 128))).status).toBe(202);
    expect(await digest()).not.toBe(before);
  });
});
