import type Redis from 'ioredis';
import { ADMIN_TOKEN, HttpResult, startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError, sleep } from './support/inspect';
import { keyspaceDigest } from './support/keyspace';
import { startRedis } from './support/redis-harness';

/**
 * Bad input, missing auth and refused requests: each answers the right status
 * and code with the CONTRACT error body, and leaves Redis byte-for-byte as it
 * was (a digest of every key before and after). Single node only: the digest
 * walks the keyspace with KEYS, which a cluster client cannot do in one call.
 */
describe('refused requests (single node)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let client: Redis;
  /** admission paused: the admitter writes nothing for it */
  let paused: string;
  /** not paused, nobody waiting: once its token bucket is full the admitter writes nothing */
  let idle: string;
  /** a real ticket of `paused`, and its user */
  let ticket: string;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url });
    client = redis.client();
    paused = uniqueId('v-paused');
    idle = uniqueId('v-idle');
    await app.createEvent(paused, { seats: ['A-1', 'A-2', 'B-1'], queue: 'streams' });
    await app.createEvent(idle, { capacity: 4, queue: 'zset' });
    expect((await app.admin('PATCH', `/v1/events/${paused}`, { paused: true })).status).toBe(200);
    const joined = await app.request('POST', `/v1/events/${paused}/queue`, { userId: 'waiting-user' });
    expect(joined.status).toBe(202);
    ticket = joined.body.ticket;
    // Let the admitter fill the idle event's bucket (its first ticks write it).
    // The admitter learns of new events when its registry cache refreshes
    // (once a second), so wait past that before expecting stillness.
    await sleep(1600);
  });
  afterAll(async () => {
    client?.disconnect();
    await app?.close();
    await redis?.cleanup();
  });

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const json = { 'content-type': 'application/json' };
  const long = 'x'.repeat(65);
  const kib17 = 'y'.repeat(17 * 1024);

  const joinPath = (eventId: string) => `/v1/events/${encodeURIComponent(eventId)}/queue`;
  const join = (eventId: string, body: unknown, headers: Record<string, string> = {}) => app.request('POST', joinPath(eventId), body, headers);
  const create = (body: unknown, headers: Record<string, string> = admin) => app.request('POST', '/v1/events', body, headers);
  const patch = (eventId: string, body: unknown, headers: Record<string, string> = admin) =>
    app.request('PATCH', `/v1/events/${encodeURIComponent(eventId)}`, body, headers);
  const createBody = (extra: Record<string, unknown>) => ({ eventId: uniqueId('v-new'), ...extra });

  type Case = [name: string, status: number, code: string, call: () => Promise<HttpResult>];
  const cases: Case[] = [
    // Identifiers that must never reach a Redis key: in the path...
    ['eventId with ":" in the path', 400, 'VALIDATION', () => join('ev:1', { userId: 'u1' })],
    ['eventId with "{" in the path', 400, 'VALIDATION', () => join('ev{1', { userId: 'u1' })],
    ['eventId with "}" in the path', 400, 'VALIDATION', () => join('ev}1', { userId: 'u1' })],
    ['eventId with a space in the path', 400, 'VALIDATION', () => join('ev 1', { userId: 'u1' })],
    ['eventId with a newline in the path', 400, 'VALIDATION', () => join('ev\n1', { userId: 'u1' })],
    ['eventId of 65 characters in the path', 400, 'VALIDATION', () => join(long, { userId: 'u1' })],
    // An empty segment matches no route at all: the router's 404 (nothing reaches a handler).
    ['eventId empty in the path', 404, 'NOT_FOUND', () => app.request('POST', '/v1/events//queue', { userId: 'u1' })],
    ['eventId empty on GET event', 404, 'NOT_FOUND', () => app.request('GET', '/v1/events/')],
    ['eventId starting with "." in the path', 400, 'VALIDATION', () => join('.ev', { userId: 'u1' })],
    ['eventId with ":" on GET event', 400, 'VALIDATION', () => app.request('GET', '/v1/events/ev:1')],
    ['eventId with "{" on PATCH', 400, 'VALIDATION', () => patch('{ev}', { paused: false })],
    ['eventId with ":" on the ticket look-up', 400, 'VALIDATION', () => app.request('GET', `/v1/events/ev:1/queue/${ticket}`)],
    ['eventId with ":" on leave', 400, 'VALIDATION', () => app.request('DELETE', `/v1/events/ev:1/queue/${ticket}`)],
    // ...and in bodies.
    ['userId with ":"', 400, 'VALIDATION', () => join(paused, { userId: 'u:1' })],
    ['userId with "{"', 400, 'VALIDATION', () => join(paused, { userId: 'u{1' })],
    ['userId with "}"', 400, 'VALIDATION', () => join(paused, { userId: 'u}1' })],
    ['userId with a space', 400, 'VALIDATION', () => join(paused, { userId: 'u 1' })],
    ['userId of 65 characters', 400, 'VALIDATION', () => join(paused, { userId: long })],
    ['userId empty', 400, 'VALIDATION', () => join(paused, { userId: '' })],
    ['eventId with ":" in the create body', 400, 'VALIDATION', () => create({ eventId: 'ev:1', capacity: 1 })],
    ['eventId with "{" in the create body', 400, 'VALIDATION', () => create({ eventId: '{ev', capacity: 1 })],
    ['eventId with "}" in the create body', 400, 'VALIDATION', () => create({ eventId: 'ev}', capacity: 1 })],
    ['eventId with a space in the create body', 400, 'VALIDATION', () => create({ eventId: 'e v', capacity: 1 })],
    ['eventId of 65 characters in the create body', 400, 'VALIDATION', () => create({ eventId: long, capacity: 1 })],
    ['eventId empty in the create body', 400, 'VALIDATION', () => create({ eventId: '', capacity: 1 })],
    ['a seat id with ":"', 400, 'VALIDATION', () => create(createBody({ seats: ['A-1', 'B:2'] }))],
    ['a seat id with "{"', 400, 'VALIDATION', () => create(createBody({ seats: ['{A}'] }))],
    // Unknown fields.
    ['an unknown field on join', 400, 'VALIDATION', () => join(paused, { userId: 'u1', vip: true })],
    ['an unknown field on create', 400, 'VALIDATION', () => create(createBody({ capacity: 1, colour: 'red' }))],
    ['an unknown field inside admission', 400, 'VALIDATION', () => create(createBody({ capacity: 1, admission: { ratePerSecond: 5, burst: 9 } }))],
    ['an unknown field on PATCH', 400, 'VALIDATION', () => patch(paused, { paused: false, name: 'x' })],
    ['an unknown field on PUT flag', 400, 'VALIDATION', () => app.request('PUT', '/v1/flags/luaAtomic', { enabled: false, ttl: 5 }, admin)],
    // Wrong types and ranges.
    ['userId a number', 400, 'VALIDATION', () => join(paused, { userId: 42 })],
    ['userId missing', 400, 'VALIDATION', () => join(paused, {})],
    ['join body a JSON array', 400, 'VALIDATION', () => join(paused, [{ userId: 'u1' }])],
    ['join body JSON null', 400, 'VALIDATION', () => join(paused, 'null', json)],
    ['capacity a string', 400, 'VALIDATION', () => create(createBody({ capacity: '10' }))],
    ['capacity 0', 400, 'VALIDATION', () => create(createBody({ capacity: 0 }))],
    ['capacity 100001', 400, 'VALIDATION', () => create(createBody({ capacity: 100001 }))],
    ['capacity 1.5', 400, 'VALIDATION', () => create(createBody({ capacity: 1.5 }))],
    ['seats with a duplicate', 400, 'VALIDATION', () => create(createBody({ seats: ['A-1', 'A-2', 'A-1'] }))],
    ['seats empty', 400, 'VALIDATION', () => create(createBody({ seats: [] }))],
    ['seats not a list', 400, 'VALIDATION', () => create(createBody({ seats: 'A-1' }))],
    ['both seats and capacity', 400, 'VALIDATION', () => create(createBody({ seats: ['A-1'], capacity: 1 }))],
    ['neither seats nor capacity', 400, 'VALIDATION', () => create(createBody({}))],
    ['queue not a backend', 400, 'VALIDATION', () => create(createBody({ capacity: 1, queue: 'list' }))],
    ['admission.ratePerSecond 0', 400, 'VALIDATION', () => create(createBody({ capacity: 1, admission: { ratePerSecond: 0 } }))],
    ['holdTtlSeconds 3601', 400, 'VALIDATION', () => create(createBody({ capacity: 1, holdTtlSeconds: 3601 }))],
    ['PATCH paused a string', 400, 'VALIDATION', () => patch(paused, { paused: 'no' })],
    ['PATCH maxSeatsPerUser 21', 400, 'VALIDATION', () => patch(paused, { maxSeatsPerUser: 21 })],
    ['PUT flag enabled a string', 400, 'VALIDATION', () => app.request('PUT', '/v1/flags/luaAtomic', { enabled: 'false' }, admin)],
    ['PUT flag with no body', 400, 'VALIDATION', () => app.request('PUT', '/v1/flags/luaAtomic', {}, admin)],
    // Size and syntax.
    ['a 17 KiB join body', 413, 'PAYLOAD_TOO_LARGE', () => join(paused, { userId: 'u1', pad: kib17 })],
    ['a create body over ADMIN_BODY_LIMIT_BYTES (4 MiB)', 413, 'PAYLOAD_TOO_LARGE', () => create(createBody({ capacity: 1, pad: 'x'.repeat(4 * 1024 * 1024) }))],
    ['invalid JSON on join', 400, 'VALIDATION', () => join(paused, '{"userId": "u1",', json)],
    ['invalid JSON on create', 400, 'VALIDATION', () => create('{eventId: ev}', { ...admin, ...json })],
    ['an empty JSON body on join', 400, 'VALIDATION', () => app.request('POST', joinPath(paused), '', json)],
    ['a text/plain body on join (parsed as a string, not an object)', 400, 'VALIDATION', () => join(paused, 'userId=u1', { 'content-type': 'text/plain' })],
    ['an XML body on join', 415, 'UNSUPPORTED_MEDIA_TYPE', () => join(paused, '<userId>u1</userId>', { 'content-type': 'application/xml' })],
    // Admin endpoints without the admin token.
    ['POST /v1/events without a token', 401, 'UNAUTHORIZED', () => create(createBody({ capacity: 1 }), {})],
    ['POST /v1/events with a wrong token', 401, 'UNAUTHORIZED', () => create(createBody({ capacity: 1 }), { authorization: 'Bearer wrong-token-0123456789' })],
    ['POST /v1/events with the token but not as Bearer', 401, 'UNAUTHORIZED', () => create(createBody({ capacity: 1 }), { authorization: ADMIN_TOKEN })],
    ['POST /v1/events with the token plus a character', 401, 'UNAUTHORIZED', () => create(createBody({ capacity: 1 }), { authorization: `Bearer ${ADMIN_TOKEN}x` })],
    ['POST /v1/events with no token and a bad body', 401, 'UNAUTHORIZED', () => create({ eventId: 'a:b' }, {})],
    ['PATCH without a token', 401, 'UNAUTHORIZED', () => patch(paused, { paused: false }, {})],
    ['PATCH with a wrong token', 401, 'UNAUTHORIZED', () => patch(paused, { paused: false }, { authorization: 'Bearer nope' })],
    ['GET /v1/flags without a token', 401, 'UNAUTHORIZED', () => app.request('GET', '/v1/flags')],
    ['GET /v1/flags with a wrong token', 401, 'UNAUTHORIZED', () => app.request('GET', '/v1/flags', undefined, { authorization: 'Bearer nope' })],
    ['PUT /v1/flags/x without a token', 401, 'UNAUTHORIZED', () => app.request('PUT', '/v1/flags/luaAtomic', { enabled: false })],
    ['PUT /v1/flags/x with a wrong token', 401, 'UNAUTHORIZED', () => app.request('PUT', '/v1/flags/luaAtomic', { enabled: false }, { authorization: 'Bearer nope' })],
    ['DELETE /v1/flags/x without a token', 401, 'UNAUTHORIZED', () => app.request('DELETE', '/v1/flags/luaAtomic')],
    ['GET audit without a token', 401, 'UNAUTHORIZED', () => app.request('GET', `/v1/events/${paused}/audit`)],
    // Unknown flags.
    ['PUT an unknown flag', 404, 'FLAG_NOT_FOUND', () => app.request('PUT', '/v1/flags/fastLane', { enabled: true }, admin)],
    ['DELETE an unknown flag', 404, 'FLAG_NOT_FOUND', () => app.request('DELETE', '/v1/flags/fastLane', undefined, admin)],
    // Well-formed requests that Redis refuses.
    ['creating an existing event', 409, 'EVENT_EXISTS', () => create({ eventId: paused, capacity: 9 })],
    ['joining twice', 409, 'DUPLICATE', () => join(paused, { userId: 'waiting-user' })],
    ['joining an unknown event', 404, 'EVENT_NOT_FOUND', () => join('no-such-event', { userId: 'u1' })],
    ['pausing an unknown event', 404, 'EVENT_NOT_FOUND', () => patch('no-such-event', { paused: true })],
    ['looking up a ticket with a wrong secret', 404, 'TICKET_NOT_FOUND', () => app.request('GET', `/v1/events/${paused}/queue/${ticket.replace(/\.(.)/, (_m, c) => (c === 'A' ? '.B' : '.A'))}`)],
    ['leaving with a wrong secret', 404, 'TICKET_NOT_FOUND', () => app.request('DELETE', `/v1/events/${paused}/queue/${ticket.replace(/\.(.)/, (_m, c) => (c === 'A' ? '.B' : '.A'))}`)],
    ['leaving with a malformed ticket', 404, 'TICKET_NOT_FOUND', () => app.request('DELETE', `/v1/events/${paused}/queue/nope`)],
    ['joining the idle event with a bad userId', 400, 'VALIDATION', () => join(idle, { userId: 'a b' })],
  ];

  it('the keyspace holds still while nobody asks anything (paused and idle events cost no writes)', async () => {
    const before = await keyspaceDigest(client);
    await sleep(600); // six admitter ticks, two sweeps
    expect(await keyspaceDigest(client)).toBe(before);
  });

  it('the digest notices a change (control: an accepted join moves it)', async () => {
    const before = await keyspaceDigest(client);
    expect((await join(paused, { userId: uniqueId('control') })).status).toBe(202);
    expect(await keyspaceDigest(client)).not.toBe(before);
  });

  it.each(cases)('%s: %d %s, Redis unchanged', async (_name, status, code, call) => {
    const before = await keyspaceDigest(client);
    const r = await call();
    expectError(r, status, code);
    expect(await keyspaceDigest(client)).toBe(before);
  });

  it('accepts the boundary: 64-character ids and every allowed character', async () => {
    const eventId = `E${'v'.repeat(55)}-${Date.now().toString(36)}`.slice(0, 64);
    expect(eventId).toHaveLength(64);
    expect((await create({ eventId, seats: ['a.B_c-1', 'Z'.repeat(64)] })).status).toBe(201);
    const joined = await join(eventId, { userId: `9${'u'.repeat(62)}_` });
    expect(joined.status).toBe(202);
  });
});
