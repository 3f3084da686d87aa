import { QueueParameterHelper } from '@queue-it/connector-javascript';
import { createHmac } from 'node:crypto';
import { allowedTarget, formatQueueItToken, queueIdFor, withQueueItToken } from './queue-it-token';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

describe('formatQueueItToken', () => {
  const token = formatQueueItToken(SECRET, { eventId: 'concert-2026', queueId: 'q-1', expiresAtS: 1780000000 });

  it('writes the fields in the order and with the flags the connector reads, the hash last', () => {
    expect(token).toMatch(/^e_concert-2026~q_q-1~ts_1780000000~ce_false~rt_queue~h_[0-9a-f]{64}$/);
  });

  it('hashes everything before "~h_" with hex HMAC-SHA256 under the secret', () => {
    const [unsigned, hash] = token.split('~h_');
    expect(hash).toBe(createHmac('sha256', SECRET).update(unsigned).digest('hex'));
  });

  it("reads back through the connector's own parser", () => {
    const p = QueueParameterHelper.extractQueueParams(token)!;
    expect(p).toMatchObject({ eventId: 'concert-2026', queueId: 'q-1', timeStamp: 1780000000, extendableCookie: false, redirectType: 'queue' });
    expect(p.queueITTokenWithoutHash).toBe(token.split('~h_')[0]);
    expect(p.hashCode).toBe(token.split('~h_')[1]);
  });
});

describe('queueIdFor', () => {
  it('is UUID-shaped, the same for one session, different for another session or event', () => {
    const id = queueIdFor(SECRET, 'ev', '17', 1780000000000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(queueIdFor(SECRET, 'ev', '17', 1780000000000)).toBe(id);
    expect(new Set([id, queueIdFor(SECRET, 'ev', '18', 1780000000000), queueIdFor(SECRET, 'ev2', '17', 1780000000000), queueIdFor(SECRET, 'ev', '17', 1780000001000)]).size).toBe(4);
  });
});

describe('allowedTarget', () => {
  const origins = ['https://shop.example.com', 'http://localhost:3001'];

  it('takes a URL whose origin is exactly one of the list', () => {
    expect(allowedTarget('https://shop.example.com/checkout?b=1#top', origins)?.pathname).toBe('/checkout');
    expect(allowedTarget('https://SHOP.example.com:443/x', origins)?.origin).toBe('https://shop.example.com');
    expect(allowedTarget('http://localhost:3001/', origins)).not.toBeNull();
  });

  it.each([
    ['another host', 'https://evil.example.com/'],
    ['a host that only starts like an allowed one', 'https://shop.example.com.evil.test/'],
    ['another scheme', 'http://shop.example.com/'],
    ['another port', 'https://shop.example.com:8443/'],
    ['a user name hiding the host', 'https://shop.example.com@evil.test/'],
    ['credentials on an allowed host', 'https://user:pass@shop.example.com/'],
    ['a script URL', 'javascript:alert(1)'],
    ['a relative URL', '/checkout'],
    ['something too long', `https://shop.example.com/${'a'.repeat(5000)}`],
  ])('refuses %s', (_, target) => {
    expect(allowedTarget(target, origins)).toBeNull();
  });
});

describe('withQueueItToken', () => {
  const add = (target: string) => withQueueItToken(new URL(target), 'e_x~h_0');

  it('appends the token to the query, before any fragment', () => {
    expect(add('https://s.example/a')).toBe('https://s.example/a?queueittoken=e_x~h_0');
    expect(add('https://s.example/a?b=1')).toBe('https://s.example/a?b=1&queueittoken=e_x~h_0');
    expect(add('https://s.example/a?')).toBe('https://s.example/a?queueittoken=e_x~h_0');
    expect(add('https://s.example/a?b=1#pay')).toBe('https://s.example/a?b=1&queueittoken=e_x~h_0#pay');
  });

  it('replaces a queueittoken the target already carried', () => {
    expect(add('https://s.example/a?queueittoken=old')).toBe('https://s.example/a?queueittoken=e_x~h_0');
    expect(add('https://s.example/a?b=1&queueittoken=old')).toBe('https://s.example/a?b=1&queueittoken=e_x~h_0');
  });
});
