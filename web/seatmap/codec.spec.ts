import { decodeSeatStates, statusOf } from './codec';

describe('decodeSeatStates (2 bits a seat, base64)', () => {
  it('reads seat k from bits (k & 3) * 2 of byte k >> 2, lowest bits first', () => {
    // states 0,1,2,0 | 2,2 -> byte 0 = 0 | 1<<2 | 2<<4 | 0<<6 = 0x24, byte 1 = 2 | 2<<2 = 0x0a
    expect(Buffer.from([0x24, 0x0a]).toString('base64')).toBe('JAo=');
    expect([...decodeSeatStates('JAo=', 6)]).toEqual([0, 1, 2, 0, 2, 2]);
  });

  it('reads every seat of a large range, padding bits after the last seat ignored', () => {
    const count = 60_001; // 15,001 bytes: the last holds one seat
    const states = Array.from({ length: count }, (_, k) => (k * 7 + (k >> 5)) % 3);
    const bytes = Buffer.alloc(Math.ceil(count / 4), 0);
    states.forEach((state, k) => (bytes[k >> 2] |= state << ((k & 3) * 2)));
    bytes[bytes.length - 1] |= 0b11111100; // bits past the last seat
    const decoded = decodeSeatStates(bytes.toString('base64'), count);
    expect(decoded.length).toBe(count);
    expect([...decoded]).toEqual(states);
  });

  it('refuses a state too short for its seats', () => {
    expect(() => decodeSeatStates('JAo=', 9)).toThrow(/2 bytes, 3 are needed for 9 seats/);
  });

  it('names the codes; the unused 3 reads as not for sale', () => {
    expect([0, 1, 2, 3].map(statusOf)).toEqual(['available', 'held', 'sold', 'sold']);
  });
});
