import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError, eventNotFound } from '../common/domain-error';
import { checkJoinIdempotencyKey } from '../common/idempotency-key';
import { authConfig } from '../config/configuration';
import { EventActivity } from '../event/event-activity';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { challengeFailed, challengeRequired, JoinChallenges } from '../join/join-challenges';
import { JoinIdentity } from '../join/join-identity';
import { JoinRateLimiter } from '../join/join-rate';
import { JoinedDto, JoinQueueBody, TicketStatusDto } from './dto/join-queue.dto';
import { QueueSnapshot, QueueSnapshots } from './queue-snapshots';
import { QueueRepository, QueueStore } from './queue.repository';
import { QueueWatchRepository } from './queue.watch-repository';
import { formatTicket, keyFingerprint, Ticket, ticketKey, verifyTicket } from './ticket';

/**
 * Seconds until a place's turn at `ratePerSecond`. An observed rate of 0 (no
 * admission in the last minute: sessions full, seats all held) counts as one
 * admission a minute rather than "never".
 */
const eta = (position: number, ratePerSecond: number) => Math.ceil(position / Math.max(ratePerSecond, 1 / 60));

/** Most frames one status stream sends per second (CONTRACT). */
export const STREAM_MIN_GAP_MS = 1000;

/** What a join request says besides its body. */
export interface JoinContext {
  idempotencyKey?: string;
  /** the Authorization header: the identity token with JOIN_IDENTITY=jwt */
  authorization?: string;
  /** the socket peer and X-Forwarded-For, for JOIN_RATE_PER_MINUTE */
  peer?: string;
  forwardedFor?: string | string[];
}

@Injectable()
export class QueueService implements BeforeApplicationShutdown {
  /** Aborted at shutdown: every open status stream ends, so the HTTP server can close. */
  private readonly shutdown = new AbortController();
  private readonly ticketKey: Buffer;

  constructor(
    private readonly lua: QueueRepository,
    private readonly watch: QueueWatchRepository,
    private readonly flags: FeatureFlagService,
    private readonly tokens: AccessTokenService,
    private readonly activity: EventActivity,
    private readonly snapshots: QueueSnapshots,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    private readonly identity: JoinIdentity,
    private readonly challenges: JoinChallenges,
    private readonly joinRate: JoinRateLimiter,
  ) {
    this.ticketKey = ticketKey(auth.accessTokenSecret);
    // Every open stream listens for shutdown: thousands of them are expected.
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Lua scripts, or WATCH/MULTI transactions when the luaAtomic flag is off. */
  private get store(): QueueStore {
    return this.flags.isEnabled('luaAtomic') ? this.lua : this.watch;
  }

  /**
   * Joins the queue. `existing` is true when the answer is the person's place
   * they already had (JOIN_IDENTITY=jwt: 200, not 202). Checks, in order:
   * who joins (400/401), the join rate of the client address (429, its own
   * round trip, only when JOIN_RATE_PER_MINUTE is set), the challenge's MAC and
   * work (403, no Redis); then one join script run.
   */
  async join(eventId: string, body: JoinQueueBody, ctx: JoinContext = {}): Promise<{ existing: boolean; joined: JoinedDto }> {
    const userId = this.identity.userFor(body.userId, ctx.authorization);
    const key = checkJoinIdempotencyKey(ctx.idempotencyKey);
    await this.joinRate.take(ctx.peer, ctx.forwardedFor);
    const challenge = body.challenge === undefined ? undefined : this.challenges.verify(eventId, body.challenge, body.nonce ?? '');
    const fingerprint = key ? keyFingerprint(this.ticketKey, eventId, userId, key) : '';
    const result = await this.store.join(eventId, userId, fingerprint, { answerExisting: this.identity.mode === 'jwt', challenge });
    switch (result.kind) {
      case 'joined':
        this.activity.markJoined(eventId);
        return {
          existing: false,
          joined: {
            ticket: formatTicket(this.ticketKey, eventId, result.epoch, result.seq),
            status: 'waiting',
            position: result.position,
            etaSeconds: eta(result.position, result.ratePerSecond),
            queue: result.queue,
          },
        };
      case 'existing':
        return {
          existing: true,
          joined: {
            ticket: formatTicket(this.ticketKey, eventId, result.epoch, result.seq),
            queue: result.queue,
            ...(result.position > 0
              ? { status: 'waiting', position: result.position, etaSeconds: eta(result.position, result.ratePerSecond) }
              : { status: 'admitted' }),
          },
        };
      case 'duplicate':
        throw new DomainError('DUPLICATE', `user ${userId} already waits or is admitted for event ${eventId}`, {
          position: result.position,
        });
      case 'challenge-required':
        throw challengeRequired();
      case 'challenge-failed':
        throw challengeFailed();
      case 'closed':
        throw new DomainError('QUEUE_CLOSED', `event ${eventId} is closed: the queue takes nobody more`);
      case 'sold-out':
        throw new DomainError('SOLD_OUT', `event ${eventId} is sold out: no seat is left and none is held`, { statusCode: 410 });
      default:
        throw eventNotFound(eventId);
    }
  }

  /** The public queue head of an event, from this replica's snapshot (no Redis while it is fresh). */
  async head(eventId: string): Promise<QueueSnapshot> {
    const snapshot = await this.snapshots.get(eventId);
    if (!snapshot) throw eventNotFound(eventId);
    return snapshot;
  }

  async status(eventId: string, rawTicket: string): Promise<TicketStatusDto> {
    const snapshot = await this.head(eventId);
    return this.answer(eventId, snapshot, this.verify(eventId, snapshot, rawTicket));
  }

  /**
   * A ticket's answer from the snapshot and the ticket alone while it waits
   * on the Streams backend: no Redis command. One ticketStatus script only
   * when the snapshot cannot tell: the ticket's turn came (admitted, or its
   * session over), the replica has not read every leave yet, or the
   * sorted-set backend (an exact ZRANK, one read per status).
   */
  private async answer(eventId: string, s: QueueSnapshot, ticket: Ticket): Promise<TicketStatusDto> {
    const seq = Number(ticket.seq);
    if (s.queue === 'streams' && seq > s.head && s.leftComplete) {
      if (s.left.has(seq)) throw ticketNotFound();
      if (s.status === 'soldOut') return { status: 'soldOut' };
      const position = seq - s.head;
      return { status: 'waiting', position, etaSeconds: eta(position, s.etaRate) };
    }
    const state = await this.lua.status(eventId, { seq: ticket.seq, epoch: s.epoch });
    switch (state.kind) {
      case 'waiting':
        if (s.status === 'soldOut') return { status: 'soldOut' };
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
   * The ticket's status now, then again each time it changes, ending after
   * a final status (admitted, soldOut), when `stop` aborts, or when the app
   * shuts down. Every open stream of an event on this replica waits on the
   * same snapshot refresh (one queueHead call per event, whatever the number
   * of streams) and computes its own frame from it: no Redis command while
   * the ticket waits, one script when its turn comes (its own access token).
   * At most one frame per STREAM_MIN_GAP_MS. The first read happens before
   * this resolves, so an unknown ticket throws here, before any stream is
   * opened; a later failure (ticket left, event gone, Redis away at the turn)
   * is thrown by the iterator.
   */
  async watchStatus(eventId: string, rawTicket: string, stop: AbortSignal): Promise<AsyncGenerator<TicketStatusDto>> {
    if (this.shutdown.signal.aborted) {
      throw new DomainError('UNAVAILABLE', 'This instance is shutting down; reconnect or poll the ticket instead.');
    }
    const firstSnapshot = await this.head(eventId);
    const ticket = this.verify(eventId, firstSnapshot, rawTicket);
    const first = await this.answer(eventId, firstSnapshot, ticket);
    const unwatch = this.snapshots.watch(eventId);
    const snapshots = this.snapshots;
    const answer = (s: QueueSnapshot) => this.answer(eventId, s, ticket);
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
        let seen = firstSnapshot.version;
        let sentAt = performance.now();
        yield first;
        while (!isFinal(last) && !done.signal.aborted) {
          const gap = STREAM_MIN_GAP_MS - (performance.now() - sentAt);
          // An abort ends the wait early (it rejects), and so the stream.
          if (gap > 0 && !(await sleep(gap, true, { signal: done.signal }).catch(() => false))) return;
          const snapshot = await snapshots.next(eventId, seen, done.signal);
          if (snapshot === undefined) return;
          if (snapshot === null) throw eventNotFound(eventId);
          seen = snapshot.version;
          // A read under way (its turn came) does not hold up the end of the stream either.
          const now = await Promise.race([answer(snapshot), aborted]);
          if (!now) return;
          if (now.status !== last.status || now.position !== last.position || now.etaSeconds !== last.etaSeconds) {
            yield now;
            sentAt = performance.now();
          }
          last = now;
        }
      } finally {
        unwatch();
        stop.removeEventListener('abort', end);
        shutdown.removeEventListener('abort', end);
      }
    })();
  }

  beforeApplicationShutdown(): void {
    this.shutdown.abort();
  }

  async leave(eventId: string, rawTicket: string): Promise<void> {
    const snapshot = await this.head(eventId);
    const ticket = this.verify(eventId, snapshot, rawTicket);
    const result = await this.store.leave(eventId, { seq: ticket.seq, epoch: snapshot.epoch });
    if (result.kind === 'no-ticket') throw ticketNotFound();
    if (result.kind === 'no-event') throw eventNotFound(eventId);
    this.snapshots.noteLeft(eventId, Number(ticket.seq));
  }

  /** The ticket if its MAC is right for this event; else 404, without asking Redis. */
  private verify(eventId: string, snapshot: QueueSnapshot, raw: string): Ticket {
    const ticket = verifyTicket(this.ticketKey, eventId, snapshot.epoch, raw);
    if (!ticket) throw ticketNotFound();
    return ticket;
  }
}

const isFinal = (s: TicketStatusDto) => s.status === 'admitted' || s.status === 'soldOut';

const ticketNotFound = () => new DomainError('TICKET_NOT_FOUND', 'No such ticket: unknown, left, or its session is over.');
