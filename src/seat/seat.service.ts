import { Injectable } from '@nestjs/common';
import { randomToken } from '../common/random';
import { AccessClaims } from '../access-token/access-token.service';
import { DomainError, eventNotFound } from '../common/domain-error';
import { EventActivity } from '../event/event-activity';
import { checkIdempotencyKey } from '../common/idempotency-key';
import { numberAt, ReplyCode, ScriptReply, stringAt } from '../redis/script-replies';
import { AuditDto, HoldDto, HoldSeatsBody, OrderDto } from './dto/hold.dto';
import { ReplicaWait } from '../redis/replica-wait';
import { Counts, Mismatch, SeatRepository } from './seat.repository';

/**
 * Seats, holds or orders read per audit call: about 6 µs of Redis time each,
 * so a call stays well under a millisecond (the bench's "Big venue": 250 a
 * call measured a median of 1.6 ms and a p90 of 2.4 ms, 125 a median of
 * 0.9 ms and a longest of 5.1 ms on a machine whose plain commands reached 3 ms).
 */
export const AUDIT_CHUNK = 100;
/** Audit passes tried before answering without the totals (traffic kept changing seats). */
const AUDIT_ATTEMPTS = 3;
const MAX_MISMATCHES = 100;

/** A comma-joined list from a script reply ('GA-1,GA-2') as an array; [] for '' or a missing value. */
const csv = (value: unknown): string[] => (typeof value === 'string' && value.length > 0 ? value.split(',') : []);

const HOLD_ID = /^[A-Za-z0-9_-]{16}$/;
const newId = () => randomToken(12);

export interface ConfirmResult {
  order: OrderDto;
  /** false when this call found the hold already confirmed */
  created: boolean;
}

@Injectable()
export class SeatService {
  constructor(
    private readonly seats: SeatRepository,
    private readonly replicas: ReplicaWait,
    private readonly activity: EventActivity,
  ) {}

  async hold(access: AccessClaims, dto: HoldSeatsBody, idempotencyKey?: string): Promise<HoldDto> {
    if ((dto.seatIds === undefined) === (dto.quantity === undefined)) {
      throw new DomainError('VALIDATION', 'give either seatIds or quantity');
    }
    if (dto.seatIds && (dto.together !== undefined || dto.priceLevel !== undefined || dto.sectionId !== undefined)) {
      throw new DomainError('VALIDATION', 'together, priceLevel and sectionId go with quantity, not seatIds');
    }
    const r = await this.seats.hold({
      eventId: access.eventId,
      userId: access.userId,
      sessionId: access.sessionId,
      holdId: newId(),
      seatIds: dto.seatIds,
      quantity: dto.quantity,
      together: dto.together === true,
      priceLevel: dto.priceLevel,
      sectionId: dto.sectionId,
      idempotencyKey: checkIdempotencyKey(idempotencyKey),
    });
    switch (r[0]) {
      case ReplyCode.OK:
      case ReplyCode.REPLAYED:
        // This replica's sweeper takes the event at once; the others within a second.
        this.activity.markHeld(access.eventId);
        return {
          holdId: stringAt('hold', r, 1),
          expiresAt: new Date(numberAt('hold', r, 2)).toISOString(),
          seatIds: csv(r[3]),
        };
      case ReplyCode.FORBIDDEN:
        throw new DomainError('FORBIDDEN', 'Your session is over; join the queue again.');
      case ReplyCode.LIMIT_EXCEEDED:
        throw new DomainError('LIMIT_EXCEEDED', `at most ${numberAt('hold', r, 2)} seats per user for this event`, {
          current: numberAt('hold', r, 1),
          max: numberAt('hold', r, 2),
        });
      case ReplyCode.SEAT_NOT_FOUND:
        throw new DomainError('SEAT_NOT_FOUND', 'Some seats do not exist.', { seatIds: csv(r[1]) });
      case ReplyCode.SEAT_UNAVAILABLE:
        throw new DomainError('SEAT_UNAVAILABLE', 'Some seats are not available.', { seatIds: csv(r[1]) });
      case ReplyCode.SOLD_OUT:
        throw new DomainError('SOLD_OUT', 'Not enough seats are left.', { available: numberAt('hold', r, 1) });
      case ReplyCode.NO_ADJACENT_SEATS:
        throw new DomainError('NO_ADJACENT_SEATS', `Seats remain, but no ${dto.quantity} side by side in one row; try fewer, or without together.`);
      case ReplyCode.BAD_FILTER:
        throw new DomainError('VALIDATION', stringAt('hold', r, 1));
      // A valid token can outlive its event (deleted keys, a flushed store): a
      // 404 like release and confirm give, not a 500.
      case ReplyCode.EVENT_NOT_FOUND:
        throw eventNotFound(access.eventId);
      default:
        throw unexpected('hold', r);
    }
  }

  async release(access: AccessClaims, holdId: string): Promise<void> {
    const r = await this.seats.release(access.eventId, access.userId, checkHoldId(holdId));
    if (r[0] === ReplyCode.OK) return;
    throw holdError('release', access.eventId, r);
  }

  async confirm(access: AccessClaims, holdId: string, paymentRef = '', idempotencyKey?: string): Promise<ConfirmResult> {
    const { reply: r, durable } = await this.seats.confirm(access.eventId, access.userId, checkHoldId(holdId), `ord_${newId()}`, paymentRef, checkIdempotencyKey(idempotencyKey));
    if (r[0] === ReplyCode.OK || r[0] === ReplyCode.REPLAYED) {
      if (!durable) throw notYetDurable(this.replicas.replicas, this.replicas.timeoutMs);
      // An Idempotency-Key replay repeats the first answer (201); confirming an
      // already confirmed hold without one answers 200 with the same order.
      const created = r[0] === ReplyCode.OK || r[3] === 'idempotent';
      // OK: orderId, seats, amount, currency; REPLAYED: the same with its kind before the amount.
      const [amount, currency] = r[0] === ReplyCode.OK ? [r[3], r[4]] : [r[4], r[5]];
      const order: OrderDto = { orderId: stringAt('confirm', r, 1), seatIds: csv(r[2]) };
      if (typeof currency === 'string' && currency !== '') order.total = { amount: Number(amount), currency };
      return { order, created };
    }
    throw holdError('confirm', access.eventId, r);
  }

  /**
   * The audit, in bounded Redis calls (no call blocks Redis for long however
   * large the event). Each call checks what it reads within itself, so every
   * mismatch reported is real even under traffic. The totals (counters,
   * per-level, per-user, the available set's size) can only be compared with a
   * recount made of many calls when no seat changed in between: the event's
   * change counter (rev) tells, and a pass it moved under is tried again.
   */
  async audit(eventId: string): Promise<AuditDto> {
    for (let attempt = 1; ; attempt += 1) {
      const pass = await auditPass(this.seats, eventId);
      if (!pass) throw eventNotFound(eventId);
      if (pass.totalsChecked || attempt === AUDIT_ATTEMPTS) {
        for (const listener of this.auditListeners) listener(eventId, pass.mismatches.length);
        return pass;
      }
    }
  }

  private readonly auditListeners: ((eventId: string, mismatches: number) => void)[] = [];

  /** Calls `listener` after each audit with the mismatches it reports (the metrics count them). */
  onAudit(listener: (eventId: string, mismatches: number) => void): void {
    this.auditListeners.push(listener);
  }
}

/**
 * The order is on the master but fewer than REDIS_WAIT_REPLICAS replicas
 * confirmed it in time: a failover now could lose it, so it is not promised.
 */
const notYetDurable = (replicas: number, timeoutMs: number) =>
  new DomainError(
    'UNAVAILABLE',
    `The order was written, but fewer than ${replicas} Redis replica(s) confirmed a copy within ${timeoutMs} ms, so it is not yet certain ` +
      'to be kept. Retry the confirm (with the same Idempotency-Key): it answers the order once it is safe, or what became of the hold.',
  );

const holdNotFound = () => new DomainError('HOLD_NOT_FOUND', 'No such live hold: unknown, released or expired.');

function holdError(script: string, eventId: string, r: ScriptReply): Error {
  switch (r[0]) {
    case ReplyCode.HOLD_NOT_FOUND:
      return holdNotFound();
    case ReplyCode.HOLD_EXPIRED:
      return new DomainError('HOLD_EXPIRED', 'The hold expired; its seats went back on sale.');
    case ReplyCode.NOT_OWNER:
      return new DomainError('NOT_OWNER', 'This hold belongs to another user.');
    case ReplyCode.EVENT_NOT_FOUND:
      return eventNotFound(eventId);
    default:
      return unexpected(script, r);
  }
}

const unexpected = (script: string, r: ScriptReply) => new Error(`script ${script} answered ${String(r[0])} where it cannot`);

function checkHoldId(holdId: string): string {
  if (!HOLD_ID.test(holdId)) throw holdNotFound();
  return holdId;
}

/** One audit pass; null when the event does not exist. */
async function auditPass(seats: SeatRepository, eventId: string): Promise<AuditDto | null> {
  const revs = new Set<number>();
  const mismatches: Mismatch[] = [];
  const recount: Counts = { available: 0, held: 0, sold: 0 };
  const levels = new Map<number, Counts>();
  let runEntries = 0;
  const add = (to: Counts, c: Counts) => ((to.available += c.available), (to.held += c.held), (to.sold += c.sold));

  for (let cursor = 0; ; ) {
    const chunk = await seats.auditSeats(eventId, cursor, AUDIT_CHUNK);
    if (!chunk) return null;
    revs.add(chunk.rev);
    add(recount, chunk.counts);
    runEntries += chunk.runEntries;
    for (const [level, c] of chunk.levels) add(levels.get(level) ?? levels.set(level, { available: 0, held: 0, sold: 0 }).get(level)!, c);
    mismatches.push(...chunk.mismatches);
    if (chunk.next === 0) break;
    cursor = chunk.next;
  }
  const perUser = new Map<string, number>();
  const addUsers = (m: Map<string, number>) => m.forEach((n, userId) => perUser.set(userId, (perUser.get(userId) ?? 0) + n));
  let heldByHolds = 0;
  for (let offset = '0'; ; ) {
    const chunk = await seats.auditHolds(eventId, Number(offset), AUDIT_CHUNK);
    if (!chunk) return null;
    revs.add(chunk.rev);
    heldByHolds += chunk.seats;
    addUsers(chunk.perUser);
    mismatches.push(...chunk.mismatches);
    if (chunk.next === '0') break;
    offset = chunk.next;
  }
  let soldByOrders = 0;
  for (let after = ''; ; ) {
    const chunk = await seats.auditOrders(eventId, after, AUDIT_CHUNK);
    if (!chunk) return null;
    revs.add(chunk.rev);
    soldByOrders += chunk.seats;
    addUsers(chunk.perUser);
    mismatches.push(...chunk.mismatches);
    if (chunk.next === '') break;
    after = chunk.next;
  }
  const stored = await seats.userSeatCounts(eventId);
  const totals = await seats.auditTotals(eventId);
  if (!totals) return null;
  revs.add(totals.rev);

  const totalsChecked = revs.size === 1;
  if (totalsChecked) {
    const report = (kind: string, detail: string) => mismatches.push({ kind, detail });
    for (const name of ['available', 'held', 'sold'] as const) {
      if (totals.counters[name] !== recount[name]) report('counter', `${name} counter is ${totals.counters[name]} but ${recount[name]} seats are ${name}`);
    }
    const sum = totals.counters.available + totals.counters.held + totals.counters.sold;
    if (sum !== totals.capacity) report('capacity', `available + held + sold = ${sum}, capacity ${totals.capacity}`);
    if (totals.availableSetSize !== recount.available) report('available_set', `available set has ${totals.availableSetSize} seats, ${recount.available} are available`);
    if (totals.runIndexSize !== runEntries) report('run_index', `run index has ${totals.runIndexSize} entries, the rows' free runs make ${runEntries}`);
    if (heldByHolds !== recount.held) report('hold', `live holds list ${heldByHolds} seats, ${recount.held} are held`);
    if (soldByOrders !== recount.sold) report('order', `orders list ${soldByOrders} seats, ${recount.sold} are sold`);
    for (const [level, c] of totals.levels) {
      const seen = levels.get(level) ?? { available: 0, held: 0, sold: 0 };
      for (const name of ['available', 'held', 'sold'] as const) {
        if (c[name] !== seen[name]) report('level', `price level ${level}: ${name} counter is ${c[name]} but ${seen[name]} seats are ${name}`);
      }
    }
    for (const [userId, n] of perUser) {
      if (stored.get(userId) !== n) report('user_count', `${userId} has ${n} seats held or bought, counter says ${stored.get(userId)}`);
    }
    for (const [userId, n] of stored) {
      if (!perUser.has(userId) && n !== 0) report('user_count', `${userId} counter says ${n} but holds and buys none`);
    }
  }
  const shown = mismatches.slice(0, MAX_MISMATCHES);
  return { ok: shown.length === 0, mismatches: shown, recount, totalsChecked };
}
