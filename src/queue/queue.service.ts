import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError, eventNotFound } from '../common/domain-error';
import { checkJoinIdempotencyKey } from '../common/idempotency-key';
import { authConfig } from '../config/configuration';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { JoinedDto, TicketStatusDto } from './dto/join-queue.dto';
import { QueueRepository, QueueStore } from './queue.repository';
import { QueueWatchRepository } from './queue.watch-repository';
import { derivedSecret, formatTicket, newSecret, parseTicket, Ticket } from './ticket';

const eta = (position: number, ratePerSecond: number) => Math.ceil(position / Math.max(ratePerSecond, 1e-9));

/**
 * How often an open status stream re-reads its ticket. Each read is one
 * ticketStatus EVALSHA, so N open streams cost N script runs per second on
 * the event's Redis node: the same as N clients polling GET once a second,
 * minus their HTTP requests.
 */
export const WATCH_POLL_MS = 1000;

@Injectable()
export class QueueService implements BeforeApplicationShutdown {
  /** Aborted at shutdown: every open status stream ends, so the HTTP server can close. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly lua: QueueRepository,
    private readonly watch: QueueWatchRepository,
    private readonly flags: FeatureFlagService,
    private readonly tokens: AccessTokenService,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  /** Lua scripts, or WATCH/MULTI transactions when the luaAtomic flag is off. */
  private get store(): QueueStore {
    return this.flags.isEnabled('luaAtomic') ? this.lua : this.watch;
  }

  async join(eventId: string, userId: string, idempotencyKey?: string): Promise<JoinedDto> {
    const key = checkJoinIdempotencyKey(idempotencyKey);
    const secret = key ? derivedSecret(this.auth.accessTokenSecret, eventId, userId, key) : newSecret();
    const result = await this.store.join(eventId, userId, secret);
    switch (result.kind) {
      case 'joined':
        return {
          ticket: formatTicket(result.seq, secret),
          position: result.position,
          etaSeconds: eta(result.position, result.ratePerSecond),
          queue: result.queue,
        };
      case 'duplicate':
        throw new DomainError('DUPLICATE', `user ${userId} already waits or is admitted for event ${eventId}`, {
          position: result.position,
        });
      default:
        throw eventNotFound(eventId);
    }
  }

  async status(eventId: string, rawTicket: string): Promise<TicketStatusDto> {
    const ticket = this.parse(rawTicket);
    const state = await this.lua.status(eventId, ticket);
    switch (state.kind) {
      case 'waiting':
        return { status: 'waiting', position: state.position, etaSeconds: eta(state.position, state.ratePerSecond) };
      case 'admitted':
        return {
          status: 'admitted',
          accessToken: this.tokens.issue({ eventId, userId: state.userId, sessionId: ticket.seq, expiresAtMs: state.sessionEndMs }),
          accessExpiresAt: new Date(state.sessionEndMs).toISOString(),
        };
      case 'no-ticket':
        throw ticketNotFound();
      default:
        throw eventNotFound(eventId);
    }
  }

  /**
   * The ticket's status now, then again each time it changes (re-read every
   * WATCH_POLL_MS), ending after the `admitted` status, when `stop` aborts,
   * or when the app shuts down. The first read happens before this resolves,
   * so an unknown ticket throws here, before any stream is opened; an error
   * in a later read (ticket left, Redis away) is thrown by the iterator.
   */
  async watchStatus(eventId: string, rawTicket: string, stop: AbortSignal): Promise<AsyncGenerator<TicketStatusDto>> {
    if (this.shutdown.signal.aborted) {
      throw new DomainError('UNAVAILABLE', 'This instance is shutting down; reconnect or poll the ticket instead.');
    }
    const first = await this.status(eventId, rawTicket);
    const next = () => this.status(eventId, rawTicket);
    const shutdown = this.shutdown.signal;
    return (async function* frames() {
      // One signal for "client gone or app closing" (a listener, not
      // AbortSignal.any, so nothing stays tied to the long-lived shutdown signal).
      const done = new AbortController();
      const aborted = new Promise<undefined>((resolve) => done.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
      const end = () => done.abort();
      stop.addEventListener('abort', end);
      shutdown.addEventListener('abort', end);
      if (stop.aborted || shutdown.aborted) end();
      try {
        let last = first;
        yield first;
        while (last.status !== 'admitted' && !done.signal.aborted) {
          // An abort ends the wait early (it rejects), and so the stream.
          if (!(await sleep(WATCH_POLL_MS, true, { signal: done.signal }).catch(() => false))) return;
          // A read under way does not hold up the end of the stream either.
          const now = await Promise.race([next(), aborted]);
          if (!now) return;
          if (now.status !== last.status || now.position !== last.position || now.etaSeconds !== last.etaSeconds) yield now;
          last = now;
        }
      } finally {
        stop.removeEventListener('abort', end);
        shutdown.removeEventListener('abort', end);
      }
    })();
  }

  beforeApplicationShutdown(): void {
    this.shutdown.abort();
  }

  async leave(eventId: string, rawTicket: string): Promise<void> {
    const result = await this.store.leave(eventId, this.parse(rawTicket));
    if (result.kind === 'no-ticket') throw ticketNotFound();
    if (result.kind === 'no-event') throw eventNotFound(eventId);
  }

  private parse(raw: string): Ticket {
    const ticket = parseTicket(raw);
    if (!ticket) throw ticketNotFound();
    return ticket;
  }
}

const ticketNotFound = () => new DomainError('TICKET_NOT_FOUND', 'No such ticket: unknown, left, or its session is over.');
