import { Inject, Injectable } from '@nestjs/common';
import { KeyBuilder } from '../redis/keys';
import { isCluster, REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { ScriptRegistry } from '../redis/script-registry';
import { randomToken } from '../common/random';
import { DeleteStart, EventSchedule, EventSettings, EventSnapshot, EventUpdate, QueueKind } from './event-records';
import { createEvent, createEventBegin, createEventSeats, deleteEvent, eventView, updateEvent } from './event.scripts';
import { ROW_SPAN, SeatPlan } from './seat-plan';

/**
 * Seats loaded per createEventSeats call. About 6 µs of Redis time per seat,
 * so a call stays well under a millisecond, far under the 5 ms any one
 * command may block a shard (bench: longest command while a 100,000-seat
 * event is created; 300 a call measured a median of 1.7 ms and a p90 of
 * 3.1 ms, 150 a median of 0.8 ms and a longest of 4 ms).
 */
export const CREATE_CHUNK_SEATS = 100;
/** The creation claim lasts this long unless the next chunk renews it. */
const CREATE_CLAIM_MS = 30_000;

/**
 * What a replica reads of each event once a second, in one HMGET, to know
 * whether the event needs work (src/event/event-activity.ts). Times are Redis
 * ms; 0 stands for a field not written yet.
 */
export interface EventProbe {
  paused: boolean;
  /** admission.mode manual: nobody is admitted by the ticks, only by POST .../admissions */
  manual: boolean;
  endsAt: number;
  /** last join's sequence */
  seq: number;
  /** sequence up to which the admitter found the queue empty */
  drained: number;
  /** seats in live or due holds */
  held: number;
  /** seats on sale (with held == 0: sold out, nobody more to admit) */
  available: number;
  /** pre-queue entries still waiting (fair start) */
  pqWaiting: number;
  /** ms, 0: no pre-queue; before it nobody is admitted */
  salesStartAt: number;
  /** latest session end the admitter handed out */
  sessionsUntil: number;
}

export type { DeleteStart, EventSchedule, EventSettings, EventSnapshot, EventUpdate, LevelSnapshot, QueueKind } from './event-records';

/** Keys one deletion batch removes at most: one UNLINK of this many keys stays short. */
const DELETE_BATCH = 500;

/** Event records in Redis: creation, snapshot, settings, deletion, and the registry of event ids. */
@Injectable()
export class EventRepository {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {}

  /**
   * Creates the event in bounded steps: claim the id, load the seats a chunk
   * per call (other events on the shard are served between calls), then write
   * the meta, which makes the event exist. Returns the event's creation time
   * (Redis ms), or null when it already exists. Does not register it: the
   * service does that once this returned.
   */
  async create(
    eventId: string,
    queue: QueueKind,
    s: EventSettings & { endsAt: number },
    schedule: EventSchedule,
    plan: SeatPlan,
  ): Promise<number | null | 'deleted'> {
    const k = this.keys.event(eventId);
    const claim = { token: randomToken(16), claimMs: CREATE_CLAIM_MS };
    if (!(await this.scripts.call(createEventBegin, k, claim))) return null;
    let nextRow = 0;
    for (let from = 0; from < plan.capacity; from += CREATE_CHUNK_SEATS) {
      const to = Math.min(from + CREATE_CHUNK_SEATS, plan.capacity);
      // The rows whose first seat is in this chunk.
      const rows: (string | number)[] = [];
      while (nextRow < plan.rows.length && plan.rows[nextRow].row * ROW_SPAN < plan.indexes[to - 1]) {
        const r = plan.rows[nextRow++];
        rows.push(r.row, r.level, r.seats, r.sectionId, r.rowId);
      }
      const seats: (string | number)[] = [];
      for (let i = from; i < to; i += 1) seats.push(plan.indexes[i], plan.seatIds[i]);
      try {
        await this.scripts.call(createEventSeats, k, { ...claim, rows, seats });
      } catch (err) {
        if (!/^CREATION_LOST/.test((err as Error).message)) throw err;
        // The claim is gone: a DELETE of this id removed what was loaded (deleted), or
        // the claim ran out and another creation holds the id now (exists).
        return (await this.redis.exists(k.meta, k.creating)) > 0 ? null : 'deleted';
      }
    }
    return this.scripts.call(createEvent, k, {
      token: claim.token,
      queue,
      holdTtlSeconds: s.holdTtlSeconds,
      maxSeatsPerUser: s.maxSeatsPerUser,
      ratePerSecond: s.ratePerSecond,
      maxActive: s.maxActive,
      sessionTtlSeconds: s.sessionTtlSeconds,
      capacity: plan.capacity,
      endsAt: s.endsAt,
      powBits: s.powBits,
      fields: [
        ...plan.meta,
        // The fair-start schedule, as more meta fields (createEvent-2.lua writes them as given).
        'queueOpensAt',
        schedule.queueOpensAt,
        'salesStartAt',
        schedule.salesStartAt,
        'queueMethod',
        schedule.queueMethod,
        'seed',
        schedule.seed,
        'commitment',
        schedule.commitment,
        'admissionMode',
        schedule.admissionMode,
        'redirectOrigins',
        JSON.stringify(s.redirectOrigins),
      ],
    });
  }

  async snapshot(eventId: string): Promise<EventSnapshot | null> {
    return this.scripts.call(eventView, this.keys.event(eventId), undefined);
  }

  /** Returns the event's new revision, or null when the event does not exist. */
  async update(eventId: string, fields: EventUpdate): Promise<number | null> {
    return this.scripts.call(updateEvent, this.keys.event(eventId), fields);
  }

  /** One HMGET per event (pipelined on a single node), null for an event that is gone. */
  async probe(eventIds: string[]): Promise<(EventProbe | null)[]> {
    const fields = ['capacity', 'paused', 'endsAt', 'seq', 'drained', 'held', 'sessionsUntil', 'available', 'pqWaiting', 'salesStartAt', 'admissionMode'];
    const metas = eventIds.map((id) => this.keys.event(id).meta);
    let rows: (string | null)[][];
    if (isCluster(this.redis)) {
      rows = await Promise.all(metas.map((key) => this.redis.hmget(key, ...fields)));
    } else {
      const pipeline = this.redis.pipeline();
      for (const key of metas) pipeline.hmget(key, ...fields);
      rows = ((await pipeline.exec()) ?? []).map(([err, row]) => {
        if (err) throw err;
        return row as (string | null)[];
      });
    }
    const num = (v: string | null) => (v === null ? 0 : Number(v));
    return rows.map(([capacity, paused, endsAt, seq, drained, held, sessionsUntil, available, pqWaiting, salesStartAt, admissionMode]) =>
      capacity === null
        ? null
        : {
            paused: paused === '1',
            manual: admissionMode === 'manual',
            endsAt: num(endsAt),
            seq: num(seq),
            drained: num(drained),
            held: num(held),
            available: num(available),
            pqWaiting: num(pqWaiting),
            salesStartAt: num(salesStartAt),
            sessionsUntil: num(sessionsUntil),
          },
    );
  }

  /** First step of a delete: the event hash goes, so every script refuses the event from now on. */
  async beginDelete(eventId: string, force: boolean): Promise<DeleteStart> {
    return this.scripts.call(deleteEvent, this.keys.event(eventId), { force });
  }

  /**
   * Removes every other key of an event whose delete began, in bounded steps:
   * UNLINK frees big values off Redis's main thread, and hold and
   * idempotency records are found by SCAN (COUNT-bounded calls) and unlinked
   * DELETE_BATCH at a time. The seat index goes last (see deleteEvent-4.lua).
   */
  async removeKeys(eventId: string): Promise<void> {
    const k = this.keys.event(eventId);
    await this.redis.unlink(k.seats, k.avail, k.users, k.stream, k.zqueue, k.zwait, k.active, k.sessions, k.holds, k.userSeats, k.orders, k.nonces, k.pnonces, k.leftmarks);
    const prefix = k.meta.slice(0, -'meta'.length);
    const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
    const masters = isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
    for (const node of masters) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        const doomed = found.filter((key) => key !== k.seatIndex);
        for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
          await this.redis.unlink(...doomed.slice(i, i + DELETE_BATCH));
        }
      } while (cursor !== '0');
    }
    await this.redis.unlink(k.seatIndex);
  }

  /**
   * Every registered event id with its revision, by ZSCAN: each call is
   * bounded however many events there are, and an id listed during the whole
   * read is always returned.
   */
  async registryEntries(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.keys.eventRegistry, cursor, 'COUNT', 1000);
      for (let i = 0; i < flat.length; i += 2) out.set(flat[i], Number(flat[i + 1]));
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  /**
   * Lists an event, or moves its revision up (never down: of two PATCHes the
   * later revision stays). Called after the event's own script ran.
   */
  async register(eventId: string, revision: number, mode: 'set' | 'raise'): Promise<void> {
    if (mode === 'set') await this.redis.zadd(this.keys.eventRegistry, revision, eventId);
    else await this.redis.zadd(this.keys.eventRegistry, 'GT', revision, eventId);
  }

  /** Lists an event unless it is listed already (keeps its revision). */
  async registerIfMissing(eventId: string, revision: number): Promise<void> {
    await this.redis.zadd(this.keys.eventRegistry, 'NX', revision, eventId);
  }

  /** When the event was created (Redis ms), or null when it does not exist. */
  async createdAt(eventId: string): Promise<number | null> {
    const value = await this.redis.hget(this.keys.event(eventId).meta, 'createdAt');
    return value === null ? null : Number(value);
  }

  async unregister(eventId: string): Promise<void> {
    await this.redis.zrem(this.keys.eventRegistry, eventId);
  }

  /**
   * Moves ids from the registry set of earlier versions (still written by
   * not yet upgraded replicas during a rolling deploy) into the sorted set.
   */
  async adoptLegacyRegistry(): Promise<void> {
    const ids = await this.redis.smembers(this.keys.legacyEventRegistry);
    if (ids.length === 0) return;
    await this.redis.zadd(this.keys.eventRegistry, 'NX', ...ids.flatMap((id) => [0, id]));
    await this.redis.srem(this.keys.legacyEventRegistry, ...ids);
  }
}
