/**
 * Every error code the HTTP surface can answer with (CONTRACT §2), and its
 * status. Services throw DomainError with one of these; the one exception
 * filter turns it into `{ statusCode, code, message, ...extra }`.
 */
export const ERROR_STATUS = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CHALLENGE_REQUIRED: 403,
  CHALLENGE_FAILED: 403,
  QUEUE_NOT_OPEN: 403,
  NOT_OWNER: 403,
  TARGET_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  SECTION_NOT_FOUND: 404,
  HOLD_NOT_FOUND: 404,
  FLAG_NOT_FOUND: 404,
  EVENT_EXISTS: 409,
  /** a DELETE of the event came while it was being created: nothing of it is left, create it again */
  EVENT_DELETED: 409,
  EVENT_ACTIVE: 409,
  DUPLICATE: 409,
  SEAT_UNAVAILABLE: 409,
  SOLD_OUT: 409,
  LIMIT_EXCEEDED: 409,
  NO_ADJACENT_SEATS: 409,
  NOT_ADMITTED: 409,
  HOLD_EXPIRED: 410,
  QUEUE_CLOSED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Sent as the Retry-After header (seconds), e.g. with RATE_LIMITED. */
    readonly retryAfterSeconds?: number,
  ) {
    // An expected outcome (sold out, duplicate), not a bug: skip capturing a
    // stack trace, which costs more than the rest of a 409 answer.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }

  /** The code's status, unless `extra.statusCode` names another (SOLD_OUT is 409 on a hold, 410 on a join). */
  get status(): number {
    return typeof this.extra.statusCode === 'number' ? this.extra.statusCode : ERROR_STATUS[this.code];
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  [extra: string]: unknown;
}

export const errorBody = (code: ErrorCode, message: string, extra: Record<string, unknown> = {}): ErrorBody => ({
  statusCode: ERROR_STATUS[code],
  code,
  message,
  ...extra,
});

/** The one wording of an unknown event, shared by every module. */
export const eventNotFound = (eventId: string) => new DomainError('EVENT_NOT_FOUND', `event ${eventId} does not exist`);
export const ticketNotFound = () => new DomainError('TICKET_NOT_FOUND', 'No such ticket: unknown, left, or its session is over.');
