import { randomToken } from './random';

describe('randomToken', () => {
  it('gives base64url strings of the asked length, all different, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i += 1) {
      const token = randomToken(16);
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(5000);
    expect(randomToken(12)).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
