/**
 * Every call the page makes to the service: one fetch wrapper that turns a
 * failed answer into an ApiError, and one function per endpoint, so the
 * views never build a path or a header themselves.
 */
import { randomId } from '../util.js';
import type { BestSeats, Challenge, ErrorBody, EventView, Hold, Joined, Layout, Order, QueueHead, QueueItRedirect, Sections, SeatStateBody, TicketStatus } from './types.js';

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

interface CallOptions {
  body?: unknown;
  token?: string;
  idempotent?: boolean;
  /** a key of the caller's own (kept across reloads), instead of a fresh one */
  idempotencyKey?: string;
  /** the ETag of the answer the page has: a 304 then resolves to undefined */
  etag?: string;
}

/** One call: the answer's body (undefined for a 304 to `etag`) and its ETag. */
async function send<T>(method: string, path: string, options: CallOptions = {}): Promise<{ body: T | undefined; etag?: string }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotent || options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey ?? randomId(24);
  if (options.etag) headers['if-none-match'] = options.etag;
  let response: Response;
  try {
    // With If-None-Match of its own the page sees the 304 itself (the browser's cache stays out of it).
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: options.etag ? 'no-store' : 'default',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'network error');
  }
  if (response.status === 304) return { body: undefined, etag: options.etag };
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
  return { body: parsed as T, etag: response.headers.get('etag') ?? undefined };
}

async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  return (await send<T>(method, path, options)).body as T;
}

/** A read the page repeats: the new answer and its ETag, or undefined when it has not changed since `etag`. */
export interface Fresh<T> {
  body: T;
  etag?: string;
}

async function reread<T>(path: string, etag: string | undefined): Promise<Fresh<T> | undefined> {
  const { body, etag: tag } = await send<T>('GET', path, { etag });
  return body === undefined ? undefined : { body, etag: tag };
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

const sectionQuery = (sectionId: string) => `?sectionId=${enc(sectionId)}`;

/** Every section with its level and seats left (answered from the service's snapshot, 304 when unchanged). */
export const getSections = (eventId: string, etag?: string) => reread<Sections>(`${eventPath(eventId)}/sections`, etag);

/** One section's rows and seat ids: they never change, so the browser caches the answer (max-age 300). */
export const getSectionLayout = (eventId: string, sectionId: string) =>
  call<Layout>('GET', `${eventPath(eventId)}/seats/layout${sectionQuery(sectionId)}`);

/** One section's seat states, 2 bits a seat (seatmap/codec.ts); 304 while no seat of the event changed. */
export const getSectionState = (eventId: string, sectionId: string, etag?: string) =>
  reread<SeatStateBody>(`${eventPath(eventId)}/seats/state${sectionQuery(sectionId)}`, etag);

export const createHold = (eventId: string, seatIds: string[], token: string) =>
  call<Hold>('POST', `${eventPath(eventId)}/holds`, { body: { seatIds }, token, idempotent: true });

/** The best available seats by quantity (optionally together in one row, within a level or section). */
export const holdBest = (eventId: string, best: BestSeats, token: string) =>
  call<Hold>('POST', `${eventPath(eventId)}/holds`, { body: best, token, idempotent: true });

export const confirmHold = (eventId: string, holdId: string, token: string) =>
  call<Order>('POST', `${eventPath(eventId)}/holds/${enc(holdId)}/confirm`, { body: {}, token, idempotent: true });

export const releaseHold = (eventId: string, holdId: string, token: string) =>
  call<void>('DELETE', `${eventPath(eventId)}/holds/${enc(holdId)}`, { token });
