import type { EventScript } from '../redis/script-catalogue';
import { numberAt, ReplyCode } from '../redis/script-replies';

/**
 * The event-creation scripts (lua/event/createEventBegin-7.lua,
 * createEventSeats-6.lua, createEvent-2.lua), run in that order: claim the id,
 * load the seats a chunk per call, then write the meta, which makes the event
 * exist. The service (EventRepository.create) and the bench
 * (bench/lib/create-event.ts) both call them through these entries.
 */

/** What every step of one creation carries: its claim. */
export interface CreationClaim {
  /** random, names this creation */
  token: string;
  /** the claim lasts this long unless the next step renews it */
  claimMs: number;
}

/** Claims the event id for one creation; false: the event exists or another creation of it is under way. */
export const createEventBegin: EventScript<CreationClaim, boolean> = {
  name: 'createEventBegin',
  keys: (k) => [k.meta, k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs],
  args: (c) => [c.token, c.claimMs],
  reply: (r) => r[0] === ReplyCode.OK,
};

/** One chunk of seats: the layout rows it defines (5 values each: row, level, seats, sectionId, rowId) and seat index, seatId pairs. */
export interface SeatChunk extends CreationClaim {
  rows: (string | number)[];
  seats: (string | number)[];
}

/** Loads one chunk of seats under the claim; the seats loaded. A lost claim is the error reply CREATION_LOST (thrown). */
export const createEventSeats: EventScript<SeatChunk, number> = {
  name: 'createEventSeats',
  keys: (k) => [k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs],
  args: (c) => [c.token, c.claimMs, c.rows.length / 5, ...c.rows, ...c.seats],
  reply: (r) => numberAt('createEventSeats', r, 1),
};

/** The event's configuration, written last. */
export interface EventMeta {
  token: string;
  queue: 'streams' | 'zset';
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  ratePerSecond: number;
  maxActive: number;
  sessionTtlSeconds: number;
  /** seats loaded */
  capacity: number;
  /** Redis ms from which the event is closed; 0: no end */
  endsAt: number;
  /** join challenge difficulty in bits; 0: none */
  powBits: number;
  /** more meta fields as name, value pairs (the layout, the fair-start schedule), written as given */
  fields: (string | number)[];
}

/** Writes the meta, which makes the event exist; its createdAt (Redis ms), or null when the claim was lost (EVENT_EXISTS). */
export const createEvent: EventScript<EventMeta, number | null> = {
  name: 'createEvent',
  keys: (k) => [k.meta, k.creating],
  args: (m) => [
    m.token,
    m.queue,
    m.holdTtlSeconds,
    m.maxSeatsPerUser,
    m.ratePerSecond,
    m.maxActive,
    m.sessionTtlSeconds,
    m.capacity,
    m.endsAt,
    m.powBits,
    ...m.fields,
  ],
  reply: (r) => (r[0] === ReplyCode.OK ? numberAt('createEvent', r, 2) : null),
};
