import { formatTicket, keyFingerprint, macMatches, mintedTicketParts, newNonce, ticketKey, ticketMac, verifyTicket } from './ticket';

describe('self-verifying tickets bound to their join', () => {
  const key = ticketKey('a-secret-of-at-least-thirty-two-characters');
  const epoch = 1_764_000_000_000;
  const nonce = 0xdeadbeef;
  const ticket = formatTicket(key, 'gig', epoch, { kind: 's', n: 42, nonce });

  it('carries its kind, sequence and nonce and verifies for its event', () => {
    expect(ticket).toMatch(/^s42\.[A-Za-z0-9_-]{27}$/);
    expect(verifyTicket(key, 'gig', epoch, ticket)).toEqual({ kind: 's', seq: '42', nonce });
    const p = formatTicket(key, 'gig', epoch, { kind: 'p', n: 7, nonce: 1 });
    expect(verifyTicket(key, 'gig', epoch, p)).toEqual({ kind: 'p', pn: '7', nonce: 1 });
    const sealed = formatTicket(key, 'gig', epoch, { kind: 's', n: 42, nonce, pn: 7 });
    expect(sealed).toMatch(/^s42p7\.[A-Za-z0-9_-]{27}$/);
    expect(verifyTicket(key, 'gig', epoch, sealed)).toEqual({ kind: 's', seq: '42', nonce, pn: '7' });
  });

  it('two joins of one sequence get different tickets; neither verifies as the other', () => {
    const a = formatTicket(key, 'gig', epoch, { kind: 's', n: 42, nonce: newNonce() });
    const b = formatTicket(key, 'gig', epoch, { kind: 's', n: 42, nonce: newNonce() });
    expect(a).not.toBe(b);
    expect(verifyTicket(key, 'gig', epoch, a)!.nonce).not.toBe(verifyTicket(key, 'gig', epoch, b)!.nonce);
  });

  it('is refused when any part is altered, or on another event, event creation or key', () => {
    const body = ticket.split('.')[1];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1; // the nonce
    const altered = [
      `s43.${body}`,
      `p42.${body}`,
      `s42p1.${body}`,
      `s42.${flipped.toString('base64url')}`,
      `s42.${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}`,
      // the last character's 2 unused bits: decodes to the same bytes, must still be refused
      `s42.${body.slice(0, 26)}${String.fromCharCode(body.charCodeAt(26) ^ 1)}`,
      `s42.${'A'.repeat(27)}`,
      `42.${body}`,
      `s042.${body}`,
      `${ticket}x`,
      '',
    ];
    for (const t of altered) expect(verifyTicket(key, 'gig', epoch, t)).toBeNull();
    expect(verifyTicket(key, 'other-gig', epoch, ticket)).toBeNull();
    expect(verifyTicket(key, 'gig', epoch + 1, ticket)).toBeNull();
    expect(verifyTicket(ticketKey('another-secret-of-at-least-thirty-two-chars'), 'gig', epoch, ticket)).toBeNull();
  });

  it('ticketMac / macMatches: a truncated MAC of the same parts matches, of other parts or too short does not', () => {
    const mac = ticketMac(key, 'gig', epoch, { kind: 's', n: 5, nonce: 9 });
    expect(mac).toHaveLength(32);
    expect(macMatches(mac, mac.subarray(0, 6))).toBe(true);
    expect(macMatches(mac, mac.subarray(0, 5))).toBe(false);
    expect(macMatches(ticketMac(key, 'gig', epoch, { kind: 's', n: 5, nonce: 10 }), mac.subarray(0, 8))).toBe(false);
    expect(macMatches(ticketMac(key, 'gig', epoch, { kind: 'p', n: 5, nonce: 9 }), mac.subarray(0, 8))).toBe(false);
  });

  it('mintedTicketParts reads back the parts of every ticket form it formats (no MAC check)', () => {
    for (const parts of [{ kind: 's' as const, n: '42', nonce: 7 }, { kind: 'p' as const, n: '9', nonce: 2 ** 32 - 1 }, { kind: 's' as const, n: '50', nonce: 3, pn: '9' }]) {
      expect(mintedTicketParts(formatTicket(key, 'gig', 1, parts))).toEqual(parts);
    }
    expect(mintedTicketParts('not a ticket')).toBeNull();
  });

  it('nonces are never 0 and spread over 32 bits', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newNonce()));
    expect(seen.has(0)).toBe(false);
    expect(seen.size).toBeGreaterThan(990);
    expect(Math.max(...seen)).toBeGreaterThan(2 ** 31);
  });

  it('fingerprints an Idempotency-Key per event and user', () => {
    const fp = keyFingerprint(key, 'gig', 'alice', 'key-0123456789abcdef');
    expect(fp).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(keyFingerprint(key, 'gig', 'alice', 'key-0123456789abcdef')).toBe(fp);
    expect(keyFingerprint(key, 'gig', 'bob', 'key-0123456789abcdef')).not.toBe(fp);
    expect(keyFingerprint(key, 'gig2', 'alice', 'key-0123456789abcdef')).not.toBe(fp);
  });
});
