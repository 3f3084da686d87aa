import { Injectable } from '@nestjs/common';
import { randomToken } from '../common/random';
import { AccessClaims } from '../access-token/access-token.service';
import { DomainError, eventNotFound } from '../common/domain-error';
import { checkIdempotencyKey } from '../common/idempotency-key';
import { numberAt, ReplyCode, ScriptReply, stringAt } from '../redis/script-replies';
import { AuditDto, HoldDto, HoldSeatsBody, OrderDto, SeatPageDto, SeatQueryDto } from './dto/hold.dto';
import { ReplicaWait } from '../redis/replica-wait';
import { SeatRepository } from './seat.repository';

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
  ) {}

  async hold(access: AccessClaims, dto: HoldSeatsBody, idempotencyKey?: string): Promise<HoldDto> {
    if ((dto.seatIds === undefined) === (dto.quantity === undefined)) {
      throw new DomainError('VALIDATION', 'give either seatIds or quantity');
    }
    const r = await this.seats.hold({
      eventId: access.eventId,
      userId: access.userId,
      sessionId: access.sessionId,
      holdId: newId(),
      seatIds: dto.seatIds,
      quantity: dto.quantity,
      idempotencyKey: checkIdempotencyKey(idempotencyKey),
    });
    switch (r[0]) {
      case ReplyCode.OK:
      case ReplyCode.REPLAYED:
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
      return { order: { orderId: stringAt('confirm', r, 1), seatIds: csv(r[2]) }, created };
    }
    throw holdError('confirm', access.eventId, r);
  }

  async page(eventId: string, query: SeatQueryDto): Promise<SeatPageDto> {
    const page = await this.seats.page(eventId, query.status ?? '', query.cursor ?? 0, query.limit ?? 100);
    if (!page) throw eventNotFound(eventId);
    return page;
  }

  async audit(eventId: string): Promise<AuditDto> {
    const audit = await this.seats.audit(eventId);
    if (!audit) throw eventNotFound(eventId);
    return audit;
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
