import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../common/random';

/**
 * Proof-of-work join challenges (docs/api.md, GET /v1/events/:eventId/challenge).
 *
 * A challenge is stateless: '<bits>.<expiresAtMs>.<epoch>.<id>.<mac>', where
 * the MAC (HMAC-SHA256 under a key derived from ACCESS_TOKEN_SECRET, over
 * the event id and the other parts) proves this service issued it for this
 * event with this difficulty and expiry; epoch is the event's createdAt, so
 * a challenge of an event that was deleted and created again is refused
 * (the join script compares it). Issuing one writes nothing. The join checks
 * the MAC and the work here (no Redis), and the join script checks the
 * expiry against Redis time, the event's createdAt, and that `id` was not
 * used before, then marks it used: one challenge, one join.
 */
export const CHALLENGE_TTL_MS = 300_000;
export const MAX_DIFFICULTY_BITS = 32;

const CHALLENGE = /^([0-9]{1,2})\.([0-9]{1,15})\.([0-9]{1,15})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;

export interface VerifiedChallenge {
  id: string;
  bits: number;
  expiresAtMs: number;
  /** createdAt of the event it was issued for */
  epoch: number;
}

/** The MAC key, derived so a challenge can never pass for an access token or a ticket. */
export const challengeKey = (serverSecret: string): Buffer =>
  createHmac('sha256', serverSecret).update('queuegate join challenge v1').digest();

const mac = (key: Buffer, eventId: string, epoch: number, bits: number, expiresAtMs: number, id: string): string =>
  createHmac('sha256', key).update(`${eventId}\n${epoch}\n${bits}\n${expiresAtMs}\n${id}`).digest().subarray(0, 16).toString('base64url');

/** A challenge for the event created at `epoch` (its createdAt, ms). */
export function issueChallenge(key: Buffer, eventId: string, epoch: number, bits: number, nowMs: number): { challenge: string; expiresAtMs: number } {
  const expiresAtMs = nowMs + CHALLENGE_TTL_MS;
  const id = randomToken(16);
  return { challenge: `${bits}.${expiresAtMs}.${epoch}.${id}.${mac(key, eventId, epoch, bits, expiresAtMs, id)}`, expiresAtMs };
}

/** Leading zero bits of SHA-256(challenge + nonce), the digest read as a bit string. */
export function workBits(challenge: string, nonce: string): number {
  const digest = createHash('sha256').update(challenge + nonce, 'utf8').digest();
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/**
 * The challenge's parts when it was issued by us for this event and the nonce
 * does the work it asks for; null otherwise (forged, another event's, altered,
 * or a wrong nonce). Expiry and reuse are the join script's to check.
 */
export function verifyChallenge(key: Buffer, eventId: string, challenge: string, nonce: string): VerifiedChallenge | null {
  const m = CHALLENGE.exec(challenge);
  if (!m) return null;
  const bits = Number(m[1]);
  const expiresAtMs = Number(m[2]);
  const epoch = Number(m[3]);
  const expected = Buffer.from(mac(key, eventId, epoch, bits, expiresAtMs, m[4]));
  const given = Buffer.from(m[5]);
  if (bits > MAX_DIFFICULTY_BITS || !timingSafeEqual(expected, given)) return null;
  if (workBits(challenge, nonce) < bits) return null;
  return { id: m[4], bits, expiresAtMs, epoch };
}
