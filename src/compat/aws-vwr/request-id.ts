import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * An AWS-compatible request id: UUID-shaped (8-4-4-4-12 hex, 128 bits) and,
 * like a native ticket, self-verifying, so queue_num and generate_token can
 * tell a real id from a forged one without any per-person storage and without
 * asking Redis. Its 128 bits, most significant first:
 *
 *   kind   1 bit   0: arrival sequence (a native 's' ticket), 1: pre-queue number ('p')
 *   n     39 bits  the sequence or pre-queue number (up to 549,755,813,887 per event)
 *   nonce 32 bits  the join's own random number (0 while tickets carry none)
 *   entry 24 bits  seconds from the event's creation to the join (entry_time; wraps after 194 days)
 *   mac   32 bits  HMAC-SHA256 under the service's ticket key over the event (id and
 *                  creation time), and the 96 bits above
 *
 * The MAC ties the id to one event creation, so an id of a deleted and re-created
 * event is refused; the nonce ties it to one join, so a lost join's id is refused
 * even when a later join reuses its sequence (invariant 11: the nonce is compared
 * with the join's own when the id's turn comes).
 */
export interface RequestIdParts {
  kind: 's' | 'p';
  n: number;
  nonce: number;
  /** seconds since the event's creation */
  entrySeconds: number;
}

export const MAX_N = 2 ** 39 - 1;
const ENTRY_WRAP = 2 ** 24;
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

const mac = (key: Buffer, eventId: string, epoch: number, body: Buffer): Buffer =>
  createHmac('sha256', key).update(`aws-vwr request id\n${eventId}\n${epoch}\n`).update(body).digest().subarray(0, 4);

/** The 96 bits before the MAC. */
function pack(p: RequestIdParts): Buffer {
  const bits =
    ((p.kind === 'p' ? 1n : 0n) << 95n) |
    (BigInt(p.n) << 56n) |
    (BigInt(p.nonce >>> 0) << 24n) |
    BigInt(((p.entrySeconds % ENTRY_WRAP) + ENTRY_WRAP) % ENTRY_WRAP);
  return Buffer.from(bits.toString(16).padStart(24, '0'), 'hex');
}

/** The request id of a place in the event created at `epoch` (ms). */
export function formatRequestId(key: Buffer, eventId: string, epoch: number, p: RequestIdParts): string {
  if (!Number.isSafeInteger(p.n) || p.n < 1 || p.n > MAX_N) throw new RangeError(`request id sequence ${p.n} out of range`);
  const body = pack(p);
  const hex = Buffer.concat([body, mac(key, eventId, epoch, body)]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The parts of an id whose MAC checks out for this event, or null (answered 400 "Invalid request ID"). */
export function verifyRequestId(key: Buffer, eventId: string, epoch: number, raw: string): RequestIdParts | null {
  // Lower case only: one id has one spelling, as a ticket does.
  const m = UUID.exec(raw);
  if (!m) return null;
  const all = Buffer.from(m.slice(1).join(''), 'hex');
  const body = all.subarray(0, 12);
  if (!timingSafeEqual(all.subarray(12), mac(key, eventId, epoch, body))) return null;
  const bits = BigInt('0x' + body.toString('hex'));
  const n = Number((bits >> 56n) & BigInt(MAX_N));
  if (n < 1) return null;
  return {
    kind: bits >> 95n === 1n ? 'p' : 's',
    n,
    nonce: Number((bits >> 24n) & 0xffffffffn),
    entrySeconds: Number(bits & 0xffffffn),
  };
}

/**
 * The join's time (ms) from the id's entry seconds: the latest time with those
 * seconds since creation mod 2^24 that is not after `nowMs`.
 */
export function entryTimeMs(epoch: number, entrySeconds: number, nowMs: number): number {
  const wrapMs = ENTRY_WRAP * 1000;
  const base = epoch + entrySeconds * 1000;
  const wraps = Math.max(0, Math.floor((nowMs - base) / wrapMs));
  return base + wraps * wrapMs;
}
