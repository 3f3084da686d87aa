import type { EventScript } from '../redis/script-catalogue';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { DeleteStart, EventSnapshot, EventUpdate, LevelSnapshot, QueueKind } from './event-records';
import { QueueMethod } from './event-status';

/**
 * Every script of lua/event/, each with its keys, arguments and reply in one
 * entry (script-catalogue.ts). Creation runs createEventBegin,
 * createEventSeats (a chunk per call), then createEvent, whose meta makes the
 * event exist. EventRepository runs them all; the bench creates events with
 * the same three entries (bench/lib/create-event.ts).
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
  queue: QueueKind;
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

/** An event's configuration, counters and queue sizes in one read; null: no such event. */
export const eventView: EventScript<void, EventSnapshot | null> = {
  name: 'eventView',
  keys: (k) => [k.meta, k.stream, k.zqueue, k.active],
  args: () => [],
  reply: (r) => {
    if (r[0] !== ReplyCode.OK) return null;
    const n = (i: number) => numberAt('eventView', r, i);
    return {
      queue: stringAt('eventView', r, 1) as QueueKind,
      capacity: n(2),
      available: n(3),
      held: n(4),
      sold: n(5),
      waiting: n(6),
      active: n(7),
      holdTtlSeconds: n(8),
      maxSeatsPerUser: n(9),
      ratePerSecond: n(10),
      maxActive: n(11),
      sessionTtlSeconds: n(12),
      paused: n(13) === 1,
      observedRatePerSecond: stringAt('eventView', r, 14) === '' ? null : n(14),
      queueMethod: stringAt('eventView', r, 15) as QueueMethod,
      queueOpensAt: n(16),
      salesStartAt: n(17),
      endsAt: n(18),
      commitment: stringAt('eventView', r, 19),
      seed: stringAt('eventView', r, 20),
      nowMs: n(21),
      powBits: n(22),
      redirectOrigins: originsAt(r, 23),
      admissionMode: stringAt('eventView', r, 24) === 'manual' ? 'manual' : 'auto',
      levels: levelsAt(r, 25),
    };
  },
};

/** Changes the fields given (PATCH); the event's new revision, or null when it does not exist. */
export const updateEvent: EventScript<EventUpdate, number | null> = {
  name: 'updateEvent',
  keys: (k) => [k.meta],
  args: (fields) =>
    Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .flatMap(([name, v]) => [name, typeof v === 'boolean' ? (v ? 1 : 0) : Array.isArray(v) ? JSON.stringify(v) : (v as number | string)]),
  reply: (r) => (r[0] === ReplyCode.OK ? numberAt('updateEvent', r, 1) : null),
};

/** Starts a delete (the meta goes first); without force it refuses while sessions or holds are live. */
export const deleteEvent: EventScript<{ force: boolean }, DeleteStart> = {
  name: 'deleteEvent',
  keys: (k) => [k.meta, k.seatIndex, k.active, k.holds],
  args: (d) => [d.force ? 1 : 0],
  reply: (r) => {
    switch (r[0]) {
      case ReplyCode.OK:
        return { kind: 'deleting' };
      case ReplyCode.EVENT_ACTIVE:
        return { kind: 'active', sessions: numberAt('deleteEvent', r, 1), holds: numberAt('deleteEvent', r, 2) };
      default:
        return { kind: 'missing' };
    }
  },
};

/** The JSON list of redirect origins at `at` ('[]' for an event made before the field existed). */
function originsAt(r: unknown[], at: number): string[] {
  const parsed: unknown = JSON.parse(stringAt('eventView', r, at));
  if (!Array.isArray(parsed) || !parsed.every((o) => typeof o === 'string')) throw new Error(`eventView: redirectOrigins at ${at} is not a list of strings`);
  return parsed;
}

/** The eventView reply from `at` on: currency, level count, then name, price, available, held, sold per level. */
function levelsAt(r: unknown[], at: number): LevelSnapshot[] {
  const currency = stringAt('eventView', r, at);
  const count = numberAt('eventView', r, at + 1);
  return Array.from({ length: count }, (_, i) => {
    const base = at + 2 + i * 5;
    const n = (j: number) => numberAt('eventView', r, base + j);
    return { priceLevel: stringAt('eventView', r, base), price: n(1), currency, available: n(2), held: n(3), sold: n(4) };
  });
}
