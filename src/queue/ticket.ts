import { createHmac } from 'node:crypto';
import { randomToken } from '../common/random';

/**
 * A ticket is '<seq>.<secret>': the arrival sequence (so look-ups need no
 * index) and 128 random bits (so it cannot be guessed). The secret is stored
 * with the queue entry and compared inside the script.
 */
export interface Ticket {
  seq: string;
  secret: string;
}

const TICKET = /^([1-9][0-9]{0,14})\.([A-Za-z0-9_-]{22})$/;

export const newSecret = (): string => randomToken(16);

/**
 * The secret of a join sent with an Idempotency-Key: an HMAC of event, user
 * and key under the server's secret, so a retry derives the same secret and
 * the join script recognises it as the same request. As unguessable as the
 * key the client chose.
 */
export const derivedSecret = (serverKey: string, eventId: string, userId: string, idempotencyKey: string): string =>
  createHmac('sha256', serverKey).update(`${eventId}\n${userId}\n${idempotencyKey}`).digest().subarray(0, 16).toString('base64url');

export const formatTicket = (seq: number | string, secret: string): string => `${seq}.${secret}`;

/** Parses a ticket from a URL; null for anything that is not one (answered as TICKET_NOT_FOUND). */
export function parseTicket(raw: string): Ticket | null {
  const match = TICKET.exec(raw);
  return match ? { seq: match[1], secret: match[2] } : null;
}
