import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * An AWS-compatible request id: UUID-shaped (8-4-4-4-12 hex, 128 bits) and,
 * like a native ticket, self-verifying, so queue_num and generate_token can
 * tell a real id from a forged one without any per-person storage and without
 * asking Redis. Its 128 bits, most significant first:
 *
 *   kind   1 bit   0: arrival sequence (a native 's' ticket), 1: pre-queue number ('p')
 *   n     31 bits  the sequence or pre-queue number (up to 2,147,483,647 per event)
 *   nonce 32 bits  the join's own random nonce (src/queue/ticket.ts), never 0
 *   entry 16 bits  minutes from the event's creation to the join (entry_time; wraps after 45 days)
 *   mac   48 bits  HMAC-SHA256 under the service's ticket key over the event (id and
 *                  creation time) and the 80 bits above, truncated
 *
 * It is the native ticket's core (kind, n, nonce) in another encoding: the MAC
 * ties the id to one event creation, so an id of a deleted and re-created (or
 * reset) event is refused; the nonce ties it to one join, so a lost join's id
 * is refused even when a later join reuses its sequence (invariant 11: the
 * nonce is compared with the one the join stored, as for a ticket).
 */
export interface RequestIdParts {
  kind: 's' | 'p';
  n: number;
  nonce: number;
  /** whole minutes since the event's creation */
  entryMinutes: number;
}

export const MAX_N = 2 ** 31 - 1;
const ENTRY_WRAP = 2 ** 16;
const MAC_BYTES = 6;
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

const mac = (key: Buffer, eventId: string, epoch: number, body: Buffer): Buffer =>
  createHmac('sha256', key).update(`aws-vwr request id v2\n${eventId}\n${epoch}\n`).update(body).digest().subarray(0, MAC_BYTES);

/** The 80 bits before the MAC. */
function pack(p: RequestIdParts): Buffer {
  const body = Buffer.alloc(10);
  body.writeUInt32BE(((p.kind === 'p' ? 0x80000000 : 0) | p.n) >>> 0, 0);
  body.writeUInt32BE(p.nonce >>> 0, 4);
  body.writeUInt16BE(((p.entryMinutes % ENTRY_WRAP) + ENTRY_WRAP) % ENTRY_WRAP, 8);
  return body;
}

/** The request id of a place in the event created at `epoch` (ms). */
export function formatRequestId(key: Buffer, eventId: string, epoch: number, p: RequestIdParts): string {
  if (!Number.isSafeInteger(p.n) || p.n < 1 || p.n > MAX_N) throw new RangeError(`request id sequence ${p.n} out of range`);
  if (!Number.isInteger(p.nonce) || p.nonce < 1 || p.nonce > 0xffffffff) throw new RangeError('request id nonce out of range');
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
  const body = all.subarray(0, 10);
  if (!timingSafeEqual(all.subarray(10), mac(key, eventId, epoch, body))) return null;
  const head = body.readUInt32BE(0);
  const n = head & 0x7fffffff;
  const nonce = body.readUInt32BE(4);
  if (n < 1 || nonce === 0) return null;
  return { kind: head >>> 31 === 1 ? 'p' : 's', n, nonce, entryMinutes: body.readUInt16BE(8) };
}

/** Whole minutes from the event's creation (`epoch`, ms) to `atMs`. */
export const minutesSince = (epoch: number, atMs: number): number => Math.max(0, Math.floor((atMs - epoch) / 60_000));

/**
 * The join's time (ms, to the minute) from the id's entry minutes: the latest
 * time with those minutes since creation mod 2^16 that is not after `nowMs`.
 */
export function entryTimeMs(epoch: number, entryMinutes: number, nowMs: number): number {
  const wrapMs = ENTRY_WRAP * 60_000;
  const base = epoch + entryMinutes * 60_000;
  const wraps = Math.max(0, Math.floor((nowMs - base) / wrapMs));
  return base + wraps * wrapMs;
}
