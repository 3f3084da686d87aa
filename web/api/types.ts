/**
 * The shapes of the service's answers the page reads (CONTRACT v1.1). Kept in
 * this one file so they can be swapped for types generated from the OpenAPI
 * document without touching the views.
 */

/** Every error answer. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  [extra: string]: unknown;
}

/** POST /v1/events/:eventId/queue */
export interface Joined {
  ticket: string;
  position: number;
  etaSeconds: number;
}

/** GET /v1/events/:eventId/queue/:ticket, and each frame of its /events stream. */
export interface TicketStatus {
  status: 'waiting' | 'admitted';
  position?: number;
  etaSeconds?: number;
  accessToken?: string;
  accessExpiresAt?: string;
}

/** GET /v1/events/:eventId */
export interface EventView {
  eventId: string;
  capacity: number;
  available: number;
  held: number;
  sold: number;
  waiting: number;
  active: number;
  /** per price level; one level GA without a price for events made without a layout */
  levels?: Level[];
  config: { maxSeatsPerUser?: number; holdTtlSeconds?: number; paused?: boolean };
}

export interface Level {
  priceLevel: string;
  /** minor units (cents); absent for GA */
  price?: number;
  currency?: string;
  available: number;
  held: number;
  sold: number;
}

export interface Seat {
  seatId: string;
  status: 'available' | 'held' | 'sold';
  /** venue events only */
  sectionId?: string;
  rowId?: string;
  priceLevel?: string;
}

/** POST /v1/events/:eventId/holds by quantity: the best seats, optionally together, in a level or section. */
export interface BestSeats {
  quantity: number;
  together?: boolean;
  priceLevel?: string;
  sectionId?: string;
}

/** GET /v1/events/:eventId/seats */
export interface SeatPage {
  available: number;
  held: number;
  sold: number;
  seats: Seat[];
  nextCursor: number | null;
}

/** POST /v1/events/:eventId/holds */
export interface Hold {
  holdId: string;
  seatIds: string[];
  expiresAt: string;
}

/** POST /v1/events/:eventId/holds/:holdId/confirm */
export interface Order {
  orderId: string;
  seatIds: string[];
  /** priced seats (venue events) */
  total?: { amount: number; currency: string };
}
