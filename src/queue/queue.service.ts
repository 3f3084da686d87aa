import { Injectable } from '@nestjs/common';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError } from '../common/domain-error';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { JoinedDto, TicketStatusDto } from './dto/join-queue.dto';
import { QueueRepository, QueueStore } from './queue.repository';
import { QueueWatchRepository } from './queue.watch-repository';
import { formatTicket, newSecret, parseTicket, Ticket } from './ticket';

const eta = (position: number, ratePerSecond: number) => Math.ceil(position / Math.max(ratePerSecond, 1e-9));

@Injectable()
export class QueueService {
  constructor(
    private readonly lua: QueueRepository,
    private readonly watch: QueueWatchRepository,
    private readonly flags: FeatureFlagService,
    private readonly tokens: AccessTokenService,
  ) {}

  /** Lua scripts, or WATCH/MULTI transactions when the luaAtomic flag is off. */
  private get store(): QueueStore {
    return this.flags.isEnabled('luaAtomic') ? this.lua : this.watch;
  }

  async join(eventId: string, userId: string): Promise<JoinedDto> {
    const secret = newSecret();
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
const eventNotFound = (eventId: string) => new DomainError('EVENT_NOT_FOUND', `event ${eventId} does not exist`);
