import { Injectable } from '@nestjs/common';
import { DomainError, eventNotFound } from '../common/domain-error';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { CreateEventDto } from './dto/create-event.dto';
import { EventView } from './dto/event-view.dto';
import { UpdateEventDto } from './dto/update-event.dto';
import { EventRepository, EventSnapshot } from './event.repository';
import { gaSeatIds, planLayout, planSeats } from './seat-plan';

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
    const given = [dto.seats, dto.capacity, dto.layout].filter((v) => v !== undefined).length;
    if (given !== 1) {
      throw new DomainError('VALIDATION', 'give exactly one of seats (a list of seat ids), capacity or layout');
    }
    const plan = dto.layout ? planLayout(dto.layout) : planSeats(dto.seats ?? gaSeatIds(dto.capacity as number));
    const queue = dto.queue ?? (this.flags.isEnabled('streamsQueue') ? 'streams' : 'zset');
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
      plan,
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
    });
    if (!updated) throw eventNotFound(eventId);
    return this.get(eventId);
  }
}

function toView(eventId: string, s: EventSnapshot): EventView {
  return {
    eventId,
    queue: s.queue,
    capacity: s.capacity,
    available: s.available,
    held: s.held,
    sold: s.sold,
    waiting: s.waiting,
    active: s.active,
    // Events without a layout have one level, GA, without a price.
    levels: s.levels.length > 0 ? s.levels : [{ priceLevel: 'GA', available: s.available, held: s.held, sold: s.sold }],
    config: {
      holdTtlSeconds: s.holdTtlSeconds,
      maxSeatsPerUser: s.maxSeatsPerUser,
      admission: { ratePerSecond: s.ratePerSecond, maxActive: s.maxActive, sessionTtlSeconds: s.sessionTtlSeconds },
      paused: s.paused,
    },
  };
}
