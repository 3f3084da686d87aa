import { DomainError } from './domain-error';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._-]{1,64}$/;

/** The Idempotency-Key header, checked before it can become part of a Redis key; 400 when malformed. */
export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError('VALIDATION', 'Idempotency-Key must match ^[A-Za-z0-9._-]{1,64}$');
  }
  return key;
}

/** OpenAPI description of the header, shared by every route that honours it. */
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'a retry with the same key by the same user gets the first answer again and changes nothing',
};
