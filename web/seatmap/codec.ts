/**
 * The compact seat state (GET /v1/events/:eventId/seats/state): 2 bits per
 * seat in seat order, base64. Seat k of the range is
 * (byte[k >> 2] >> ((k & 3) * 2)) & 3: 0 available, 1 held, 2 sold (3 unused).
 */
export type SeatStatus = 'available' | 'held' | 'sold';

export const AVAILABLE = 0;
export const HELD = 1;

/** One state code per seat of the range (count seats), read from the base64 text. */
export function decodeSeatStates(base64: string, count: number): Uint8Array {
  const bytes = atob(base64);
  if (bytes.length < Math.ceil(count / 4)) {
    throw new Error(`the seat state holds ${bytes.length} bytes, ${Math.ceil(count / 4)} are needed for ${count} seats`);
  }
  const states = new Uint8Array(count);
  for (let k = 0; k < count; k += 1) states[k] = (bytes.charCodeAt(k >> 2) >> ((k & 3) * 2)) & 3;
  return states;
}

/** A state code as the page names it; the unused code 3 reads as not for sale. */
export const statusOf = (code: number): SeatStatus => (code === AVAILABLE ? 'available' : code === HELD ? 'held' : 'sold');
