/**
 * The first element of every Lua script's reply. Expected outcomes are
 * replies, not Redis errors; this enum mirrors every code the
 * scripts in lua/ can return, and each one has a test that provokes it.
 */
export enum ReplyCode {
  OK = 'OK',
  EVENT_EXISTS = 'EVENT_EXISTS',
  EVENT_NOT_FOUND = 'EVENT_NOT_FOUND',
  DUPLICATE = 'DUPLICATE',
  WAITING = 'WAITING',
  ADMITTED = 'ADMITTED',
  TICKET_NOT_FOUND = 'TICKET_NOT_FOUND',
  PAUSED = 'PAUSED',
  FORBIDDEN = 'FORBIDDEN',
  SEAT_NOT_FOUND = 'SEAT_NOT_FOUND',
  SEAT_UNAVAILABLE = 'SEAT_UNAVAILABLE',
  SOLD_OUT = 'SOLD_OUT',
  LIMIT_EXCEEDED = 'LIMIT_EXCEEDED',
  HOLD_NOT_FOUND = 'HOLD_NOT_FOUND',
  HOLD_EXPIRED = 'HOLD_EXPIRED',
  NOT_OWNER = 'NOT_OWNER',
  REPLAYED = 'REPLAYED',
  NO_ADJACENT_SEATS = 'NO_ADJACENT_SEATS',
  BAD_FILTER = 'BAD_FILTER',
  EXISTING = 'EXISTING',
  CHALLENGE_REQUIRED = 'CHALLENGE_REQUIRED',
  CHALLENGE_FAILED = 'CHALLENGE_FAILED',
  RATE_LIMITED = 'RATE_LIMITED',
  /** the event is closed (endsAt passed, or queueMethod reject): joins refused, nobody admitted */
  CLOSED = 'CLOSED',
  /** a delete without force met live sessions or holds */
  EVENT_ACTIVE = 'EVENT_ACTIVE',
  /** a join before queueOpensAt */
  QUEUE_NOT_OPEN = 'QUEUE_NOT_OPEN',
  /** a join or ticket in the pre-queue (before salesStartAt) */
  PREQUEUE = 'PREQUEUE',
  /** a pre-queue join sent without the sort key of the event's seed: the service computes it and retries */
  NEED_SORT_KEY = 'NEED_SORT_KEY',
  /** the admit tick before salesStartAt (or queueOpensAt) */
  NOT_STARTED = 'NOT_STARTED',
}

const KNOWN = new Set<string>(Object.values(ReplyCode));

/** A script reply: its code and the values after it. */
export type ScriptReply = [ReplyCode, ...unknown[]];

export class ScriptReplyError extends Error {
  constructor(script: string, reply: unknown) {
    super(`script ${script} returned an unexpected reply: ${JSON.stringify(reply)}`);
  }
}

/** Checks a raw reply has the shape every script promises: [known code, ...]. */
export function checkReply(script: string, reply: unknown): ScriptReply {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string' || !KNOWN.has(reply[0])) {
    throw new ScriptReplyError(script, reply);
  }
  return reply as ScriptReply;
}

/** Reads reply[index] as a finite number, or throws: a number where a number is due. */
export function numberAt(script: string, reply: unknown[], index: number): number {
  const value = typeof reply[index] === 'string' ? Number(reply[index]) : reply[index];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ScriptReplyError(script, reply);
  }
  return value;
}

export function stringAt(script: string, reply: unknown[], index: number): string {
  const value = reply[index];
  if (typeof value !== 'string') {
    throw new ScriptReplyError(script, reply);
  }
  return value;
}
