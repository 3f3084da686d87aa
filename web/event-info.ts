/**
 * What the page knows about the event being shopped: its limits, its price
 * levels, and the level of each seat it has seen (a layout section's seats all
 * share its level). The seats view fills it, the hold view reads the total.
 */
import type { EventView } from './api/types.js';

export interface Money {
  amount: number;
  currency: string;
}

let currentEvent: EventView | undefined;
const seatLevels = new Map<string, string>();

export function setCurrentEvent(view: EventView | undefined): void {
  currentEvent = view;
  if (!view) seatLevels.clear();
}

export const getCurrentEvent = (): EventView | undefined => currentEvent;

export const maxSeats = (): number => currentEvent?.config.maxSeatsPerUser ?? 4;

/** A venue (made with a layout): seats have sections, rows and priced levels. */
export const isVenue = (): boolean => (currentEvent?.levels ?? []).some((l) => l.price !== undefined);

export function levelPrice(priceLevel: string | undefined): Money | undefined {
  const level = currentEvent?.levels?.find((l) => l.priceLevel === priceLevel);
  return level?.price !== undefined && level.currency ? { amount: level.price, currency: level.currency } : undefined;
}

/** Remembers which price level these seats are in (from a section's layout, or the level a hold asked for). */
export function noteSeatLevel(seatIds: Iterable<string>, priceLevel: string): void {
  for (const id of seatIds) seatLevels.set(id, priceLevel);
}

export const seatPrice = (seatId: string): Money | undefined => levelPrice(seatLevels.get(seatId));

/** What these seats cost, when every one is priced and known: the total shown before "Buy now". */
export function totalOf(seatIds: string[]): Money | undefined {
  let amount = 0;
  let currency = '';
  for (const id of seatIds) {
    const price = seatPrice(id);
    if (!price) return undefined;
    amount += price.amount;
    currency = price.currency;
  }
  return seatIds.length ? { amount, currency } : undefined;
}
