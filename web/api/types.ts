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

/** POST /v1/events/:eventId/holds */
export type Hold = operations['SeatController_hold']['responses'][201]['content']['application/json'];

/** POST /v1/events/:eventId/holds/:holdId/confirm */
export type Order = operations['SeatController_confirm']['responses'][201]['content']['application/json'];

/** GET /v1/events/:eventId/sections: every section in layout order (events without a layout: one, GA), with the seat version. */
export type Sections = operations['SeatMapController_sections']['responses'][200]['content']['application/json'];

/** One section's counts, level and number of rows. */
export type SectionSummary = Sections['sections'][number];

/** GET /v1/events/:eventId/seats/layout[?sectionId=]: never changes after the event is made. */
export type Layout = operations['SeatMapController_layout']['responses'][200]['content']['application/json'];

/** One section of the layout: its seats in seat order, row by row (the seat index of the first is firstIndex). */
export type SectionLayout = Layout['sections'][number];

/** GET /v1/events/:eventId/seats/state[?sectionId=]: every seat's state in 2 bits (seatmap/codec.ts). */
export type SeatStateBody = operations['SeatMapController_state']['responses'][200]['content']['application/json'];

/** POST /queue-it/token: the way back to a Queue-it protected page. */
export type QueueItRedirect = operations['QueueItTokenController_token']['responses'][200]['content']['application/json'];
