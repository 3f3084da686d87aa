import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A ticket verifies itself: 's<seq>.<mac>', where seq is the arrival
 * sequence (its place in line, so a look-up needs no index) and mac is 128
 * bits of HMAC-SHA256 under the server's ticket key over the kind, the event
 * (its id and creation time, so a ticket of a deleted and re-created event
 * is refused) and the sequence. Nothing per waiting user is stored to check
 * it, so a replica can answer a waiting ticket from its event snapshot alone,
 * and a forged or altered ticket is refused without asking Redis.
 *
 * The leading letter is the ticket's kind: 's' places by arrival sequence.
 * A later kind (a rank after the pre-queue shuffle) can be handed out as a
 * replacement `ticket` in a status answer; old kinds then still parse.
 */
export interface Ticket {
  kind: 's';
  /** arrival sequence, as digits (it is also the admitted session's id) */
  seq: string;
}

const TICKET = /^s([1-9][0-9]{0,14})\.([A-Za-z0-9_-]{22})$/;
const MAC_BYTES = 16;

/**
 * The key tickets are signed with: derived from ACCESS_TOKEN_SECRET under
 * its own label, so every replica has the same one and an access token's
 * key never signs a ticket.
 */
export const ticketKey = (accessTokenSecret: string): Buffer =>
  createHmac('sha256', accessTokenSecret).update('queuegate ticket key v1').digest();

const mac = (key: Buffer, eventId: string, epoch: number, kind: string, seq: string): Buffer =>
  createHmac('sha256', key).update(`${kind}\n${eventId}\n${epoch}\n${seq}`).digest().subarray(0, MAC_BYTES);

/** The ticket of arrival `seq` in the event created at `epoch` (its createdAt, ms). */
export const formatTicket = (key: Buffer, eventId: string, epoch: number, seq: number | string): string =>
  `s${seq}.${mac(key, eventId, epoch, 's', String(seq)).toString('base64url')}`;

/** A ticket whose MAC checks out for this event, or null (answered as TICKET_NOT_FOUND). */
export function verifyTicket(key: Buffer, eventId: string, epoch: number, raw: string): Ticket | null {
  const match = TICKET.exec(raw);
  if (!match) return null;
  const given = Buffer.from(match[2], 'base64url');
  // base64url of 16 bytes has 22 characters, the last carrying 4 unused bits:
  // re-encoding refuses a ticket altered only in those bits.
  if (given.toString('base64url') !== match[2]) return null;
  return timingSafeEqual(given, mac(key, eventId, epoch, 's', match[1])) ? { kind: 's', seq: match[1] } : null;
}

/**
 * The fingerprint stored with a join sent with an Idempotency-Key: a retry
 * with the same key has the same fingerprint, so the join script answers it
 * with the same ticket (REPLAYED) instead of a DUPLICATE it could never use.
 * A join without a key stores none (''). 72 bits: it is compared only for
 * the one user who already holds a place, never looked up.
 */
export const keyFingerprint = (key: Buffer, eventId: string, userId: string, idempotencyKey: string): string =>
  createHmac('sha256', key).update(`join\n${eventId}\n${userId}\n${idempotencyKey}`).digest().subarray(0, 9).toString('base64url');
