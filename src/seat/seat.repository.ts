import { Inject, Injectable } from '@nestjs/common';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { numberAt, ReplyCode, ScriptReply, stringAt } from '../redis/script-replies';
import { ReplicaWait } from '../redis/replica-wait';
import { ScriptRegistry } from '../redis/script-registry';

/** How long an Idempotency-Key's first answer is kept. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export const seatKeys = (k: EventKeys) => [k.meta, k.seats, k.avail, k.seatIndex, k.holds, k.userSeats];

export interface HoldRequest {
  eventId: string;
  userId: string;
  sessionId: string;
  holdId: string;
  seatIds?: string[];
  quantity?: number;
  idempotencyKey?: string;
}

/** A confirm's script reply, and whether REDIS_WAIT_REPLICAS replicas have the order it names. */
export interface ConfirmReply {
  reply: ScriptReply;
  durable: boolean;
}

/** Seat inventory through Lua: one EVALSHA per operation. Replies are returned as the script's codes. */
@Injectable()
export class SeatRepository {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly replicas: ReplicaWait,
  ) {}

  hold(r: HoldRequest): Promise<ScriptReply> {
    const k = this.keys.event(r.eventId);
    const idem = r.idempotencyKey ? this.keys.idempotency(r.eventId, 'hold', r.userId, r.idempotencyKey) : k.idemPrefix + 'unused';
    return this.scripts.run(
      'hold',
      [...seatKeys(k), k.active, k.sessions, k.holdPrefix + r.holdId, idem],
      [r.userId, r.sessionId, r.holdId, r.seatIds ? 'seats' : 'quantity', r.quantity ?? 0, r.idempotencyKey ? 1 : 0, IDEMPOTENCY_TTL_SECONDS, ...(r.seatIds ?? [])],
    );
  }

  release(eventId: string, userId: string, holdId: string): Promise<ScriptReply> {
    const k = this.keys.event(eventId);
    return this.scripts.run('release', [...seatKeys(k), k.holdPrefix + holdId], [userId, holdId]);
  }

  /**
   * Runs the confirm script. With REDIS_WAIT_REPLICAS > 0 an order in the
   * reply (new or replayed) is `durable` only once that many replicas have
   * it: the script runs on a connection of its own to the event's master,
   * followed there by WAIT (see ReplicaWait). Replies without an order need
   * no wait.
   */
  async confirm(eventId: string, userId: string, holdId: string, orderId: string, paymentRef: string, idempotencyKey?: string): Promise<ConfirmReply> {
    const k = this.keys.event(eventId);
    const idem = idempotencyKey ? this.keys.idempotency(eventId, `confirm:${holdId}`, userId, idempotencyKey) : k.idemPrefix + 'unused';
    const keys = [...seatKeys(k), k.holdPrefix + holdId, k.orders, idem];
    const args = [userId, holdId, orderId, paymentRef, eventId, idempotencyKey ? 1 : 0, IDEMPOTENCY_TTL_SECONDS];
    if (this.replicas.replicas === 0) return { reply: await this.scripts.run('confirm', keys, args), durable: true };
    return this.replicas.onMasterOf(k.meta, async (connection) => {
      const reply = await this.scripts.runOn(connection, 'confirm', keys, args);
      switch (reply[0]) {
        case ReplyCode.OK:
          return { reply, durable: await this.replicas.waitOn(connection) };
        case ReplyCode.REPLAYED:
          // The order was written earlier, perhaps on another connection and not yet replicated.
          return { reply, durable: await this.replicas.waitOn(connection, k.sync) };
        default:
          return { reply, durable: true };
      }
    });
  }

  /** Expires due holds of one event: how many, and how many holds stay live; null when the event is gone. */
  async sweep(eventId: string, limit: number): Promise<{ expired: number; live: number } | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('sweep', seatKeys(k), [limit]);
    return r[0] === ReplyCode.OK ? { expired: numberAt('sweep', r, 1), live: numberAt('sweep', r, 2) } : null;
  }

  /**
   * Looks for the records of `count` live holds from rank `offset` of the
   * live-hold index, and returns to sale the seats of each hold whose record
   * is gone (evicted, deleted): CONTRACT invariant 9. Reads (one ZRANGE, one
   * pipelined EXISTS batch), then one reclaimHold script per lost record,
   * which checks again before it writes. Returns how many holds it looked at.
   */
  async reclaimLostHolds(eventId: string, offset: number, count: number): Promise<{ checked: number; seatsReturned: number }> {
    const k = this.keys.event(eventId);
    const members = await this.redis.zrange(k.holds, offset, offset + count - 1);
    if (members.length === 0) return { checked: 0, seatsReturned: 0 };
    // member = '<holdId>|<userId>|<seats>' (lua/includes/holdIndex.lua)
    const holdKeys = members.map((m) => k.holdPrefix + m.slice(0, m.indexOf('|')));
    const batch = this.redis.pipeline();
    for (const key of holdKeys) batch.exists(key);
    const found = (await batch.exec()) ?? [];
    let seatsReturned = 0;
    for (let i = 0; i < members.length; i += 1) {
      const [err, exists] = found[i] ?? [new Error('no reply')];
      if (err) throw err;
      if (exists !== 0) continue;
      const r = await this.scripts.run('reclaimHold', [...seatKeys(k), holdKeys[i]], [members[i]]);
      if (r[0] === ReplyCode.OK) seatsReturned += numberAt('reclaimHold', r, 1);
    }
    return { checked: members.length, seatsReturned };
  }

  async page(eventId: string, status: string, cursor: number, limit: number) {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('seatPage', [k.meta, k.seats, k.avail, k.seatIndex], [status, cursor, limit]);
    if (r[0] !== ReplyCode.OK) return null;
    const seats: { seatId: string; status: string }[] = [];
    for (let i = 5; i < r.length; i += 2) {
      seats.push({ seatId: stringAt('seatPage', r, i), status: stringAt('seatPage', r, i + 1) });
    }
    const next = numberAt('seatPage', r, 4);
    return {
      available: numberAt('seatPage', r, 1),
      held: numberAt('seatPage', r, 2),
      sold: numberAt('seatPage', r, 3),
      seats,
      nextCursor: next === 0 ? null : next,
    };
  }

  async audit(eventId: string) {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('audit', [...seatKeys(k), k.orders]);
    if (r[0] !== ReplyCode.OK) return null;
    const mismatches: { kind: string; detail: string }[] = [];
    for (let i = 4; i < r.length; i += 2) {
      mismatches.push({ kind: stringAt('audit', r, i), detail: stringAt('audit', r, i + 1) });
    }
    return {
      ok: mismatches.length === 0,
      mismatches,
      recount: { available: numberAt('audit', r, 1), held: numberAt('audit', r, 2), sold: numberAt('audit', r, 3) },
    };
  }
}

