import { randomBytes } from 'node:crypto';
import { entryTimeMs, formatRequestId, MAX_N, minutesSince, verifyRequestId } from './request-id';

describe('AWS request id codec', () => {
  const key = randomBytes(32);
  const epoch = 1_800_000_000_000;
  const parts = { kind: 's' as const, n: 4711, nonce: 0xdeadbeef, entryMinutes: 90 };

  it('is UUID-shaped and reads back the parts it was made of', () => {
    const id = formatRequestId(key, 'ev1', epoch, parts);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(verifyRequestId(key, 'ev1', epoch, id)).toEqual(parts);
    const p = { kind: 'p' as const, n: MAX_N, nonce: 1, entryMinutes: 2 ** 16 - 1 };
    expect(verifyRequestId(key, 'ev1', epoch, formatRequestId(key, 'ev1', epoch, p))).toEqual(p);
  });

  it('refuses another event, another creation, another key, any altered digit, upper case and garbage', () => {
    const id = formatRequestId(key, 'ev1', epoch, parts);
    expect(verifyRequestId(key, 'ev2', epoch, id)).toBeNull();
    expect(verifyRequestId(key, 'ev1', epoch + 1, id)).toBeNull();
    expect(verifyRequestId(randomBytes(32), 'ev1', epoch, id)).toBeNull();
    for (let i = 0; i < id.length; i += 1) {
      if (id[i] === '-') continue;
      const altered = id.slice(0, i) + (id[i] === '0' ? '1' : '0') + id.slice(i + 1);
      expect(verifyRequestId(key, 'ev1', epoch, altered)).toBeNull();
    }
    expect(verifyRequestId(key, 'ev1', epoch, id.toUpperCase())).toBeNull();
    expect(verifyRequestId(key, 'ev1', epoch, 'not-a-uuid')).toBeNull();
    expect(() => formatRequestId(key, 'ev1', epoch, { ...parts, n: 0 })).toThrow(RangeError);
    expect(() => formatRequestId(key, 'ev1', epoch, { ...parts, n: MAX_N + 1 })).toThrow(RangeError);
    expect(() => formatRequestId(key, 'ev1', epoch, { ...parts, nonce: 0 })).toThrow(RangeError);
  });

  it('entry time: the latest time with those minutes since creation, not after now', () => {
    expect(minutesSince(epoch, epoch + 90 * 60_000 + 59_999)).toBe(90);
    expect(entryTimeMs(epoch, 90, epoch + 100 * 60_000)).toBe(epoch + 90 * 60_000);
    const wrap = 2 ** 16 * 60_000;
    expect(entryTimeMs(epoch, 90, epoch + wrap + 100 * 60_000)).toBe(epoch + wrap + 90 * 60_000);
    expect(entryTimeMs(epoch, 90, epoch + wrap + 10 * 60_000)).toBe(epoch + 90 * 60_000);
  });
});
