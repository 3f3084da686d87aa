import { Inject, Injectable } from '@nestjs/common';
import { KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { QueueMethod } from './event-status';

export type QueueKind = 'streams' | 'zset';

export interface EventSettings {
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  ratePerSecond: number;
  maxActive: number;
  sessionTtlSeconds: number;
}

/** When the queue opens and sales start, and the pre-queue shuffle's seed (CONTRACT "Fair start"). */
export interface EventSchedule {
  /** ms, 0: none */
  queueOpensAt: number;
  /** ms, 0: no pre-queue */
  salesStartAt: number;
  queueMethod: QueueMethod;
  /** hex seed and its hex SHA-256, '' without a pre-queue */
  seed: string;
  commitment: string;
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
  /** admissions per second over the last minute (admit script); null before the first admission */
  observedRatePerSecond: number | null;
  queueMethod: QueueMethod;
  queueOpensAt: number;
  salesStartAt: number;
  endsAt: number;
  /** '' without a pre-queue */
  commitment: string;
  /** '' until salesStartAt */
  seed: string;
  /** Redis time of the read (ms) */
  nowMs: number;
}

/** Event records in Redis: creation, snapshot, settings, and the registry of event ids. */
@Injectable()
export class EventRepository {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {}

  /** Returns false when the event already exists. */
  async create(
    eventId: string,
    queue: QueueKind,
    s: EventSettings,
    schedule: EventSchedule,
    seats: { capacity?: number; seatIds?: string[] },
  ): Promise<boolean> {
    const k = this.keys.event(eventId);
    // The registry is its own key (another cluster slot), so it cannot join the
    // script. Registering first is safe: the admitter skips ids with no event.
    await this.redis.sadd(this.keys.eventRegistry, eventId);
    const reply = await this.scripts.run(
      'createEvent',
      [k.meta, k.seats, k.avail, k.seatIndex],
      [
        queue, s.holdTtlSeconds, s.maxSeatsPerUser, s.ratePerSecond, s.maxActive, s.sessionTtlSeconds, seats.capacity ?? 0,
        0, // endsAt: none (set by the endsAt work)
        schedule.queueOpensAt, schedule.salesStartAt, schedule.queueMethod, schedule.seed, schedule.commitment,
        ...(seats.seatIds ?? []),
      ],
    );
    return reply[0] === ReplyCode.OK;
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
      observedRatePerSecond: stringAt('eventView', r, 14) === '' ? null : n(14),
      queueMethod: stringAt('eventView', r, 15) as QueueMethod,
      queueOpensAt: n(16),
      salesStartAt: n(17),
      endsAt: n(18),
      commitment: stringAt('eventView', r, 19),
      seed: stringAt('eventView', r, 20),
      nowMs: n(21),
    };
  }

  /** Returns false when the event does not exist. */
  async update(eventId: string, fields: Partial<EventSettings> & { paused?: boolean; queueMethod?: QueueMethod }): Promise<boolean> {
    const args = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .flatMap(([name, v]) => [name, typeof v === 'boolean' ? (v ? 1 : 0) : (v as number | string)]);
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
