/**
 * Every call the page makes to the service: one fetch wrapper that turns a
 * failed answer into an ApiError, and one function per endpoint, so the
 * views never build a path or a header themselves.
 */
import { randomId } from '../util.js';
import type { BestSeats, Challenge, ErrorBody, EventView, Hold, Joined, Order, QueueHead, QueueItRedirect, Seat, SeatPage, TicketStatus } from './types.js';

/** An answer that was not a success: the CONTRACT error body, or NETWORK when nothing came back. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Partial<ErrorBody> = {},
  ) {
    super(message);
  }
}

async function call<T>(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; idempotent?: boolean; idempotencyKey?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotent || options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey ?? randomId(24);
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'network error');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const body = (parsed ?? {}) as Partial<ErrorBody>;
    throw new ApiError(response.status, body.code ?? `HTTP_${response.status}`, body.message ?? response.statusText, body);
  }
  return parsed as T;
}

const enc = encodeURIComponent;
const eventPath = (eventId: string) => `/v1/events/${enc(eventId)}`;
const ticketPath = (eventId: string, ticket: string) => `${eventPath(eventId)}/queue/${enc(ticket)}`;

export const getEvent = (eventId: string) => call<EventView>('GET', eventPath(eventId));

/**
 * Joins; `proof` is a solved challenge, for an event that asks for one. With
 * `idempotencyKey` a repeated join (a reload before the answer was kept)
 * answers the same place.
 */
export const joinQueue = (eventId: string, userId: string, proof?: { challenge: string; nonce: string }, idempotencyKey?: string) =>
  call<Joined>('POST', `${eventPath(eventId)}/queue`, { body: { userId, ...proof }, idempotencyKey });

/** Queue-it flow: the connector's target with a signed queueittoken, once the ticket is admitted. */
export const getQueueItRedirect = (eventId: string, ticket: string, target: string) =>
  call<QueueItRedirect>('POST', '/queue-it/token', { body: { eventId, ticket, target } });

export const getChallenge = (eventId: string) => call<Challenge>('GET', `${eventPath(eventId)}/challenge`);

export const getTicket = (eventId: string, ticket: string) => call<TicketStatus>('GET', ticketPath(eventId, ticket));

/**
 * The queue head, the same answer for everyone: the browser (and any CDN in
 * between) caches it for a second and revalidates it by its ETag.
 */
export const getQueueHead = (eventId: string) => call<QueueHead>('GET', `${eventPath(eventId)}/queue`);

/** The Server-Sent Events stream of a ticket's status. */
export const ticketEventsUrl = (eventId: string, ticket: string) => `${ticketPath(eventId, ticket)}/events`;

export const leaveQueue = (eventId: string, ticket: string) => call<void>('DELETE', ticketPath(eventId, ticket));

/** The whole seat map, read page by page; the counts are those of the last page. */
export async function getAllSeats(eventId: string): Promise<SeatPage> {
  let cursor: number | null = 0;
  let last: SeatPage | undefined;
  const all: Seat[] = [];
  while (cursor !== null) {
    const query: string = cursor ? `?limit=1000&cursor=${cursor}` : '?limit=1000';
    const page: SeatPage = await call<SeatPage>('GET', `${eventPath(eventId)}/seats${query}`);
    all.push(...page.seats);
    last = page;
    cursor = page.nextCursor;
  }
  return { ...(last as SeatPage), seats: all, nextCursor: null };
}

export const createHold = (eventId: string, seatIds: string[], token: string) =>
  call<Hold>('POST', `${eventPath(eventId)}/holds`, { body: { seatIds }, token, idempotent: true });

/** The best available seats by quantity (optionally together in one row, within a level or section). */
export const holdBest = (eventId: string, best: BestSeats, token: string) =>
  call<Hold>('POST', `${eventPath(eventId)}/holds`, { body: best, token, idempotent: true });

export const confirmHold = (eventId: string, holdId: string, token: string) =>
  call<Order>('POST', `${eventPath(eventId)}/holds/${enc(holdId)}/confirm`, { body: {}, token, idempotent: true });

export const releaseHold = (eventId: string, holdId: string, token: string) =>
  call<void>('DELETE', `${eventPath(eventId)}/holds/${enc(holdId)}`, { token });
