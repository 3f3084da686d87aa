import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { AccessTokenService } from '../../access-token/access-token.service';
import { DomainError } from '../../common/domain-error';
import { ID_PATTERN } from '../../common/identifiers';
import { isRedisUnavailable } from '../../common/redis-errors';
import { queueItConfig } from '../../config/configuration';
import { EventService } from '../../event/event.service';
import { QueueStatusService } from '../../queue/queue-status.service';
import { QueueItTokenDto } from './dto/queue-it-token.dto';
import { allowedTarget, formatQueueItToken, queueIdFor, withQueueItToken } from './queue-it-token';
import { Refusal, refusals } from './refusal-page';

/** How long a replica trusts what it read of an event's redirect origins (a PATCH shows within this). */
const ORIGINS_TTL_MS = 1000;
/** Events whose origins a replica remembers at most (ids from links: anyone can make up more). */
const ORIGINS_CACHE_SIZE = 10_000;

/** What the connector's redirect asks for: `GET /?c=<customerId>&e=<eventId>&t=<target>`. */
export interface EntryQuery {
  c?: unknown;
  e?: unknown;
  t?: unknown;
}

/**
 * Queue-it connector compatibility (docs/queue-it.md), on top of the queue
 * and event modules: decides whether the connector's redirect may open the
 * waiting page, and signs the token that sends an admitted visitor back.
 */
@Injectable()
export class QueueItService {
  /** eventId → its redirect origins (null: no such event), read at most once a second per replica. */
  private readonly origins = new Map<string, { until: number; origins: Promise<string[] | null> }>();

  constructor(
    @Inject(queueItConfig.KEY) private readonly config: ConfigType<typeof queueItConfig>,
    private readonly events: EventService,
    private readonly reads: QueueStatusService,
    private readonly tokens: AccessTokenService,
  ) {}

  /**
   * Why the entry cannot open the waiting page, or null when it can: the
   * customer is this service's, the event exists, and the target's origin
   * is one the event names. Costs no Redis while the event's origins are
   * fresh on this replica, so a crowd arriving at once costs one read a second.
   */
  async refuseEntry(q: EntryQuery): Promise<Refusal | null> {
    const customerId = typeof q.c === 'string' ? q.c : '';
    if (!this.config.enabled || customerId.toLowerCase() !== this.config.customerId.toLowerCase()) return refusals.unknownCustomer(customerId);
    const eventId = typeof q.e === 'string' ? q.e : '';
    let origins: string[] | null;
    try {
      origins = await this.originsOf(eventId);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'UNAVAILABLE') return refusals.unavailable();
      if (isRedisUnavailable(err)) return refusals.unavailable();
      throw err;
    }
    if (origins === null) return refusals.unknownEvent(eventId);
    if (typeof q.t !== 'string' || q.t === '') return refusals.noTarget();
    return allowedTarget(q.t, origins) ? null : refusals.targetNotAllowed(q.t);
  }

  /**
   * The signed way back for an admitted ticket: the target with
   * `queueittoken=` appended. Checks, in order: compatibility on, the event,
   * the target's origin (403, before the ticket is read), then the ticket
   * (404, or 409 NOT_ADMITTED while it still waits).
   */
  async token(dto: QueueItTokenDto): Promise<{ redirectUrl: string; queueittoken: string; expiresAt: string }> {
    if (!this.config.enabled) {
      throw new DomainError('NOT_FOUND', 'Queue-it compatibility is off: QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY are not set');
    }
    const origins = await this.originsOf(dto.eventId);
    if (origins === null) throw new DomainError('EVENT_NOT_FOUND', `event ${dto.eventId} does not exist`);
    const target = allowedTarget(dto.target, origins);
    if (!target) {
      throw new DomainError('TARGET_NOT_ALLOWED', `the target's origin is not one of event ${dto.eventId}'s redirectOrigins`);
    }
    const status = await this.reads.status(dto.eventId, dto.ticket);
    if (status.status !== 'admitted' || !status.accessToken) {
      throw new DomainError('NOT_ADMITTED', `this ticket's turn has not come (${status.status})`, { status: status.status });
    }
    const session = this.tokens.verify(status.accessToken);
    const queueittoken = formatQueueItToken(this.config.secretKey, {
      eventId: dto.eventId,
      queueId: queueIdFor(this.config.secretKey, dto.eventId, session.sessionId, session.expiresAtMs),
      expiresAtS: Math.floor(session.expiresAtMs / 1000),
    });
    return { redirectUrl: withQueueItToken(target, queueittoken), queueittoken, expiresAt: new Date(session.expiresAtMs).toISOString() };
  }

  /** An event's redirect origins (null: no such event), from this replica's memory while fresh. */
  private originsOf(eventId: string): Promise<string[] | null> {
    if (!ID_PATTERN.test(eventId)) return Promise.resolve(null);
    const now = Date.now();
    const known = this.origins.get(eventId);
    if (known && known.until > now) return known.origins;
    if (this.origins.size >= ORIGINS_CACHE_SIZE) this.origins.clear();
    const read = this.events.snapshot(eventId).then(
      (s) => s.redirectOrigins,
      (err: unknown) => {
        if (err instanceof DomainError && err.code === 'EVENT_NOT_FOUND') return null;
        this.origins.delete(eventId); // a failed read is not remembered
        throw err;
      },
    );
    this.origins.set(eventId, { until: now + ORIGINS_TTL_MS, origins: read });
    return read;
  }
}
