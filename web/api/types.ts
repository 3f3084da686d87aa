/**
 * The shapes of the service's answers the page reads, taken from schema.d.ts,
 * which `npm run gen:api-types` generates from the service's OpenAPI document
 * (test/api-types.e2e-spec.ts fails when it is out of date). Each type is the
 * JSON body of one operation's success answer, so a change to a response DTO
 * the page reads breaks the page's compile instead of the page.
 */
import type { components, operations } from './schema.js';

/** Every error answer. Some carry more fields (e.g. `seatIds`, `max`, `position`). */
export type ErrorBody = components['schemas']['ErrorBodyDto'] & { [extra: string]: unknown };

/** POST /v1/events/:eventId/queue */
export type Joined = operations['QueueController_join']['responses'][202]['content']['application/json'];

/** GET /v1/events/:eventId/challenge */
export type Challenge = operations['ChallengeController_issue']['responses'][200]['content']['application/json'];

/** GET /v1/events/:eventId/queue/:ticket, and each frame of its /events stream. */
export type TicketStatus = operations['QueueController_status']['responses'][200]['content']['application/json'];

/** GET /v1/events/:eventId/queue: the queue head, the same for everyone (cacheable 1 s, ETag). */
export type QueueHead = operations['QueueController_head']['responses'][200]['content']['application/json'];

/** GET /v1/events/:eventId */
export type EventView = operations['EventController_get']['responses'][200]['content']['application/json'];

/** One price level of the event view (one level GA without a price for events made without a layout). */
export type Level = EventView['levels'][number];

/** POST /v1/events/:eventId/holds by quantity: the best seats, optionally together, in a level or section. */
export type BestSeats = Pick<components['schemas']['HoldSeatsDto'], 'together' | 'priceLevel' | 'sectionId'> & { quantity: number };

/** GET /v1/events/:eventId/seats */
export type SeatPage = operations['SeatController_page']['responses'][200]['content']['application/json'];

export type Seat = SeatPage['seats'][number];

/** POST /v1/events/:eventId/holds */
export type Hold = operations['SeatController_hold']['responses'][201]['content']['application/json'];

/** POST /v1/events/:eventId/holds/:holdId/confirm */
export type Order = operations['SeatController_confirm']['responses'][201]['content']['application/json'];

/*
 * The seat-map reads (GET .../sections, .../seats/layout, .../seats/state),
 * written out here from the API reference until the OpenAPI document
 * carries them.
 */

/** One section of GET /v1/events/:eventId/sections (events without a layout: one section GA). */
export interface SectionSummary {
  sectionId: string;
  priceLevel: string;
  available: number;
  held: number;
  sold: number;
  /** how many rows the section has */
  rows: number;
}

/** GET /v1/events/:eventId/sections: every section in layout order, with the seat version. */
export interface Sections {
  version: number;
  sections: SectionSummary[];
}

/** One section of the layout: its seats in seat order, row by row (the seat index of the first is firstIndex). */
export interface SectionLayout {
  sectionId: string;
  priceLevel: string;
  firstIndex: number;
  count: number;
  rows: { rowId: string; seatIds: string[] }[];
}

/** GET /v1/events/:eventId/seats/layout[?sectionId=]: never changes after the event is made. */
export interface Layout {
  eventId: string;
  capacity: number;
  priceLevels: { priceLevel: string; price?: number; currency?: string }[];
  sections: SectionLayout[];
}

/** GET /v1/events/:eventId/seats/state[?sectionId=]: every seat's state in 2 bits (see seatmap/codec.ts). */
export interface SeatStateBody {
  version: number;
  encoding: '2bit-base64';
  firstIndex: number;
  count: number;
  available: number;
  held: number;
  sold: number;
  state: string;
}
