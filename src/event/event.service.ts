import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DomainError, eventNotFound } from '../common/domain-error';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { CreateEventDto } from './dto/create-event.dto';
import { EventView } from './dto/event-view.dto';
import { UpdateEventDto } from './dto/update-event.dto';
import { eventStatus } from './event-status';
import { EventRepository, EventSnapshot } from './event.repository';

export const EVENT_DEFAULTS = {
  holdTtlSeconds: 300,
  maxSeatsPerUser: 4,
  ratePerSecond: 50,
  maxActive: 1000,
  sessionTtlSeconds: 600,
} as const;

@Injectable()
export class EventService {
  constructor(
    private readonly events: EventRepository,
    private readonly flags: FeatureFlagService,
  ) {}

  async create(dto: CreateEventDto): Promise<EventView> {
    if ((dto.seats === undefined) === (dto.capacity === undefined)) {
      throw new DomainError('VALIDATION', 'give either seats (a list of seat ids) or capacity, not both');
    }
    const queue = dto.queue ?? (this.flags.isEnabled('streamsQueue') ? 'streams' : 'zset');
    const queueOpensAt = instant('queueOpensAt', dto.queueOpensAt);
    const salesStartAt = instant('salesStartAt', dto.salesStartAt);
    if (queueOpensAt && salesStartAt && queueOpensAt > salesStartAt) {
      throw new DomainError('VALIDATION', 'queueOpensAt must not be after salesStartAt');
    }
    // The pre-queue's shuffle is fixed now: its seed is drawn here and only
    // its SHA-256 is shown until salesStartAt (CONTRACT "Fair start").
    const seed = salesStartAt ? randomBytes(32) : null;
    const created = await this.events.create(
      dto.eventId,
      queue,
      {
        holdTtlSeconds: dto.holdTtlSeconds ?? EVENT_DEFAULTS.holdTtlSeconds,
        maxSeatsPerUser: dto.maxSeatsPerUser ?? EVENT_DEFAULTS.maxSeatsPerUser,
        ratePerSecond: dto.admission?.ratePerSecond ?? EVENT_DEFAULTS.ratePerSecond,
        maxActive: dto.admission?.maxActive ?? EVENT_DEFAULTS.maxActive,
        sessionTtlSeconds: dto.admission?.sessionTtlSeconds ?? EVENT_DEFAULTS.sessionTtlSeconds,
      },
      {
        queueOpensAt,
        salesStartAt,
        queueMethod: dto.queueMethod ?? 'fifo',
        seed: seed ? seed.toString('hex') : '',
        commitment: seed ? createHash('sha256').update(seed).digest('hex') : '',
      },
      { capacity: dto.capacity, seatIds: dto.seats },
    );
    if (!created) {
      throw new DomainError('EVENT_EXISTS', `event ${dto.eventId} already exists`);
    }
    return this.get(dto.eventId);
  }

  async get(eventId: string): Promise<EventView> {
    return toView(eventId, await this.snapshot(eventId));
  }

  async snapshot(eventId: string): Promise<EventSnapshot> {
    const snapshot = await this.events.snapshot(eventId);
    if (!snapshot) throw eventNotFound(eventId);
    return snapshot;
  }

  async update(eventId: string, dto: UpdateEventDto): Promise<EventView> {
    const updated = await this.events.update(eventId, {
      holdTtlSeconds: dto.holdTtlSeconds,
      maxSeatsPerUser: dto.maxSeatsPerUser,
      ratePerSecond: dto.admission?.ratePerSecond,
      maxActive: dto.admission?.maxActive,
      sessionTtlSeconds: dto.admission?.sessionTtlSeconds,
      paused: dto.paused,
      queueMethod: dto.queueMethod,
    });
    if (!updated) throw eventNotFound(eventId);
    return this.get(eventId);
  }
}

/** An ISO 8601 instant (validated by the DTO) as ms since the epoch; absent as 0. */
function instant(name: string, iso: string | undefined): number {
  if (iso === undefined) return 0;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms <= 0) throw new DomainError('VALIDATION', `${name} ${iso} is out of range`);
  return ms;
}

const isoOrNull = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

function toView(eventId: string, s: EventSnapshot): EventView {
  return {
    eventId,
    queue: s.queue,
    status: eventStatus(s),
    queueMethod: s.queueMethod,
    capacity: s.capacity,
    available: s.available,
    held: s.held,
    sold: s.sold,
    waiting: s.waiting,
    active: s.active,
    admission: { configuredRatePerSecond: s.ratePerSecond, observedRatePerSecond: s.observedRatePerSecond },
    shuffle: s.commitment === '' ? null : { commitment: s.commitment, seed: s.seed === '' ? null : s.seed },
    config: {
      holdTtlSeconds: s.holdTtlSeconds,
      maxSeatsPerUser: s.maxSeatsPerUser,
      admission: { ratePerSecond: s.ratePerSecond, maxActive: s.maxActive, sessionTtlSeconds: s.sessionTtlSeconds },
      paused: s.paused,
      queueOpensAt: isoOrNull(s.queueOpensAt),
      salesStartAt: isoOrNull(s.salesStartAt),
    },
  };
}
