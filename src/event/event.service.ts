import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DomainError, eventNotFound } from '../common/domain-error';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { CreateEventDto } from './dto/create-event.dto';
import { EventView } from './dto/event-view.dto';
import { UpdateEventDto } from './dto/update-event.dto';
import { EventActivity } from './event-activity';
import { eventStatus } from './event-status';
import { EventRegistry } from './event-registry';
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
    private readonly registry: EventRegistry,
    private readonly activity: EventActivity,
  ) {}

  async create(dto: CreateEventDto): Promise<EventView> {
    const given = [dto.seats, dto.capacity, dto.layout].filter((v) => v !== undefined).length;
    if (given !== 1) {
      throw new DomainError('VALIDATION', 'give exactly one of seats (a list of seat ids), capacity or layout');
    }
    checkRedirectOrigins(dto.eventId, dto.redirectOrigins);
    const plan = dto.layout ? planLayout(dto.layout) : planSeats(dto.seats ?? gaSeatIds(dto.capacity as number));
    const queue = dto.queue ?? (this.flags.isEnabled('streamsQueue') ? 'streams' : 'zset');
    const queueOpensAt = instant('queueOpensAt', dto.queueOpensAt) ?? 0;
    const salesStartAt = instant('salesStartAt', dto.salesStartAt) ?? 0;
    if (queueOpensAt && salesStartAt && queueOpensAt > salesStartAt) {
      throw new DomainError('VALIDATION', 'queueOpensAt must not be after salesStartAt');
    }
    // The pre-queue's shuffle is fixed now: its seed is drawn here and only
    // its SHA-256 is shown until salesStartAt (CONTRACT "Fair start").
    const seed = salesStartAt ? randomBytes(32) : null;
    const createdAt = await this.events.create(
      dto.eventId,
      queue,
      {
        holdTtlSeconds: dto.holdTtlSeconds ?? EVENT_DEFAULTS.holdTtlSeconds,
        maxSeatsPerUser: dto.maxSeatsPerUser ?? EVENT_DEFAULTS.maxSeatsPerUser,
        ratePerSecond: dto.admission?.ratePerSecond ?? EVENT_DEFAULTS.ratePerSecond,
        maxActive: dto.admission?.maxActive ?? EVENT_DEFAULTS.maxActive,
        sessionTtlSeconds: dto.admission?.sessionTtlSeconds ?? EVENT_DEFAULTS.sessionTtlSeconds,
        powBits: dto.challenge?.difficultyBits ?? 0,
        endsAt: instant('endsAt', dto.endsAt) ?? 0,
        redirectOrigins: dto.redirectOrigins ?? [],
      },
      {
        queueOpensAt,
        salesStartAt,
        queueMethod: dto.queueMethod ?? 'fifo',
        admissionMode: dto.admission?.mode ?? 'auto',
        seed: seed ? seed.toString('hex') : '',
        commitment: seed ? createHash('sha256').update(seed).digest('hex') : '',
      },
      plan,
    );
    if (createdAt === 'deleted') {
      throw new DomainError('EVENT_DELETED', `event ${dto.eventId} was deleted while it was being created; nothing of it is left, create it again`);
    }
    if (createdAt === null) {
      // A first create whose script ran but whose registration did not (Redis
      // went away in between) left its event unlisted: its retry lists it.
      const existing = await this.events.createdAt(dto.eventId);
      if (existing !== null) await this.registry.registerExisting(dto.eventId, existing);
      throw new DomainError('EVENT_EXISTS', `event ${dto.eventId} already exists`);
    }
    // Only now, with the event in place, do the replicas learn of it.
    await this.registry.register(dto.eventId, createdAt);
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
    checkRedirectOrigins(eventId, dto.redirectOrigins);
    const revision = await this.events.update(eventId, {
      holdTtlSeconds: dto.holdTtlSeconds,
      maxSeatsPerUser: dto.maxSeatsPerUser,
      ratePerSecond: dto.admission?.ratePerSecond,
      maxActive: dto.admission?.maxActive,
      sessionTtlSeconds: dto.admission?.sessionTtlSeconds,
      paused: dto.paused,
      powBits: dto.challenge?.difficultyBits,
      endsAt: instant('endsAt', dto.endsAt),
      queueMethod: dto.queueMethod,
      admissionMode: dto.admission?.mode,
      redirectOrigins: dto.redirectOrigins,
    });
    if (revision === null) throw eventNotFound(eventId);
    // A replica that stopped looking at a closed event looks again (it may have reopened).
    await this.registry.revised(eventId, revision);
    return this.get(eventId);
  }

  /**
   * Deletes an event and every key of it. The first script removes the event
   * hash (so every script refuses the event from then on, and no join or
   * hold can slip in), then the replicas are told, then the rest goes in
   * bounded batches. A delete cut short (Redis away) is finished by the next.
   */
  async delete(eventId: string, force: boolean): Promise<void> {
    const started = await this.events.beginDelete(eventId, force);
    if (started.kind === 'missing') throw eventNotFound(eventId);
    if (started.kind === 'active') {
      throw new DomainError('EVENT_ACTIVE', `event ${eventId} has live sessions or holds; add ?force=true to delete it anyway`, {
        activeSessions: started.sessions,
        liveHolds: started.holds,
      });
    }
    this.activity.gone(eventId);
    await this.registry.unregister(eventId);
    await this.events.removeKeys(eventId);
  }
}


/**
 * A Queue-it token is `e_<eventId>~q_…~h_…`: its reader splits on '~' and
 * then on '_', so an event id with either could never be read back. Such an
 * event may exist, but cannot send anyone back with a token.
 */
function checkRedirectOrigins(eventId: string, origins: string[] | undefined): void {
  if (origins && origins.length > 0 && /[_~]/.test(eventId)) {
    throw new DomainError('VALIDATION', `event ${eventId} cannot have redirectOrigins: Queue-it tokens use "_" and "~" as separators, so its id must contain neither`);
  }
}

/** An ISO 8601 instant (validated by the DTO) as ms since the epoch; null (none) as 0; absent stays undefined. */
function instant(name: string, iso: string | null | undefined): number | undefined {
  if (iso === undefined) return undefined;
  if (iso === null) return 0;
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
    // Events without a layout have one level, GA, without a price.
    levels: s.levels.length > 0 ? s.levels : [{ priceLevel: 'GA', available: s.available, held: s.held, sold: s.sold }],
    admission: { configuredRatePerSecond: s.ratePerSecond, observedRatePerSecond: s.observedRatePerSecond },
    shuffle: s.commitment === '' ? null : { commitment: s.commitment, seed: s.seed === '' ? null : s.seed },
    config: {
      holdTtlSeconds: s.holdTtlSeconds,
      maxSeatsPerUser: s.maxSeatsPerUser,
      admission: { ratePerSecond: s.ratePerSecond, maxActive: s.maxActive, sessionTtlSeconds: s.sessionTtlSeconds, mode: s.admissionMode },
      paused: s.paused,
      challenge: { difficultyBits: s.powBits },
      endsAt: isoOrNull(s.endsAt),
      queueOpensAt: isoOrNull(s.queueOpensAt),
      salesStartAt: isoOrNull(s.salesStartAt),
      redirectOrigins: s.redirectOrigins,
    },
  };
}
