import { DomainError } from '../common/domain-error';
import { ID_PATTERN } from '../common/identifiers';
import { LayoutDto, MAX_ROW_SEATS } from './dto/layout.dto';

/** Seat index of a layout seat: row x ROW_SPAN + position (lua/includes/layout.lua). */
export const ROW_SPAN = 4096;
export const MAX_CAPACITY = 100_000;

export interface PlannedRow {
  row: number;
  level: number;
  seats: number;
  sectionId: string;
  rowId: string;
}

/**
 * Everything the creation scripts write for an event's seats: seat ids with
 * their index (seat order), the layout's rows, and the layout's meta fields
 * (price levels, sections, per-level counters). Events made from `seats` or
 * `capacity` have no rows and no layout fields.
 */
export interface SeatPlan {
  capacity: number;
  seatIds: string[];
  /** seat index of seatIds[i] */
  indexes: number[];
  rows: PlannedRow[];
  /** name, value pairs for the event's meta hash */
  meta: (string | number)[];
}

export function planSeats(seatIds: string[]): SeatPlan {
  return { capacity: seatIds.length, seatIds, indexes: seatIds.map((_, i) => i + 1), rows: [], meta: [] };
}

export const gaSeatIds = (capacity: number) => Array.from({ length: capacity }, (_, i) => `GA-${i + 1}`);

const invalid = (message: string) => new DomainError('VALIDATION', `layout: ${message}`);

/**
 * Expands a layout into seats and rows, best first: rows numbered from 1 in
 * section order, seats by position in the row. Checks what the DTO cannot:
 * names unique, levels defined, one currency, seat ids valid and unique.
 */
export function planLayout(layout: LayoutDto): SeatPlan {
  const levelIndex = new Map<string, number>();
  layout.priceLevels.forEach((l, i) => {
    if (levelIndex.has(l.priceLevel)) throw invalid(`price level ${l.priceLevel} is listed twice`);
    levelIndex.set(l.priceLevel, i + 1);
  });
  const currencies = new Set(layout.priceLevels.map((l) => l.currency));
  if (currencies.size > 1) throw invalid(`every price level must have the same currency, found ${[...currencies].join(', ')}`);

  const capacity = layout.sections.reduce((n, s) => n + s.rows.reduce((m, r) => m + (Array.isArray(r.seats) ? r.seats.length : r.seats), 0), 0);
  if (capacity > MAX_CAPACITY) throw invalid(`${capacity} seats, at most ${MAX_CAPACITY}`);

  const plan: SeatPlan = { capacity, seatIds: [], indexes: [], rows: [], meta: [] };
  const seen = new Set<string>();
  const sections = new Set<string>();
  const counts = new Map<number, number>();
  const levelRows = new Map<number, [number, number][]>();
  let row = 0;
  for (const section of layout.sections) {
    if (sections.has(section.sectionId)) throw invalid(`section ${section.sectionId} is listed twice`);
    sections.add(section.sectionId);
    const level = levelIndex.get(section.priceLevel);
    if (!level) throw invalid(`section ${section.sectionId} has price level ${section.priceLevel}, which priceLevels does not define`);
    const rowIds = new Set<string>();
    const firstRow = row + 1;
    for (const r of section.rows) {
      if (rowIds.has(r.rowId)) throw invalid(`section ${section.sectionId} lists row ${r.rowId} twice`);
      rowIds.add(r.rowId);
      row += 1;
      const numbers = Array.isArray(r.seats) ? r.seats : Array.from({ length: r.seats }, (_, i) => String(i + 1));
      if (numbers.length > MAX_ROW_SEATS) throw invalid(`row ${r.rowId} of section ${section.sectionId} has more than ${MAX_ROW_SEATS} seats`);
      numbers.forEach((seat, i) => {
        const seatId = `${section.sectionId}-${r.rowId}-${seat}`;
        if (!ID_PATTERN.test(seatId)) throw invalid(`seat id ${seatId} must match ${ID_PATTERN.source} (at most 64 characters)`);
        if (seen.has(seatId)) throw invalid(`seat id ${seatId} occurs twice`);
        seen.add(seatId);
        plan.seatIds.push(seatId);
        plan.indexes.push(row * ROW_SPAN + i + 1);
      });
      plan.rows.push({ row, level, seats: numbers.length, sectionId: section.sectionId, rowId: r.rowId });
      counts.set(level, (counts.get(level) ?? 0) + numbers.length);
    }
    plan.meta.push(`section:${section.sectionId}`, `${level}|${firstRow}|${row}`);
    // The rows of a level as ranges, adjacent sections merged (the seat map's level filter).
    const ranges = levelRows.get(level) ?? [];
    const previous = ranges.at(-1);
    if (previous && previous[1] === firstRow - 1) previous[1] = row;
    else ranges.push([firstRow, row]);
    levelRows.set(level, ranges);
  }

  plan.meta.push('layout', 1, 'currency', layout.priceLevels[0].currency, 'levels', layout.priceLevels.length);
  layout.priceLevels.forEach((l, i) => {
    const level = i + 1;
    plan.meta.push(`level:${level}`, `${l.priceLevel}|${l.price}`, `levelOf:${l.priceLevel}`, level);
    plan.meta.push(`a:${level}`, counts.get(level) ?? 0, `h:${level}`, 0, `s:${level}`, 0);
    plan.meta.push(`levelRows:${level}`, (levelRows.get(level) ?? []).map(([a, b]) => `${a}-${b}`).join(','));
  });
  return plan;
}
