import { createHash, generateKeyPairSync } from 'node:crypto';
import { leadingZeroBits, search, sha256Words } from '../../web/pow';
import { parseEnv } from '../config/env.schema';
import { challengeKey, issueChallenge, verifyChallenge, workBits } from './challenge';
import { clientAddress } from './join-rate';

const key = challengeKey('unit-test-secret-0123456789abcdef0123456789');
const NOW = 1_800_000_000_000;
const EPOCH = 1_799_000_000_000;

/** A nonce that solves `challenge` at `bits`, found the way the page finds it. */
const solve = (challenge: string, bits: number) => search(challenge, bits, 0, 1 << 24) as string;

describe('join challenges', () => {
  it('the page\'s SHA-256 equals node:crypto\'s, across block boundaries and non-ASCII text', () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 200]) {
      const text = 'x'.repeat(length) + (length % 2 ? 'é€' : '');
      const words = Array.from(sha256Words(text), (w) => w.toString(16).padStart(8, '0')).join('');
      expect(words).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
      expect(leadingZeroBits(text)).toBe(workBits(text, ''));
    }
  });

  it('a challenge solved as the page solves it verifies for its event only', () => {
    const { challenge, expiresAtMs } = issueChallenge(key, 'ev-1', EPOCH, 10, NOW);
    expect(expiresAtMs).toBe(NOW + 300_000);
    const nonce = solve(challenge, 10);
    expect(workBits(challenge, nonce)).toBeGreaterThanOrEqual(10);
    expect(verifyChallenge(key, 'ev-1', challenge, nonce)).toMatchObject({ bits: 10, expiresAtMs, epoch: EPOCH });
    expect(verifyChallenge(key, 'ev-2', challenge, nonce)).toBeNull();
    expect(verifyChallenge(challengeKey('another-secret-0123456789abcdef01234567'), 'ev-1', challenge, nonce)).toBeNull();
  });

  it('refuses a wrong nonce, an altered difficulty or expiry, and garbage', () => {
    const { challenge } = issueChallenge(key, 'ev-1', EPOCH, 10, NOW);
    let wrong = 0;
    while (workBits(challenge, String(wrong)) >= 10) wrong += 1;
    expect(verifyChallenge(key, 'ev-1', challenge, String(wrong))).toBeNull();
    const [, expires, epoch, id, mac] = challenge.split('.');
    const easier = `0.${expires}.${epoch}.${id}.${mac}`;
    expect(verifyChallenge(key, 'ev-1', easier, '0')).toBeNull();
    const later = `10.${Number(expires) + 1}.${epoch}.${id}.${mac}`;
    expect(verifyChallenge(key, 'ev-1', later, solve(later, 10))).toBeNull();
    // another creation of the event (deleted and created again under the same id)
    const recreated = `10.${expires}.${Number(epoch) + 1}.${id}.${mac}`;
    expect(verifyChallenge(key, 'ev-1', recreated, solve(recreated, 10))).toBeNull();
    for (const junk of ['', 'x', '10.1.2.3', '10.1.2.3.4', challenge + '.x']) expect(verifyChallenge(key, 'ev-1', junk, '0')).toBeNull();
  });
});

describe('client address', () => {
  it('is the socket peer unless TRUST_PROXY_HOPS is set', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.7', 0)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', undefined, 1)).toBe('10.0.0.1');
  });

  it('is the hops-th address from the right of X-Forwarded-For, whatever the client put on the left', () => {
    expect(clientAddress('10.0.0.1', 'spoofed, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.9', 2)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', ['a, 2001:db8::1', '10.0.0.9'], 2)).toBe('2001:db8::1');
    expect(clientAddress('10.0.0.1', '203.0.113.7', 3)).toBe('203.0.113.7');
  });
});

describe('JOIN_IDENTITY configuration', () => {
  const pem = (type: 'rsa' | 'ec' | 'ed25519', curve?: string) =>
    (generateKeyPairSync as any)(type, { modulusLength: 2048, namedCurve: curve }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

  it('jwt without a key stops the boot naming the missing variables', () => {
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt' })).toThrow(/JOIN_JWT_SECRET or JOIN_JWT_PUBLIC_KEY must be set when JOIN_IDENTITY=jwt/);
    expect(() => parseEnv({ JOIN_IDENTITY: 'anonymous' })).not.toThrow();
  });

  it('accepts a secret, an RSA or an EC P-256 key; refuses other keys and both at once', () => {
    expect(parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_SECRET: 's'.repeat(32) }).JOIN_IDENTITY).toBe('jwt');
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_SECRET: 'short' })).toThrow(/JOIN_JWT_SECRET/);
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem('rsa') })).not.toThrow();
    // One-line env files carry the PEM with literal \n.
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem('ec', 'P-256').replace(/\n/g, '\\n') })).not.toThrow();
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem('ed25519') })).toThrow(/JOIN_JWT_PUBLIC_KEY must be a PEM public key/);
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem('ec', 'P-384') })).toThrow(/JOIN_JWT_PUBLIC_KEY/);
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: 'not a key' })).toThrow(/JOIN_JWT_PUBLIC_KEY/);
    expect(() => parseEnv({ JOIN_IDENTITY: 'jwt', JOIN_JWT_SECRET: 's'.repeat(32), JOIN_JWT_PUBLIC_KEY: pem('rsa') })).toThrow(/only one/);
  });
});
