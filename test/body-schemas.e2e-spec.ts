import { startApp, TestApp } from './support/app-harness';
import { startRedis } from './support/redis-harness';

/**
 * The join and hold bodies are validated by Fastify against their one JSON
 * schema definition (src/queue/dto/join-queue.dto.ts, src/seat/dto/hold.dto.ts).
 * Each refusal's message, pinned word for word: clients may show it, and a
 * change of how the schema is written must not change what they read.
 * (Schema validation runs before the access-token guard, so a hold needs none here.)
 */
const PATTERN = '"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"';
const CASES: [string, 'queue' | 'holds', unknown, string][] = [
  ['join: userId not a string', 'queue', { userId: 5 }, 'body/userId must be string'],
  ['join: userId null', 'queue', { userId: null }, 'body/userId must be string'],
  ['join: userId with a space', 'queue', { userId: 'a b' }, `body/userId must match pattern ${PATTERN}`],
  ['join: userId of 65 characters', 'queue', { userId: 'x'.repeat(65) }, `body/userId must match pattern ${PATTERN}`],
  ['join: an unknown field', 'queue', { userId: 'fan-1', extra: true }, 'body must NOT have additional properties: extra'],
  ['join: challenge without nonce', 'queue', { challenge: 'x' }, 'body must have property nonce when property challenge is present'],
  ['join: nonce without challenge', 'queue', { nonce: 'x' }, 'body must have property challenge when property nonce is present'],
  [
    'join: challenge and nonce too long',
    'queue',
    { challenge: 'x'.repeat(129), nonce: 'y'.repeat(65) },
    'body/challenge must NOT have more than 128 characters; body/nonce must NOT have more than 64 characters',
  ],
  ['join: an array', 'queue', [], 'body must be object'],
  ['join: a string', 'queue', 'str', 'body must be object'],
  ['hold: no seat', 'holds', { seatIds: [] }, 'body/seatIds must NOT have fewer than 1 items'],
  ['hold: a seat twice', 'holds', { seatIds: ['a', 'a'] }, 'body/seatIds must NOT have duplicate items (items ## 1 and 0 are identical)'],
  ['hold: 21 seats', 'holds', { seatIds: Array.from({ length: 21 }, (_, i) => `s${i}`) }, 'body/seatIds must NOT have more than 20 items'],
  ['hold: a bad seat id', 'holds', { seatIds: ['bad id'] }, `body/seatIds/0 must match pattern ${PATTERN}`],
  ['hold: seatIds not an array', 'holds', { seatIds: 'A-1' }, 'body/seatIds must be array'],
  ['hold: quantity 0', 'holds', { quantity: 0 }, 'body/quantity must be >= 1'],
  ['hold: quantity 21', 'holds', { quantity: 21 }, 'body/quantity must be <= 20'],
  ['hold: quantity 1.5', 'holds', { quantity: 1.5 }, 'body/quantity must be integer'],
  ['hold: quantity as a string', 'holds', { quantity: '2' }, 'body/quantity must be integer'],
  ['hold: together not a boolean', 'holds', { together: 'yes' }, 'body/together must be boolean'],
  [
    'hold: bad priceLevel and sectionId',
    'holds',
    { priceLevel: 'a:b', sectionId: '{x}' },
    `body/priceLevel must match pattern ${PATTERN}; body/sectionId must match pattern ${PATTERN}`,
  ],
  ['hold: two unknown fields', 'holds', { quantity: 2, foo: 1, bar: 2 }, 'body must NOT have additional properties: foo; body must NOT have additional properties: bar'],
];

describe('join and hold bodies: the refusals of their schemas, word for word', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.cleanup();
  });

  it.each(CASES)('%s', async (_name, route, body, message) => {
    const r = await app.request('POST', `/v1/events/gig/${route}`, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ statusCode: 400, code: 'VALIDATION', message });
  });
});
