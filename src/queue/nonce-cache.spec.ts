import { NonceCache } from './nonce-cache';
import { nonceBytes } from './ticket';

const piece = (from: number, nonces: number[], check: number | null = null) => ({
  from,
  check: check === null ? Buffer.alloc(0) : nonceBytes(check),
  bytes: Buffer.concat(nonces.map(nonceBytes)),
});

describe('a replica\'s copy of a nonce string', () => {
  it('holds pieces as they follow on, and says what to read next', () => {
    const c = new NonceCache();
    expect(c.cursor()).toEqual({ check: 0, from: 0, generation: 0 });
    expect(c.apply(piece(11, [5, 6, 7]), 0)).toBe(true);
    expect([c.get(10), c.get(11), c.get(13), c.get(14)]).toEqual([undefined, 5, 7, undefined]);
    expect(c.cursor()).toEqual({ check: 13, from: 14, generation: 0 });
    expect(c.apply(piece(14, [8, 0], 7), 0)).toBe(true);
    // an unwritten number (0) is held, but the check point stays on the last nonce read
    expect([c.get(14), c.get(15)]).toEqual([8, 0]);
    expect(c.cursor()).toEqual({ check: 14, from: 16, generation: 0 });
  });

  it('empties itself when the check point no longer holds what was read there (Redis lost writes)', () => {
    const c = new NonceCache();
    c.apply(piece(1, [5, 6]), 0);
    expect(c.apply(piece(3, [9], 7), 0)).toBe(false);
    expect(c.get(1)).toBeUndefined();
    expect(c.cursor()).toEqual({ check: 0, from: 0, generation: 1 });
    // gone altogether (the string is shorter now) is a loss too
    c.apply(piece(1, [5, 6]), 1);
    expect(c.apply(piece(3, [], null), 1)).toBe(false);
  });

  it('drops a read asked for before it was emptied, and forgets numbers below the head in large steps', () => {
    const c = new NonceCache();
    const before = c.cursor();
    c.clear();
    expect(c.apply(piece(1, [5]), before.generation)).toBe(true);
    expect(c.get(1)).toBeUndefined();
    const many = Array.from({ length: 40_000 }, (_, i) => i + 1);
    c.apply(piece(1, many), c.cursor().generation);
    c.dropBelow(30_000);
    expect(c.get(29_999)).toBeUndefined();
    expect([c.get(30_000), c.get(40_000)]).toEqual([30_000, 40_000]);
  });
});
