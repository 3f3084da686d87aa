import { createHash } from 'node:crypto';
import { DomainError } from '../common/domain-error';
import type { SeatDto, SeatPageDto } from './dto/hold.dto';

/** A seat's state in the snapshot and in the compact encoding (docs/api.md "Seat map"). */
export const AVAILABLE = 0;
export const HELD = 1;
export const SOLD = 2;
const STATE_OF: Record<string, number> = { a: AVAILABLE, h: HELD, s: SOLD };
const STATUS_NAME = ['available', 'held', 'sold'] as const;
/** Answers kept per version (the same few queries recur); at most about 64 x 100 KB for pages of 1,000 seats. */
const CACHE_SIZE = 64;

export interface LayoutRow {
  rowId: string;
  section: number;
  /** ordinal of the row's first seat, and its seats */
  first: number;
  count: number;
}

export interface LayoutSection {
  sectionId: string;
  priceLevel: string;
  first: number;
  count: number;
  /** indexes into SeatLayout.rows */
  rows: number[];
}

/**
 * What never changes after an event is created: its seats in seat order
 * (ordinal 0..capacity-1), their seat indexes (the seat page's cursors),
 * rows, sections and price levels. Events without a layout have one section
 * and one row, both "GA", at price level "GA".
 */
export interface SeatLayout {
  /** the event's createdAt (ms): a re-created event has a new one */
  epoch: number;
  hasLayout: boolean;
  ids: string[];
  indexes: Float64Array;
  ordinalOf: Map<string, number>;
  sectionOf: Uint32Array;
  rowOf: Uint32Array;
  rows: LayoutRow[];
  sections: LayoutSection[];
  sectionIndex: Map<string, number>;
  priceLevels: { priceLevel: string; price?: number; currency?: string }[];
}

/** One chunk of the whole map as read (seatChunk-4.lua), with its layout parts when asked for. */
export interface SeatChunk {
  epoch: number;
  version: number;
  capacity: number;
  /** the last seat index read when more follow, else 0 */
  next: number;
  /** the change-log tag of entry `version` */
  tag: string;
  states: string;
  ids: string[];
  indexes: number[];
  /** row number -> '<level>|<seats>|<sectionId>|<rowId>' */
  rows: Map<number, string>;
  /** [currency, '<name>|<price>' per level] (layout events, first chunk) */
  levels: string[];
}

const ROW_SPAN = 4096;

/** Builds the layout from the chunks of a whole-map read made with layout '1'. */
export function buildLayout(chunks: SeatChunk[]): SeatLayout {
  const ids = chunks.flatMap((c) => c.ids);
  const indexes = Float64Array.from(chunks.flatMap((c) => c.indexes));
  const rowInfo = new Map<number, string>();
  for (const c of chunks) for (const [row, info] of c.rows) rowInfo.set(row, info);
  const levels = chunks[0]?.levels ?? [];
  const hasLayout = rowInfo.size > 0;
  const layout: SeatLayout = {
    epoch: chunks[0].epoch,
    hasLayout,
    ids,
    indexes,
    ordinalOf: new Map(ids.map((id, i) => [id, i])),
    sectionOf: new Uint32Array(ids.length),
    rowOf: new Uint32Array(ids.length),
    rows: [],
    sections: [],
    sectionIndex: new Map(),
    priceLevels: [{ priceLevel: 'GA' }],
  };
  if (!hasLayout) {
    layout.rows.push({ rowId: 'GA', section: 0, first: 0, count: ids.length });
    layout.sections.push({ sectionId: 'GA', priceLevel: 'GA', first: 0, count: ids.length, rows: [0] });
    layout.sectionIndex.set('GA', 0);
    return layout;
  }
  const currency = levels[0];
  layout.priceLevels = levels.slice(1).map((l) => {
    const bar = l.lastIndexOf('|');
    return { priceLevel: l.slice(0, bar), price: Number(l.slice(bar + 1)), currency };
  });
  let currentRow = -1;
  for (let i = 0; i < ids.length; i += 1) {
    const rowNumber = Math.floor(indexes[i] / ROW_SPAN);
    if (rowNumber !== currentRow) {
      currentRow = rowNumber;
      const [level, , sectionId, ...rowId] = (rowInfo.get(rowNumber) ?? '').split('|');
      let section = layout.sections.at(-1);
      if (!section || section.sectionId !== sectionId) {
        section = { sectionId, priceLevel: layout.priceLevels[Number(level) - 1]?.priceLevel ?? '', first: i, count: 0, rows: [] };
        layout.sectionIndex.set(sectionId, layout.sections.length);
        layout.sections.push(section);
      }
      section.rows.push(layout.rows.length);
      layout.rows.push({ rowId: rowId.join('|'), section: layout.sections.length - 1, first: i, count: 0 });
    }
    layout.rows[layout.rows.length - 1].count += 1;
    layout.sections[layout.sections.length - 1].count += 1;
    layout.rowOf[i] = layout.rows.length - 1;
    layout.sectionOf[i] = layout.sections.length - 1;
  }
  return layout;
}

/** An ETag from parts: quoted, short, and changing with any part. */
const etagOf = (...parts: (string | number)[]) => `"${parts.join('.')}"`;
const hashed = (text: string) => createHash('sha1').update(text).digest('base64url').slice(0, 12);

/** A ready answer: its body as sent and its ETag. */
export interface Cached {
  etag: string;
  json: string;
}

export interface SeatPageQuery {
  status?: 'available' | 'held' | 'sold';
  cursor?: number;
  limit?: number;
  priceLevel?: string;
  sectionId?: string;
}

/**
 * One replica's copy of an event's seat map: the layout, every seat's state
 * and the counts per section, at one seat version. The answers of the
 * public seat routes are computed from it, once per version (then cached).
 */
export class SeatMap {
  readonly states: Uint8Array;
  /** per section: available, held, sold at [3 s], [3 s + 1], [3 s + 2] */
  private readonly counts: Int32Array;
  private readonly totals = new Int32Array(3);
  private cache = new Map<string, Cached>();
  private layoutCache = new Map<string, Cached>();

  constructor(
    readonly layout: SeatLayout,
    states: string,
    public version: number,
    /** the change-log tag of entry `version` (includes/layout.lua): what the next seatChanges checks */
    public tag = '',
  ) {
    this.states = new Uint8Array(layout.ids.length);
    this.counts = new Int32Array(layout.sections.length * 3);
    for (let i = 0; i < this.states.length; i += 1) {
      const s = STATE_OF[states[i]] ?? AVAILABLE;
      this.states[i] = s;
      this.counts[layout.sectionOf[i] * 3 + s] += 1;
      this.totals[s] += 1;
    }
  }

  get epoch(): number {
    return this.layout.epoch;
  }

  /**
   * Applies change-log entries (the seats' new state, then their ids) and
   * moves to `version`, whose log entry is tagged `tag`. Seats the layout
   * does not know are skipped (none exist: seats are fixed at creation).
   */
  apply(entries: string[], version: number, tag = this.tag): void {
    this.tag = tag;
    for (const entry of entries) {
      const to = STATE_OF[entry[0]];
      if (to === undefined) continue;
      for (const id of entry.slice(1).split(',')) {
        const i = this.layout.ordinalOf.get(id);
        if (i === undefined) continue;
        const from = this.states[i];
        if (from === to) continue;
        this.states[i] = to;
        const base = this.layout.sectionOf[i] * 3;
        this.counts[base + from] -= 1;
        this.counts[base + to] += 1;
        this.totals[from] -= 1;
        this.totals[to] += 1;
      }
    }
    if (version !== this.version) this.cache = new Map();
    this.version = version;
  }

  /** The section named, or 404 SECTION_NOT_FOUND. */
  private section(sectionId: string): LayoutSection {
    const s = this.layout.sectionIndex.get(sectionId);
    if (s === undefined) throw new DomainError('SECTION_NOT_FOUND', `no section ${sectionId}`);
    return this.layout.sections[s];
  }

  private cached(key: string, make: () => Cached): Cached {
    let hit = this.cache.get(key);
    if (!hit) {
      if (this.cache.size >= CACHE_SIZE) this.cache.clear();
      hit = make();
      this.cache.set(key, hit);
    }
    return hit;
  }

  /** GET .../sections */
  sections(): Cached {
    return this.cached('sections', () => ({
      etag: etagOf(this.version, this.epoch.toString(36)),
      json: JSON.stringify({
        version: this.version,
        sections: this.layout.sections.map((s, i) => ({
          sectionId: s.sectionId,
          priceLevel: s.priceLevel,
          available: this.counts[i * 3],
          held: this.counts[i * 3 + 1],
          sold: this.counts[i * 3 + 2],
          rows: s.rows.length,
        })),
      }),
    }));
  }

  /** GET .../seats/state: 2 bits per seat in seat order, base64 (docs/api.md). */
  state(sectionId?: string): Cached {
    const range = sectionId === undefined ? { first: 0, count: this.states.length } : this.section(sectionId);
    return this.cached(`state:${sectionId ?? ''}`, () => {
      const bytes = Buffer.alloc(Math.ceil(range.count / 4));
      const n = [0, 0, 0];
      for (let k = 0; k < range.count; k += 1) {
        const s = this.states[range.first + k];
        n[s] += 1;
        bytes[k >> 2] |= s << ((k & 3) * 2);
      }
      return {
        etag: sectionId === undefined ? etagOf(this.version, this.epoch.toString(36)) : etagOf(this.version, this.epoch.toString(36), sectionId),
        json: JSON.stringify({
          version: this.version,
          encoding: '2bit-base64',
          firstIndex: range.first,
          count: range.count,
          available: n[AVAILABLE],
          held: n[HELD],
          sold: n[SOLD],
          state: bytes.toString('base64'),
        }),
      };
    });
  }

  /** GET .../seats/layout: never changes for this creation of the event, so cached for good. */
  layoutView(eventId: string, sectionId?: string): Cached {
    const key = sectionId ?? '';
    const sections = sectionId === undefined ? this.layout.sections : [this.section(sectionId)];
    let hit = this.layoutCache.get(key);
    if (!hit) {
      hit = {
        etag: sectionId === undefined ? etagOf('L', this.epoch.toString(36)) : etagOf('L', this.epoch.toString(36), sectionId),
        json: JSON.stringify({
          eventId,
          capacity: this.layout.ids.length,
          priceLevels: this.layout.priceLevels,
          sections: sections.map((s) => ({
            sectionId: s.sectionId,
            priceLevel: s.priceLevel,
            firstIndex: s.first,
            count: s.count,
            rows: s.rows.map((r) => {
              const row = this.layout.rows[r];
              return { rowId: row.rowId, seatIds: this.layout.ids.slice(row.first, row.first + row.count) };
            }),
          })),
        }),
      };
      this.layoutCache.set(key, hit);
    }
    return hit;
  }

  /**
   * GET .../seats: one page in seat order after `cursor` (a seat index),
   * filtered; nextCursor is the last seat's index when more seats match.
   * Bad filters are 400 VALIDATION with the messages the API has always given.
   */
  page(q: SeatPageQuery): Cached {
    const key = `page:${q.status ?? ''}:${q.cursor ?? 0}:${q.limit ?? 100}:${q.priceLevel ?? ''}:${q.sectionId ?? ''}`;
    return this.cached(key, () => {
      const body = this.pageBody(q);
      const json = JSON.stringify(body);
      return { etag: etagOf(this.version, this.epoch.toString(36), hashed(key)), json };
    });
  }

  private pageBody(q: SeatPageQuery): SeatPageDto {
    const ranges = this.pageRanges(q.sectionId ?? '', q.priceLevel ?? '');
    const want = q.status === undefined ? -1 : STATUS_NAME.indexOf(q.status);
    const limit = q.limit ?? 100;
    const cursor = q.cursor ?? 0;
    const { ids, indexes, rowOf, rows, sections, hasLayout } = this.layout;
    const seats: SeatDto[] = [];
    let nextCursor: number | null = null;
    let last = -1;
    outer: for (const [first, end] of ranges) {
      for (let i = Math.max(first, firstAfter(indexes, cursor)); i < end; i += 1) {
        if (want !== -1 && this.states[i] !== want) continue;
        if (seats.length === limit) {
          // A further match: the page ends at the previous seat.
          nextCursor = indexes[last];
          break outer;
        }
        const status = STATUS_NAME[this.states[i]];
        last = i;
        if (hasLayout) {
          const row = rows[rowOf[i]];
          const section = sections[row.section];
          seats.push({ seatId: ids[i], status, sectionId: section.sectionId, rowId: row.rowId, priceLevel: section.priceLevel });
        } else {
          seats.push({ seatId: ids[i], status, priceLevel: 'GA' });
        }
      }
    }
    return { available: this.totals[AVAILABLE], held: this.totals[HELD], sold: this.totals[SOLD], seats, nextCursor };
  }

  /** The ordinal ranges [first, end) a section or price level filter covers, in order. */
  private pageRanges(sectionId: string, priceLevel: string): [number, number][] {
    const all: [number, number][] = [[0, this.states.length]];
    const { sections, sectionIndex, priceLevels, hasLayout } = this.layout;
    if (!hasLayout) {
      if (sectionId !== '' || (priceLevel !== '' && priceLevel !== 'GA')) {
        throw new DomainError('VALIDATION', 'this event has no layout: its only price level is GA');
      }
      return all;
    }
    if (sectionId !== '') {
      const s = sectionIndex.get(sectionId);
      if (s === undefined) throw new DomainError('VALIDATION', `no section ${sectionId}`);
      if (priceLevel !== '' && sections[s].priceLevel !== priceLevel) {
        throw new DomainError('VALIDATION', `section ${sectionId} is not at price level ${priceLevel}`);
      }
      return [[sections[s].first, sections[s].first + sections[s].count]];
    }
    if (priceLevel !== '') {
      if (!priceLevels.some((l) => l.priceLevel === priceLevel)) throw new DomainError('VALIDATION', `no price level ${priceLevel}`);
      return sections.filter((s) => s.priceLevel === priceLevel).map((s) => [s.first, s.first + s.count]);
    }
    return all;
  }
}

/** The first ordinal whose seat index is above `cursor` (binary search: indexes ascend). */
function firstAfter(indexes: Float64Array, cursor: number): number {
  let lo = 0;
  let hi = indexes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (indexes[mid] <= cursor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
