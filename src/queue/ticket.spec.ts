import { formatTicket, keyFingerprint, ticketKey, verifyTicket } from './ticket';

describe('self-verifying tickets', () => {
  const key = ticketKey('a-secret-of-at-least-thirty-two-characters');
  const epoch = 1_764_000_000_000;
  const ticket = formatTicket(key, 'gig', epoch, 42);

  it('carries its kind and sequence and verifies for its event', () => {
    expect(ticket).toMatch(/^s42\.[A-Za-z0-9_-]{22}$/);
    expect(verifyTicket(key, 'gig', epoch, ticket)).toEqual({ kind: 's', seq: '42' });
  });

  it('is refused when any part is altered, or on another event, event creation or key', () => {
    const mac = ticket.split('.')[1];
    const altered = [
      `s43.${mac}`,
      `s42.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`,
      // the last character's 4 unused bits: decodes to the same bytes, must still be refused
      `s42.${mac.slice(0, 21)}${String.fromCharCode(mac.charCodeAt(21) ^ 1)}`,
      `42.${mac}`,
      `s042.${mac}`,
      `${ticket}x`,
      '',
    ];
    for (const t of altered) expect(verifyTicket(key, 'gig', epoch, t)).toBeNull();
    expect(verifyTicket(key, 'other-gig', epoch, ticket)).toBeNull();
    expect(verifyTicket(key, 'gig', epoch + 1, ticket)).toBeNull();
    expect(verifyTicket(ticketKey('another-secret-of-at-least-thirty-two-chars'), 'gig', epoch, ticket)).toBeNull();
  });

  it('fingerprints an Idempotency-Key per event and user', () => {
    const fp = keyFingerprint(key, 'gig', 'alice', 'key-0123456789abcdef');
    expect(fp).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(keyFingerprint(key, 'gig', 'alice', 'key-0123456789abcdef')).toBe(fp);
    expect(keyFingerprint(key, 'gig', 'bob', 'key-0123456789abcdef')).not.toBe(fp);
    expect(keyFingerprint(key, 'gig2', 'alice', 'key-0123456789abcdef')).not.toBe(fp);
  });
});
