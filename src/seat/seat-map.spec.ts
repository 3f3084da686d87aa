import { DomainError } from '../common/domain-error';
import { buildLayout, SeatChunk, SeatMap } from './seat-map';

/** Chunks as seatChunk-4.lua returns them for a venue: S1 (P1) rows A, B of 3 seats; S2 (P2) row A of 2. */
function venueChunks(): SeatChunk[] {
  const ids = ['S1-A-1', 'S1-A-2', 'S1-A-3', 'S1-B-1', 'S1-B-2', 'S1-B-3', 'S2-A-1', 'S2-A-2'];
  const indexes = [4097, 4098, 4099, 8193, 8194, 8195, 12289, 12290];
  const rows = new Map([
    [1, '1|3|S1|A'],
    [2, '1|3|S1|B'],
    [3, '2|2|S2|A'],
  ]);
  const base = { epoch: 1700000000000, version: 7, tag: '1700000000.123456', capacity: 8, levels: [] as string[], rows: new Map<number, string>() };
  // Two chunks of 5 and 3 seats, the first with the price levels.
  return [
    { ...base, next: 8194, states: 'ahsaa', ids: ids.slice(0, 5), indexes: indexes.slice(0, 5), rows: new Map([...rows].slice(0, 2)), levels: ['EUR', 'P1|5000', 'P2|2500'] },
    { ...base, next: 0, states: 'aah', ids: ids.slice(5), indexes: indexes.slice(5), rows: new Map([...rows].slice(1)) },
  ];
}

const states = (map: SeatMap) => [...map.states];
const json = (answer: { json: string }) => JSON.parse(answer.json);
const fail = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof DomainError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
};

describe('SeatMap', () => {
  const chunks = venueChunks();
  const layout = buildLayout(chunks);
  const fresh = () => new SeatMap(layout, chunks.map((c) => c.states).join(''), 7);

  it('builds sections, rows and price levels in seat order from the chunks', () => {
    expect(layout.sections).toEqual([
      { sectionId: 'S1', priceLevel: 'P1', first: 0, count: 6, rows: [0, 1] },
      { sectionId: 'S2', priceLevel: 'P2', first: 6, count: 2, rows: [2] },
    ]);
    expect(layout.rows.map((r) => [r.rowId, r.first, r.count])).toEqual([['A', 0, 3], ['B', 3, 3], ['A', 6, 2]]);
    expect(layout.priceLevels).toEqual([{ priceLevel: 'P1', price: 5000, currency: 'EUR' }, { priceLevel: 'P2', price: 2500, currency: 'EUR' }]);
    expect(json(fresh().layoutView('ev', 'S2'))).toEqual({
      eventId: 'ev', capacity: 8, priceLevels: layout.priceLevels,
      sections: [{ sectionId: 'S2', priceLevel: 'P2', firstIndex: 6, count: 2, rows: [{ rowId: 'A', seatIds: ['S2-A-1', 'S2-A-2'] }] }],
    });
  });

  it('encodes 2 bits per seat, counts per section, and follows log entries (a new version, a new ETag)', () => {
    const map = fresh();
    // seats 0..7: a h s a a a a h -> 0 1 2 0 | 0 0 0 1
    const whole = json(map.state());
    expect(whole).toEqual({ version: 7, encoding: '2bit-base64', firstIndex: 0, count: 8, available: 5, held: 2, sold: 1, state: Buffer.from([0b00100100, 0b01000000]).toString('base64') });
    expect(json(map.state('S2'))).toMatchObject({ firstIndex: 6, count: 2, available: 1, held: 1, sold: 0, state: Buffer.from([0b0100]).toString('base64') });
    expect(json(map.sections()).sections.map((s: any) => [s.sectionId, s.available, s.held, s.sold, s.rows])).toEqual([['S1', 4, 1, 1, 2], ['S2', 1, 1, 0, 1]]);
    const etag = map.state().etag;

    map.apply(['hS1-A-1,S2-A-1', 'sS1-A-2', 'aS2-A-2', 'aS1-B-1'], 11);
    expect(states(map)).toEqual([1, 2, 2, 0, 0, 0, 1, 0]);
    expect(json(map.state())).toMatchObject({ version: 11, available: 4, held: 2, sold: 2 });
    expect(map.state().etag).not.toBe(etag);
    expect(json(map.sections()).sections.map((s: any) => [s.available, s.held, s.sold])).toEqual([[3, 1, 2], [1, 1, 0]]);
  });

  it('pages in seat order by filter, with a cursor only when more seats match', () => {
    const map = fresh();
    const page = (q: object) => json(map.page(q));
    expect(page({ limit: 2 })).toMatchObject({ available: 5, held: 2, sold: 1, nextCursor: 4098 });
    expect(page({ limit: 2 }).seats).toEqual([
      { seatId: 'S1-A-1', status: 'available', sectionId: 'S1', rowId: 'A', priceLevel: 'P1' },
      { seatId: 'S1-A-2', status: 'held', sectionId: 'S1', rowId: 'A', priceLevel: 'P1' },
    ]);
    expect(page({ status: 'held', limit: 1 })).toMatchObject({ seats: [{ seatId: 'S1-A-2' }], nextCursor: 4098 });
    expect(page({ status: 'held', limit: 1, cursor: 4098 })).toMatchObject({ seats: [{ seatId: 'S2-A-2' }], nextCursor: null });
    expect(page({ status: 'held', limit: 2 })).toMatchObject({ nextCursor: null });
    expect(page({ priceLevel: 'P2' }).seats.map((s: any) => s.seatId)).toEqual(['S2-A-1', 'S2-A-2']);
    expect(page({ sectionId: 'S1', status: 'available', cursor: 4099 }).seats.map((s: any) => s.seatId)).toEqual(['S1-B-1', 'S1-B-2', 'S1-B-3']);
    expect(fail(() => map.page({ sectionId: 'S9' }))).toBe('VALIDATION: no section S9');
    expect(fail(() => map.page({ priceLevel: 'P9' }))).toBe('VALIDATION: no price level P9');
    expect(fail(() => map.page({ sectionId: 'S1', priceLevel: 'P2' }))).toBe('VALIDATION: section S1 is not at price level P2');
    expect(fail(() => map.state('S9'))).toBe('SECTION_NOT_FOUND: no section S9');
  });

  it('an event without a layout is one GA section and row', () => {
    const ga = buildLayout([{ epoch: 1, version: 0, tag: '', capacity: 3, next: 0, states: 'aha', ids: ['GA-1', 'GA-2', 'GA-3'], indexes: [1, 2, 3], rows: new Map(), levels: [] }]);
    const map = new SeatMap(ga, 'aha', 0);
    expect(json(map.sections())).toEqual({ version: 0, sections: [{ sectionId: 'GA', priceLevel: 'GA', available: 2, held: 1, sold: 0, rows: 1 }] });
    expect(json(map.page({ status: 'held' })).seats).toEqual([{ seatId: 'GA-2', status: 'held', priceLevel: 'GA' }]);
    expect(json(map.page({ priceLevel: 'GA' })).seats).toHaveLength(3);
    expect(fail(() => map.page({ priceLevel: 'P1' }))).toBe('VALIDATION: this event has no layout: its only price level is GA');
  });
});
