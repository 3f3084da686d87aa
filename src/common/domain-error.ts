/**
 * Every error code the HTTP surface can answer with (CONTRACT §2), and its
 * status. Services throw DomainError with one of these; the one exception
 * filter turns it into `{ statusCode, code, message, ...extra }`.
 */
export const ERROR_STATUS = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_OWNER: 403,
  NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  HOLD_NOT_FOUND: 404,
  FLAG_NOT_FOUND: 404,
  EVENT_EXISTS: 409,
  DUPLICATE: 409,
  SEAT_UNAVAILABLE: 409,
  SOLD_OUT: 409,
  LIMIT_EXCEEDED: 409,
  NO_ADJACENT_SEATS: 409,
  HOLD_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    // An expected outcome (sold out, duplicate), not a bug: skip capturing a
    // stack trace, which costs more than the rest of a 409 answer.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
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
