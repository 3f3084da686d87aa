import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A ticket verifies itself and is bound to the one join that made it.
 *
 * Its core is (kind, n, nonce): the kind ('s' a place by arrival sequence,
 * 'p' a pre-queue number), n (that sequence or number) and a random 32-bit
 * nonce drawn by the service for that join and stored with the entry by the
 * join script (4 bytes at offset 4·n of a per-event string: `nonces` for
 * sequences, `pnonces` for pre-queue numbers). A MAC under the server's
 * ticket key covers the core and the event (its id and createdAt, so a
 * ticket of a deleted and re-created event is refused).
 *
 * The MAC makes a ticket unforgeable; the nonce makes it belong to its join.
 * When Redis loses recent writes (an unplanned failover, the AOF's last
 * second) sequence numbers are handed out again, and the next joiner gets
 * the same n. Their join draws a new nonce, so the lost ticket's nonce no
 * longer matches the stored one: it reads 404 and never that person's place
 * or token (CONTRACT invariant 11). A replica compares nonces from its
 * snapshot (it reads the nonce strings as they grow), and the one Redis read
 * at a ticket's turn compares them again.
 *
 * Text: `s<seq>.<b64>` or `p<pn>.<b64>`, where b64 is base64url of the nonce
 * (4 bytes, big-endian) followed by the first 16 bytes of the MAC (27
 * characters). After the pre-queue's seal a 'p' ticket's first read hands
 * out a replacement `s<seq>p<pn>.<b64>`: a place by its post-shuffle sequence
 * that keeps the pre-queue entry's number and nonce (its binding: the
 * sequence was given by the shuffle, not by a join).
 *
 * Other encodings of the same core (an AWS-compatible request id) use
 * ticketMac / macMatches below with a MAC truncated to what fits.
 */
export type Ticket =
  | {
      kind: 's';
      /** arrival sequence, as digits (it is also the admitted session's id) */
      seq: string;
      nonce: number;
      /** set on a post-seal replacement: the pre-queue number whose place this is */
      pn?: string;
    }
  | {
      kind: 'p';
      /** pre-queue number, as digits */
      pn: string;
      nonce: number;
    };

/** What a ticket's MAC covers besides the event: its kind, number, the join's nonce (and a replacement's pre-queue number). */
export interface TicketParts {
  kind: 's' | 'p';
  /** the sequence ('s') or pre-queue number ('p') */
  n: number | string;
  /** the join's nonce, 1 .. 2^32 - 1 */
  nonce: number;
  /** a post-seal 's' replacement's pre-queue number */
  pn?: number | string;
}

const TICKET = /^([sp])([1-9][0-9]{0,14})(?:p([1-9][0-9]{0,14}))?\.([A-Za-z0-9_-]{27})$/;
const MAC_BYTES = 16;
/** Shortest truncated MAC macMatches accepts (48 bits). */
const MIN_MAC_BYTES = 6;

/**
 * A join's nonce: uniform in 1 .. 2^32 - 1 from the OS's CSPRNG. Never 0:
 * the nonce strings hold zeros where nothing was written, so 0 would match
 * a sequence that a lost write left empty.
 */
export function newNonce(): number {
  for (;;) {
    const n = randomBytes(4).readUInt32BE(0);
    if (n !== 0) return n;
  }
}

/** A nonce as the 4 bytes stored in Redis (big-endian). */
export const nonceBytes = (nonce: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(nonce >>> 0, 0);
  return b;
};

/**
 * The key tickets are signed with: derived from ACCESS_TOKEN_SECRET under
 * its own label, so every replica has the same one and an access token's
 * key never signs a ticket.
 */
export const ticketKey = (accessTokenSecret: string): Buffer =>
  createHmac('sha256', accessTokenSecret).update('queuegate ticket key v1').digest();

/**
 * The full 32-byte HMAC-SHA256 of a ticket's parts for the event created at
 * `epoch` (its createdAt, ms). An encoding truncates it to the bytes it has room for.
 */
export function ticketMac(key: Buffer, eventId: string, epoch: number, parts: TicketParts): Buffer {
  const pn = parts.pn === undefined ? '' : `\n${parts.pn}`;
  return createHmac('sha256', key)
    .update(`ticket v2\n${parts.kind}\n${eventId}\n${epoch}\n${parts.n}\n${parts.nonce >>> 0}${pn}`)
    .digest();
}

/** Whether `given` (a MAC truncated to at least 6 bytes) is the start of `expected`, in constant time. */
export function macMatches(expected: Buffer, given: Buffer): boolean {
  if (given.length < MIN_MAC_BYTES || given.length > expected.length) return false;
  return timingSafeEqual(expected.subarray(0, given.length), given);
}

/** The ticket text of these parts in the event created at `epoch`. */
export function formatTicket(key: Buffer, eventId: string, epoch: number, parts: TicketParts): string {
  const body = Buffer.concat([nonceBytes(parts.nonce), ticketMac(key, eventId, epoch, parts).subarray(0, MAC_BYTES)]);
  const pn = parts.kind === 's' && parts.pn !== undefined ? `p${parts.pn}` : '';
  return `${parts.kind}${parts.n}${pn}.${body.toString('base64url')}`;
}

/**
 * The parts of ticket text this service has just minted itself (a join's
 * answer, re-encoded by the AWS-compatible layer as a request id), without
 * checking its MAC: never for text that came from a client (use verifyTicket).
 */
export function mintedTicketParts(raw: string): TicketParts | null {
  const match = TICKET.exec(raw);
  if (!match) return null;
  const [, kind, n, pn, body64] = match;
  const nonce = Buffer.from(body64, 'base64url').readUInt32BE(0);
  return { kind: kind as 's' | 'p', n, nonce, ...(pn === undefined ? {} : { pn }) };
}

/** A ticket whose MAC checks out for this event, or null (answered as TICKET_NOT_FOUND). */
export function verifyTicket(key: Buffer, eventId: string, epoch: number, raw: string): Ticket | null {
  const match = TICKET.exec(raw);
  if (!match) return null;
  const [, kind, n, pn, body64] = match;
  if (kind === 'p' && pn !== undefined) return null;
  const body = Buffer.from(body64, 'base64url');
  // base64url of 20 bytes has 27 characters, the last carrying 2 unused bits:
  // re-encoding refuses a ticket altered only in those bits.
  if (body.length !== 4 + MAC_BYTES || body.toString('base64url') !== body64) return null;
  const nonce = body.readUInt32BE(0);
  if (nonce === 0) return null;
  const parts: TicketParts = { kind: kind as 's' | 'p', n, nonce, ...(pn === undefined ? {} : { pn }) };
  if (!macMatches(ticketMac(key, eventId, epoch, parts), body.subarray(4))) return null;
  if (kind === 'p') return { kind: 'p', pn: n, nonce };
  return pn === undefined ? { kind: 's', seq: n, nonce } : { kind: 's', seq: n, nonce, pn };
}

/**
 * A user's sort key in the pre-queue shuffle (CONTRACT "Fair start"): hex
 * HMAC-SHA256 keyed with the seed's 32 bytes over `eventId:userId`. Ranks
 * follow these keys ascending; scripts/verify-shuffle.ts recomputes them.
 */
export const shuffleSortKey = (seed: Buffer, eventId: string, userId: string): string =>
  createHmac('sha256', seed).update(`${eventId}:${userId}`).digest('hex');

/**
 * The fingerprint stored with a join sent with an Idempotency-Key: a retry
 * with the same key has the same fingerprint, so the join script answers it
 * with the same ticket (REPLAYED) instead of a DUPLICATE it could never use.
 * A join without a key stores none (''). 72 bits: it is compared only for
 * the one user who already holds a place, never looked up.
 */
export const keyFingerprint = (key: Buffer, eventId: string, userId: string, idempotencyKey: string): string =>
  createHmac('sha256', key).update(`join\n${eventId}\n${userId}\n${idempotencyKey}`).digest().subarray(0, 9).toString('base64url');
