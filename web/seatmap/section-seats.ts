/**
 * The seat map's state, without the page: the open section's seats (its
 * layout, fetched once, and the states of its latest read) and the seats the
 * person picked. The seats view draws from these; they are tested on their own.
 */
import type { SeatStateBody, SectionLayout } from '../api/types.js';
import { AVAILABLE, decodeSeatStates, HELD, SeatStatus, statusOf } from './codec.js';

/** One section's seats, in seat order, and their states as last read. */
export class SectionSeats {
  /** each seat's place in the section (k: seat index - firstIndex) */
  private readonly place = new Map<string, number>();
  private states: Uint8Array;
  /** the seat version of the read shown; -1 before the first */
  private version = -1;

  constructor(readonly layout: SectionLayout) {
    for (const row of layout.rows) for (const id of row.seatIds) this.place.set(id, this.place.size);
    if (this.place.size !== layout.count) throw new Error(`section ${layout.sectionId} lists ${this.place.size} seats, its count is ${layout.count}`);
    this.states = new Uint8Array(layout.count);
  }

  get sectionId(): string {
    return this.layout.sectionId;
  }

  has(seatId: string): boolean {
    return this.place.has(seatId);
  }

  status(seatId: string): SeatStatus | undefined {
    const k = this.place.get(seatId);
    return k === undefined ? undefined : statusOf(this.states[k]);
  }

  /**
   * Takes a state read of this section. Returns the seats whose status it
   * changed (every seat on the first read), or undefined when the read is
   * older than the one shown: two replicas may be a refresh apart, and the
   * map never steps back.
   */
  apply(read: SeatStateBody): string[] | undefined {
    if (read.firstIndex !== this.layout.firstIndex || read.count !== this.layout.count) {
      throw new Error(`the state of seats ${read.firstIndex}+${read.count} is not section ${this.sectionId}'s (${this.layout.firstIndex}+${this.layout.count})`);
    }
    if (read.version < this.version) return undefined;
    const next = decodeSeatStates(read.state, read.count);
    const first = this.version < 0;
    const changed: string[] = [];
    for (const [id, k] of this.place) if (first || next[k] !== this.states[k]) changed.push(id);
    this.states = next;
    this.version = read.version;
    return changed;
  }

  /** Someone else just took this seat: shown held until the next read says what it is. */
  markTaken(seatId: string): boolean {
    const k = this.place.get(seatId);
    if (k === undefined || this.states[k] !== AVAILABLE) return false;
    this.states[k] = HELD;
    return true;
  }
}

export type PickResult = 'picked' | 'unpicked' | 'full' | 'unavailable';

/** The seats the person picked, in the order picked: available seats only, at most their limit. */
export class Picks {
  private readonly ids = new Set<string>();

  toggle(seatId: string, status: SeatStatus | undefined, max: number): PickResult {
    if (this.ids.delete(seatId)) return 'unpicked';
    if (status !== 'available') return 'unavailable';
    if (this.ids.size >= max) return 'full';
    this.ids.add(seatId);
    return 'picked';
  }

  has(seatId: string): boolean {
    return this.ids.has(seatId);
  }

  drop(seatId: string): void {
    this.ids.delete(seatId);
  }

  clear(): void {
    this.ids.clear();
  }

  list(): string[] {
    return [...this.ids];
  }
}
