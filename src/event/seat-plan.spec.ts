import { DomainError } from '../common/domain-error';
import { LayoutDto } from './dto/layout.dto';
import { planLayout, planSeats, ROW_SPAN } from './seat-plan';

const layout = (sections: LayoutDto['sections'], priceLevels: LayoutDto['priceLevels'] = [{ priceLevel: 'P1', price: 100, currency: 'EUR' }]): LayoutDto => ({
  priceLevels,
  sections,
});

describe('planLayout', () => {
  it('numbers rows best first and seats by position: index = row x 4096 + position', () => {
    const plan = planLayout(
      layout(
        [
          { sectionId: 'A', priceLevel: 'P2', rows: [{ rowId: '1', seats: 2 }, { rowId: '2', seats: ['7', '8'] }] },
          { sectionId: 'B', priceLevel: 'P1', rows: [{ rowId: 'X', seats: 1 }] },
          { sectionId: 'C', priceLevel: 'P2', rows: [{ rowId: '1', seats: 1 }] },
        ],
        [
          { priceLevel: 'P1', price: 5000, currency: 'EUR' },
          { priceLevel: 'P2', price: 2500, currency: 'EUR' },
        ],
      ),
    );
    expect(plan.capacity).toBe(6);
    expect(plan.seatIds).toEqual(['A-1-1', 'A-1-2', 'A-2-7', 'A-2-8', 'B-X-1', 'C-1-1']);
    expect(plan.indexes).toEqual([ROW_SPAN + 1, ROW_SPAN + 2, 2 * ROW_SPAN + 1, 2 * ROW_SPAN + 2, 3 * ROW_SPAN + 1, 4 * ROW_SPAN + 1]);
    expect(plan.rows.map((r) => [r.row, r.level, r.seats, r.sectionId, r.rowId])).toEqual([
      [1, 2, 2, 'A', '1'],
      [2, 2, 2, 'A', '2'],
      [3, 1, 1, 'B', 'X'],
      [4, 2, 1, 'C', '1'],
    ]);
    const meta = Object.fromEntries(plan.meta.reduce<[string, unknown][]>((acc, v, i, all) => (i % 2 ? acc : [...acc, [String(v), all[i + 1]]]), []));
    expect(meta).toMatchObject({
      layout: 1,
      currency: 'EUR',
      levels: 2,
      'level:1': 'P1|5000',
      'level:2': 'P2|2500',
      'levelOf:P2': 2,
      'a:1': 1,
      'a:2': 5,
      'section:A': '2|1|2',
      'section:C': '2|4|4',
      // Level P2's rows: sections A and C, not adjacent, so two ranges.
      'levelRows:2': '1-2,4-4',
      'levelRows:1': '3-3',
    });
  });

  it.each([
    ['an undefined price level', layout([{ sectionId: 'A', priceLevel: 'P9', rows: [{ rowId: '1', seats: 1 }] }])],
    ['a section listed twice', layout([{ sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '1', seats: 1 }] }, { sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '2', seats: 1 }] }])],
    ['a row listed twice', layout([{ sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '1', seats: 1 }, { rowId: '1', seats: 1 }] }])],
    ['two currencies', layout([{ sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '1', seats: 1 }] }], [{ priceLevel: 'P1', price: 1, currency: 'EUR' }, { priceLevel: 'P2', price: 1, currency: 'USD' }])],
    ['a price level listed twice', layout([{ sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '1', seats: 1 }] }], [{ priceLevel: 'P1', price: 1, currency: 'EUR' }, { priceLevel: 'P1', price: 2, currency: 'EUR' }])],
    ['two ways to one seat id', layout([{ sectionId: 'A-1', priceLevel: 'P1', rows: [{ rowId: '2', seats: 1 }] }, { sectionId: 'A', priceLevel: 'P1', rows: [{ rowId: '1-2', seats: 1 }] }])],
    ['a seat id over 64 characters', layout([{ sectionId: 'S'.repeat(45), priceLevel: 'P1', rows: [{ rowId: 'R'.repeat(20), seats: 1 }] }])],
    ['more than 100,000 seats', layout(Array.from({ length: 26 }, (_, i) => ({ sectionId: `S${i}`, priceLevel: 'P1', rows: [{ rowId: '1', seats: 4000 }] })))],
  ])('refuses %s with VALIDATION', (_name, l) => {
    expect(() => planLayout(l)).toThrow(DomainError);
  });

  it('plans named seats in the order given', () => {
    expect(planSeats(['x', 'y'])).toEqual({ capacity: 2, seatIds: ['x', 'y'], indexes: [1, 2], rows: [], meta: [] });
  });
});
