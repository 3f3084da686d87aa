import type { SeatStateBody, SectionLayout } from '../api/types';
import { Picks, SectionSeats } from './section-seats';

/** A section of two rows: A-1-1..3 and A-2-1..2, seat indexes 10..14. */
const layout: SectionLayout = {
  sectionId: 'A',
  priceLevel: 'FLOOR',
  firstIndex: 10,
  count: 5,
  rows: [
    { rowId: '1', seatIds: ['A-1-1', 'A-1-2', 'A-1-3'] },
    { rowId: '2', seatIds: ['A-2-1', 'A-2-2'] },
  ],
};

/** The state read of the section with these codes, encoded as the service does. */
function read(version: number, codes: number[]): SeatStateBody {
  const bytes = Buffer.alloc(Math.ceil(codes.length / 4));
  codes.forEach((c, k) => (bytes[k >> 2] |= c << ((k & 3) * 2)));
  const count = (c: number) => codes.filter((x) => x === c).length;
  return { version, encoding: '2bit-base64', firstIndex: 10, count: codes.length, available: count(0), held: count(1), sold: count(2), state: bytes.toString('base64') };
}

describe('SectionSeats', () => {
  it('maps each seat of the layout, row after row, to its state', () => {
    const section = new SectionSeats(layout);
    expect(section.apply(read(7, [0, 1, 2, 0, 1]))).toEqual(['A-1-1', 'A-1-2', 'A-1-3', 'A-2-1', 'A-2-2']); // first read: all
    expect(['A-1-1', 'A-1-2', 'A-1-3', 'A-2-1', 'A-2-2'].map((id) => section.status(id))).toEqual(['available', 'held', 'sold', 'available', 'held']);
    expect(section.status('B-1-1')).toBeUndefined();
  });

  it('reports only the seats a later read changed, and ignores a read older than the one shown', () => {
    const section = new SectionSeats(layout);
    section.apply(read(7, [0, 1, 2, 0, 1]));
    expect(section.apply(read(9, [0, 0, 2, 1, 1]))).toEqual(['A-1-2', 'A-2-1']);
    expect(section.apply(read(9, [0, 0, 2, 1, 1]))).toEqual([]); // same version again: nothing new
    expect(section.apply(read(8, [1, 1, 1, 1, 1]))).toBeUndefined(); // another replica, a refresh behind
    expect(section.status('A-1-1')).toBe('available');
  });

  it('shows a seat someone else took as held until the next read', () => {
    const section = new SectionSeats(layout);
    section.apply(read(1, [0, 0, 0, 0, 0]));
    expect(section.markTaken('A-1-3')).toBe(true);
    expect(section.status('A-1-3')).toBe('held');
    expect(section.markTaken('A-1-3')).toBe(false); // already not available
    expect(section.markTaken('Z-9-9')).toBe(false);
    expect(section.apply(read(2, [0, 0, 2, 0, 0]))).toEqual(['A-1-3']);
    expect(section.status('A-1-3')).toBe('sold');
  });

  it('refuses a state of other seats, and a layout whose rows do not add up to its count', () => {
    const section = new SectionSeats(layout);
    expect(() => section.apply({ ...read(1, [0, 0, 0, 0, 0]), firstIndex: 0 })).toThrow(/not section A/);
    expect(() => new SectionSeats({ ...layout, count: 6 })).toThrow(/lists 5 seats, its count is 6/);
  });
});

describe('Picks', () => {
  it('picks available seats up to the limit, in the order picked, and unpicks', () => {
    const picks = new Picks();
    expect(picks.toggle('A-1-2', 'available', 2)).toBe('picked');
    expect(picks.toggle('A-1-1', 'available', 2)).toBe('picked');
    expect(picks.toggle('A-1-3', 'available', 2)).toBe('full');
    expect(picks.list()).toEqual(['A-1-2', 'A-1-1']);
    expect(picks.toggle('A-1-2', 'available', 2)).toBe('unpicked');
    expect(picks.toggle('A-2-1', 'held', 2)).toBe('unavailable');
    expect(picks.toggle('Z-1-1', undefined, 2)).toBe('unavailable');
    expect(picks.list()).toEqual(['A-1-1']);
  });

  it('a seat that stopped being available can still be unpicked, and drop() forgets it', () => {
    const picks = new Picks();
    picks.toggle('A-1-1', 'available', 4);
    picks.toggle('A-1-2', 'available', 4);
    expect(picks.toggle('A-1-1', 'sold', 4)).toBe('unpicked');
    picks.drop('A-1-2');
    expect(picks.list()).toEqual([]);
  });
});
