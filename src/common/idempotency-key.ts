import { DomainError } from './domain-error';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * A join's key is longer: with it a retry gets the user's ticket back, so a
 * key short enough to guess would hand someone else's place (and then their
 * access token) to whoever knows the user id (CONTRACT v1.1).
 */
const JOIN_IDEMPOTENCY_KEY = /^[A-Za-z0-9._-]{16,128}$/;

function check(key: string | undefined, pattern: RegExp): string | undefined {
  if (key === undefined) return undefined;
  if (!pattern.test(key)) {
    throw new DomainError('VALIDATION', `Idempotency-Key must match ${pattern.source}`);
  }
  return key;
}

/** The Idempotency-Key header of a hold or confirm, checked before it can become part of a Redis key; 400 when malformed. */
export function checkIdempotencyKey(key: string | undefined): string | undefined {
  return check(key, IDEMPOTENCY_KEY);
}

/** The Idempotency-Key header of a join: 16–128 characters of [A-Za-z0-9._-]; 400 otherwise. */
export function checkJoinIdempotencyKey(key: string | undefined): string | undefined {
  return check(key, JOIN_IDEMPOTENCY_KEY);
}

/** OpenAPI description of the header, shared by every route that honours it. */
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'a retry with the same key by the same user gets the first answer again and changes nothing',
  schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
};

/** The join's variant of the header (longer keys, see JOIN_IDEMPOTENCY_KEY). */
export const JOIN_IDEMPOTENCY_HEADER = {
  ...IDEMPOTENCY_HEADER,
  description:
    'a retry of a join whose answer was lost, with the same key, gets the same ticket (202) instead of 409 DUPLICATE; ' +
    '16 to 128 characters of [A-Za-z0-9._-], else 400 VALIDATION',
  schema: { type: 'string', minLength: 16, maxLength: 128, pattern: JOIN_IDEMPOTENCY_KEY.source },
};
