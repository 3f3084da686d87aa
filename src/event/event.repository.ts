import { Inject, Injectable } from '@nestjs/common';
import { KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { randomToken } from '../common/random';
import { ROW_SPAN, SeatPlan } from './seat-plan';

/**
 * Seats loaded per createEventSeats call: keeps each call to a few ms of Redis
 * time (bench: longest command while a 100,000-seat event is created).
 */
export const CREATE_CHUNK_SEATS = 300;
/** The creation claim lasts this long unless the next chunk renews it. */
const CREATE_CLAIM_MS = 30_000;

export interface LevelSnapshot {
  priceLevel: string;
  price: number;
  currency: string;
  available: number;
  held: number;
  sold: number;
}
export type QueueKind = 'streams' | 'zset';

export interface EventSettings {
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  ratePerSecond: number;
  maxActive: number;
  sessionTtlSeconds: number;
}

export interface EventSnapshot extends EventSettings {
  queue: QueueKind;
  capacity: number;
  available: number;
  held: number;
  sold: number;
  waiting: number;
  active: number;
  paused: boolean;
  levels: LevelSnapshot[];
}

/** Event records in Redis: creation, snapshot, settings, and the registry of event ids. */
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
   * the meta, which makes the event exist. Returns false when it already exists.
   */
  async create(eventId: string, queue: QueueKind, s: EventSettings, plan: SeatPlan): Promise<boolean> {
    const k = this.keys.event(eventId);
    const token = randomToken(16);
    const begun = await this.scripts.run('createEventBegin', [k.meta, k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs], [token, CREATE_CLAIM_MS]);
    if (begun[0] !== ReplyCode.OK) return false;
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
      await this.scripts.run('createEventSeats', [k.creating, k.seats, k.avail, k.seatIndex, k.rows, k.runs], [token, CREATE_CLAIM_MS, rows.length / 5, ...rows, ...seats]);
    }
    const reply = await this.scripts.run(
      'createEvent',
      [k.meta, k.creating],
      [token, queue, s.holdTtlSeconds, s.maxSeatsPerUser, s.ratePerSecond, s.maxActive, s.sessionTtlSeconds, plan.capacity, ...plan.meta],
    );
    if (reply[0] !== ReplyCode.OK) return false;
    // The registry is its own key (another cluster slot), so it cannot join the
    // script. Registered only once the event exists: the admitter forgets an
    // id it finds no event for, and a creation in chunks takes a while.
    await this.redis.sadd(this.keys.eventRegistry, eventId);
    return true;
  }

  async snapshot(eventId: string): Promise<EventSnapshot | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('eventView', [k.meta, k.stream, k.zqueue, k.active]);
    if (r[0] !== ReplyCode.OK) return null;
    const n = (i: number) => numberAt('eventView', r, i);
    return {
      queue: stringAt('eventView', r, 1) as QueueKind,
      capacity: n(2),
      available: n(3),
      held: n(4),
      sold: n(5),
      waiting: n(6),
      active: n(7),
      holdTtlSeconds: n(8),
      maxSeatsPerUser: n(9),
      ratePerSecond: n(10),
      maxActive: n(11),
      sessionTtlSeconds: n(12),
      paused: n(13) === 1,
      levels: levelsAt(r, 14),
    };
  }

  /** Returns false when the event does not exist. */
  async update(eventId: string, fields: Partial<EventSettings> & { paused?: boolean }): Promise<boolean> {
    const args = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .flatMap(([name, v]) => [name, typeof v === 'boolean' ? (v ? 1 : 0) : (v as number)]);
    const r = await this.scripts.run('updateEvent', [this.keys.event(eventId).meta], args);
    return r[0] === ReplyCode.OK;
  }

  async eventIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.eventRegistry);
  }

  async forget(eventId: string): Promise<void> {
    await this.redis.srem(this.keys.eventRegistry, eventId);
  }
}

/** The eventView reply from `at` on: currency, level count, then name, price, available, held, sold per level. */
function levelsAt(r: unknown[], at: number): LevelSnapshot[] {
  const currency = stringAt('eventView', r, at);
  const count = numberAt('eventView', r, at + 1);
  return Array.from({ length: count }, (_, i) => {
    const base = at + 2 + i * 5;
    const n = (j: number) => numberAt('eventView', r, base + j);
    return { priceLevel: stringAt('eventView', r, base), price: n(1), currency, available: n(2), held: n(3), sold: n(4) };
  });
}
