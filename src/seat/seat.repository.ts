import { Inject, Injectable } from '@nestjs/common';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import type { SeatDto } from './dto/hold.dto';
import { numberAt, ReplyCode, ScriptReply, stringAt } from '../redis/script-replies';
import { ReplicaWait } from '../redis/replica-wait';
import { ScriptRegistry } from '../redis/script-registry';

/** How long an Idempotency-Key's first answer is kept. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export const seatKeys = (k: EventKeys) => [k.meta, k.seats, k.avail, k.seatIndex, k.holds, k.userSeats, k.rows, k.runs];

export interface HoldRequest {
  eventId: string;
  userId: string;
  sessionId: string;
  holdId: string;
  seatIds?: string[];
  quantity?: number;
  together?: boolean;
  priceLevel?: string;
  sectionId?: string;
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
      [
        r.userId, r.sessionId, r.holdId, r.seatIds ? 'seats' : r.together ? 'together' : 'quantity', r.quantity ?? 0,
        r.idempotencyKey ? 1 : 0, IDEMPOTENCY_TTL_SECONDS, r.priceLevel ?? '', r.sectionId ?? '', ...(r.seatIds ?? []),
      ],
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

  // The audit, in bounded calls (seat.service.ts puts them together).

  async auditSeats(eventId: string, cursor: number, limit: number): Promise<AuditChunk | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('auditSeats', seatKeys(k), [cursor, limit]);
    if (r[0] !== ReplyCode.OK) return null;
    const levels = csv(stringAt('auditSeats', r, 6)).map((l) => l.split(':').map(Number));
    return {
      rev: numberAt('auditSeats', r, 1),
      next: numberAt('auditSeats', r, 2),
      counts: { available: numberAt('auditSeats', r, 3), held: numberAt('auditSeats', r, 4), sold: numberAt('auditSeats', r, 5) },
      levels: new Map(levels.map(([level, a, h, s]) => [level, { available: a, held: h, sold: s }])),
      runEntries: numberAt('auditSeats', r, 7),
      mismatches: mismatchesFrom('auditSeats', r, 8),
    };
  }

  async auditHolds(eventId: string, offset: number, limit: number): Promise<AuditListChunk | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('auditHolds', seatKeys(k), [offset, limit]);
    if (r[0] !== ReplyCode.OK) return null;
    return { rev: numberAt('auditHolds', r, 1), next: String(numberAt('auditHolds', r, 2)), seats: numberAt('auditHolds', r, 3), perUser: userCounts(stringAt('auditHolds', r, 4)), mismatches: mismatchesFrom('auditHolds', r, 5) };
  }

  async auditOrders(eventId: string, after: string, limit: number): Promise<AuditListChunk | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('auditOrders', [...seatKeys(k), k.orders], [after, limit]);
    if (r[0] !== ReplyCode.OK) return null;
    return { rev: numberAt('auditOrders', r, 1), next: stringAt('auditOrders', r, 2), seats: numberAt('auditOrders', r, 3), perUser: userCounts(stringAt('auditOrders', r, 4)), mismatches: mismatchesFrom('auditOrders', r, 5) };
  }

  async auditTotals(eventId: string): Promise<AuditTotals | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('auditTotals', seatKeys(k));
    if (r[0] !== ReplyCode.OK) return null;
    const n = (i: number) => numberAt('auditTotals', r, i);
    const levels = csv(stringAt('auditTotals', r, 7)).map((l) => l.split(':').map(Number));
    return {
      rev: n(1),
      capacity: n(2),
      counters: { available: n(3), held: n(4), sold: n(5) },
      availableSetSize: n(6),
      levels: new Map(levels.map(([level, a, h, s]) => [level, { available: a, held: h, sold: s }])),
      runIndexSize: n(8),
    };
  }

  /** Seats held + bought per user, as stored (HSCAN: a few hundred fields per call). */
  async userSeatCounts(eventId: string): Promise<Map<string, number>> {
    const key = this.keys.event(eventId).userSeats;
    const out = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, fields] = await this.redis.hscan(key, cursor, 'COUNT', 500);
      for (let i = 0; i < fields.length; i += 2) out.set(fields[i], Number(fields[i + 1]));
      cursor = next;
    } while (cursor !== '0');
    return out;
  }
}

export interface Counts {
  available: number;
  held: number;
  sold: number;
}

export interface Mismatch {
  kind: string;
  detail: string;
}

export interface AuditChunk {
  rev: number;
  next: number;
  counts: Counts;
  levels: Map<number, Counts>;
  /** run-index entries the rows starting in this chunk should have */
  runEntries: number;
  mismatches: Mismatch[];
}

export interface AuditListChunk {
  rev: number;
  /** where the next chunk starts; '0' or '' at the end */
  next: string;
  seats: number;
  perUser: Map<string, number>;
  mismatches: Mismatch[];
}

export interface AuditTotals {
  rev: number;
  capacity: number;
  counters: Counts;
  availableSetSize: number;
  levels: Map<number, Counts>;
  runIndexSize: number;
}

const csv = (value: string) => (value.length > 0 ? value.split(',') : []);

function mismatchesFrom(script: string, r: unknown[], from: number): Mismatch[] {
  const out: Mismatch[] = [];
  for (let i = from; i < r.length; i += 2) out.push({ kind: stringAt(script, r, i), detail: stringAt(script, r, i + 1) });
  return out;
}

function userCounts(value: string): Map<string, number> {
  return new Map(csv(value).map((pair) => {
    const at = pair.lastIndexOf('=');
    return [pair.slice(0, at), Number(pair.slice(at + 1))];
  }));
}
