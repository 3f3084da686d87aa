import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError, eventNotFound } from '../common/domain-error';
import { checkJoinIdempotencyKey } from '../common/idempotency-key';
import { appConfig, authConfig } from '../config/configuration';
import { EventActivity } from '../event/event-activity';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { challengeFailed, challengeRequired, JoinChallenges } from '../join/join-challenges';
import { JoinIdentity } from '../join/join-identity';
import { JoinRateLimiter } from '../join/join-rate';
import { JoinedDto, JoinQueueBody, TicketStatusDto } from './dto/join-queue.dto';
import { QueueSnapshot, QueueSnapshots, salesStarted } from './queue-snapshots';
import { JoinOptions, JoinResult, QueueRepository, QueueStore, SortKeyArgs } from './queue.repository';
import { QueueWatchRepository } from './queue.watch-repository';
import { formatTicket, keyFingerprint, newNonce, shuffleSortKey, Ticket, ticketKey, verifyTicket } from './ticket';

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
  /** Pre-queue seeds by event, read once per replica when a pre-queue join first needs one (epoch: the event's createdAt). */
  private readonly seeds = new Map<string, { seed: Buffer; epoch: number }>();

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
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
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
   * work (403, no Redis); then one join script run (two for the first
   * pre-queue join a replica sees: it reads the event's seed once).
   */
  async join(eventId: string, body: JoinQueueBody, ctx: JoinContext = {}): Promise<{ existing: boolean; joined: JoinedDto }> {
    const userId = this.identity.userFor(body.userId, ctx.authorization);
    const key = checkJoinIdempotencyKey(ctx.idempotencyKey);
    await this.joinRate.take(ctx.peer, ctx.forwardedFor);
    const challenge = body.challenge === undefined ? undefined : this.challenges.verify(eventId, body.challenge, body.nonce ?? '');
    const fingerprint = key ? keyFingerprint(this.ticketKey, eventId, userId, key) : '';
    // This join's nonce: its place is bound to it (invariant 11).
    const options: JoinOptions = { answerExisting: this.identity.mode === 'jwt', challenge, nonce: newNonce() };
    let result = await this.joinWith(eventId, userId, fingerprint, this.sortKey(eventId, userId), options);
    if (result.kind === 'need-sort-key') {
      // A pre-queue join and this replica has not read the event's seed yet (or
      // the event was re-created): read it once, then join with the sort key.
      this.seeds.delete(eventId);
      const found = await this.lua.seed(eventId);
      if (found && found.seed !== '') this.seeds.set(eventId, { seed: Buffer.from(found.seed, 'hex'), epoch: found.epoch });
      result = await this.joinWith(eventId, userId, fingerprint, this.sortKey(eventId, userId), options);
    }
    this.noteJoin(eventId, result);
    switch (result.kind) {
      case 'joined':
      case 'existing':
        if (result.kind === 'joined') this.activity.markJoined(eventId);
        return {
          existing: result.kind === 'existing',
          joined: {
            ticket: formatTicket(this.ticketKey, eventId, result.epoch, { kind: 's', n: result.seq, nonce: result.nonce, pn: result.pn }),
            queue: result.queue,
            // A repeated join (jwt) of an admitted person says so; its status read hands out the token.
            ...(result.kind === 'existing' && result.position === 0
              ? { status: 'admitted' as const }
              : {
                  status: 'waiting' as const,
                  ...(result.position === null ? {} : { position: result.position, etaSeconds: eta(result.position, result.ratePerSecond) }),
                }),
          },
        };
      case 'prequeue':
        if (!result.existing) this.activity.markJoined(eventId);
        return {
          existing: result.existing,
          joined: {
            ticket: formatTicket(this.ticketKey, eventId, result.epoch, { kind: 'p', n: result.pn, nonce: result.nonce }),
            status: 'prequeue',
            salesStartAt: new Date(result.salesStartAt).toISOString(),
            queue: (await this.head(eventId)).queue,
          },
        };
      case 'admitted':
        this.activity.markJoined(eventId);
        return {
          existing: false,
          joined: {
            ticket: formatTicket(this.ticketKey, eventId, result.epoch, { kind: 's', n: result.seq, nonce: result.nonce }),
            status: 'admitted',
            position: 0,
            etaSeconds: 0,
            queue: result.queue,
            ...this.access(eventId, userId, String(result.seq), result.sessionEndMs),
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
      case 'not-open':
        throw new DomainError('QUEUE_NOT_OPEN', `the queue of event ${eventId} opens at ${new Date(result.queueOpensAt).toISOString()}`, {
          queueOpensAt: new Date(result.queueOpensAt).toISOString(),
        });
      case 'closed':
        throw new DomainError('QUEUE_CLOSED', `event ${eventId} takes no more joins`);
      case 'sold-out':
        throw new DomainError('SOLD_OUT', `event ${eventId} is sold out: no seat is left and none is held`, { statusCode: 410 });
      default:
        // need-sort-key again: the event has no seed (it was re-created without a pre-queue meanwhile).
        if (result.kind === 'need-sort-key') throw new DomainError('UNAVAILABLE', 'the event changed while joining; try again');
        throw eventNotFound(eventId);
    }
  }


  /**
   * What a join's reply tells this replica's snapshot: the head the join saw
   * (a Streams position is seq - head), an admission, and the new place's
   * nonce, so the reads after the join never say less than it did and need
   * no Redis before the next refresh (invariant 12).
   */
  private noteJoin(eventId: string, r: JoinResult): void {
    if (r.kind === 'admitted') {
      // passthrough: head moved to this sequence
      this.snapshots.noteHead(eventId, r.epoch, r.seq);
    } else if (r.kind === 'joined' || r.kind === 'existing') {
      if (r.position === 0) this.snapshots.noteAdmitted(eventId, r.epoch, r.seq);
      else if (r.position !== null && (r.queue === 'streams' || r.pn !== undefined)) this.snapshots.noteHead(eventId, r.epoch, r.seq - r.position);
      if (r.pn === undefined && r.position !== 0) this.snapshots.noteJoined(eventId, r.epoch, 's', r.seq, r.nonce);
    } else if (r.kind === 'prequeue') {
      this.snapshots.noteJoined(eventId, r.epoch, 'p', r.pn, r.nonce);
    }
  }

  /** The WATCH/MULTI path covers plain fifo joins; it hands scheduled and other-method events to the scripts. */
  private async joinWith(eventId: string, userId: string, fingerprint: string, sortKey: SortKeyArgs, options: JoinOptions): Promise<JoinResult> {
    const result = await this.store.join(eventId, userId, fingerprint, sortKey, this.app.admitTickMs, options);
    return result.kind === 'use-scripts' ? this.lua.join(eventId, userId, fingerprint, sortKey, this.app.admitTickMs, options) : result;
  }

  private sortKey(eventId: string, userId: string): SortKeyArgs {
    const known = this.seeds.get(eventId);
    return known ? { sortKey: shuffleSortKey(known.seed, eventId, userId), epoch: known.epoch } : { sortKey: '', epoch: '' };
  }

  private access(eventId: string, userId: string, sessionId: string, sessionEndMs: number) {
    return {
      accessToken: this.tokens.issue({ eventId, userId, sessionId, expiresAtMs: sessionEndMs }),
      accessExpiresAt: new Date(sessionEndMs).toISOString(),
    };
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
   * on the Streams backend: no Redis command, once this replica has read the
   * nonce its join stored (a refresh, or this replica's own join) and every
   * leave. The nonce must be the ticket's (invariant 11): another one means
   * the ticket's join was lost and its number reused, and it reads 404.
   * One script only when the snapshot cannot tell: the ticket's turn came
   * (admitted, or its session over), the replica has not read its nonce or
   * every leave yet, or the sorted-set backend (an exact ZRANK, one read per
   * status). Every script reply moves the snapshot forward (noteHead,
   * noteAdmitted), so no later answer here says less (invariant 12).
   */
  private async answer(eventId: string, s: QueueSnapshot, ticket: Ticket): Promise<TicketStatusDto> {
    if (ticket.kind === 'p') return this.answerPrequeue(eventId, s, ticket);
    if (ticket.pn !== undefined) return this.answerSealed(eventId, s, ticket.seq, ticket.pn, ticket.nonce);
    const seq = Number(ticket.seq);
    if (s.queue === 'streams' && seq > s.head && !s.taken.has(seq)) {
      const stored = s.nonces.get(seq);
      if (stored !== undefined && stored !== ticket.nonce) throw ticketNotFound();
      if (stored !== undefined && s.leftComplete) {
        if (s.left.has(seq)) throw ticketNotFound();
        return this.waiting(s, seq - s.head, s.etaRate);
      }
    }
    return this.readTicket(eventId, s, ticket.seq, ticket.nonce);
  }

  /** The one Redis read of an 's' ticket (ticketStatus compares its nonce too), fed back into the snapshot. */
  private async readTicket(eventId: string, s: QueueSnapshot, seq: string, nonce: number): Promise<TicketStatusDto> {
    const state = await this.lua.status(eventId, { seq, epoch: s.epoch, nonce });
    switch (state.kind) {
      case 'waiting':
        if (s.queue === 'streams') this.snapshots.noteHead(eventId, s.epoch, Number(seq) - state.position);
        return this.waiting(s, state.position, state.ratePerSecond);
      case 'admitted':
        this.snapshots.noteAdmitted(eventId, s.epoch, Number(seq));
        return { status: 'admitted', ...this.access(eventId, state.userId, seq, state.sessionEndMs) };
      case 'no-ticket':
        throw ticketNotFound();
      default:
        throw eventNotFound(eventId);
    }
  }

  /** A waiting ticket's answer: its place, or what the event's status tells instead (no place with random). */
  private waiting(s: QueueSnapshot, position: number, rate: number): TicketStatusDto {
    if (s.status === 'soldOut') return { status: 'soldOut' };
    if (s.status === 'closed') return { status: 'closed' };
    if (s.queueMethod === 'random') return { status: 'waiting' };
    // A manual event admits when its organiser says: a place, but no ETA from a rate.
    if (s.view.admissionMode === 'manual') return { status: 'waiting', position };
    return { status: 'waiting', position, etaSeconds: eta(position, rate) };
  }

  /**
   * A post-seal 's' ticket (the replacement of a 'p' ticket): a sequence the
   * seal reserved for the pre-queue, bound to the pre-queue number's nonce.
   * Waiting: from the snapshot (the pre-queue numbers' nonces it read);
   * otherwise by its pre-queue number, or the session's read at its turn.
   */
  private async answerSealed(eventId: string, s: QueueSnapshot, seqText: string, pn: string, nonce: number): Promise<TicketStatusDto> {
    const seq = Number(seqText);
    if (seq <= s.head || s.taken.has(seq)) return this.readTicket(eventId, s, seqText, nonce);
    const stored = s.pnonces.get(Number(pn));
    if (stored !== undefined && stored !== nonce) throw ticketNotFound();
    const sealed = s.prequeue !== null && seq > s.prequeue.base && seq <= s.prequeue.end;
    if (stored !== undefined && s.leftComplete && sealed) {
      if (s.left.has(seq)) throw ticketNotFound();
      return this.waiting(s, seq - s.head, s.etaRate);
    }
    // This replica has not read the nonce, every leave or the seal yet (a new replica catching up).
    return this.lookUpPrequeue(eventId, s, pn, nonce, seq);
  }

  /**
   * A 'p' ticket: before salesStartAt from the snapshot alone; after it, one
   * look-up (the change) gives its post-shuffle sequence, answered as that
   * 's' ticket with the 's' ticket as a replacement the client uses from then on.
   */
  private async answerPrequeue(eventId: string, s: QueueSnapshot, ticket: Ticket & { kind: 'p' }): Promise<TicketStatusDto> {
    const pn = Number(ticket.pn);
    const stored = s.pnonces.get(pn);
    if (stored !== undefined && stored !== ticket.nonce) throw ticketNotFound();
    if (!salesStarted(s) && stored !== undefined && s.leftComplete) {
      if (s.leftPrequeue.has(pn)) throw ticketNotFound();
      if (s.status === 'soldOut' || s.status === 'closed') return { status: s.status };
      return { status: 'prequeue', salesStartAt: new Date(s.salesStartAt).toISOString() };
    }
    return this.lookUpPrequeue(eventId, s, ticket.pn, ticket.nonce);
  }

  /**
   * The one Redis look-up of a pre-queue entry by its number: its place
   * after the shuffle, or its session; with the 's' replacement ticket of
   * that place unless the ticket read is that one already (`heldSeq`).
   */
  private async lookUpPrequeue(eventId: string, s: QueueSnapshot, pn: string, nonce: number, heldSeq?: number): Promise<TicketStatusDto> {
    const state = await this.lua.prequeueTicket(eventId, 'status', pn, s.epoch, nonce);
    switch (state.kind) {
      case 'seq':
      case 'admitted': {
        const replacement = formatTicket(this.ticketKey, eventId, s.epoch, { kind: 's', n: state.seq, nonce, pn });
        const answer =
          state.kind === 'seq'
            ? this.waiting(s, Math.max(1, state.seq - s.head), s.etaRate)
            : await this.readTicket(eventId, s, String(state.seq), nonce);
        return state.seq === heldSeq ? answer : { ...answer, ticket: replacement };
      }
      case 'prequeue':
        if (s.status === 'soldOut' || s.status === 'closed') return { status: s.status };
        return { status: 'prequeue', salesStartAt: new Date(state.salesStartAt).toISOString() };
      case 'no-event':
        throw eventNotFound(eventId);
      default:
        throw ticketNotFound();
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
    let ticket = this.verify(eventId, firstSnapshot, rawTicket);
    // A pre-queue ticket's first answer after the shuffle carries its
    // replacement: the stream goes on with that one (no further look-up).
    const follow = (a: TicketStatusDto) => {
      if (a.ticket) ticket = this.verify(eventId, firstSnapshot, a.ticket);
      return a;
    };
    const first = follow(await this.answer(eventId, firstSnapshot, ticket));
    const unwatch = this.snapshots.watch(eventId);
    const snapshots = this.snapshots;
    const answer = async (s: QueueSnapshot) => follow(await this.answer(eventId, s, ticket));
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
          if (now.status !== last.status || now.position !== last.position || now.etaSeconds !== last.etaSeconds || now.ticket) {
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
    let seq: string;
    if (ticket.kind === 'p' || ticket.pn !== undefined) {
      const pn = ticket.pn!;
      const state = await this.lua.prequeueTicket(eventId, 'leave', pn, snapshot.epoch, ticket.nonce);
      if (state.kind === 'no-event') throw eventNotFound(eventId);
      if (state.kind === 'left') {
        this.snapshots.noteLeftPrequeue(eventId, Number(pn));
        if (ticket.kind === 's') this.snapshots.noteLeft(eventId, Number(ticket.seq));
        return;
      }
      // Already admitted: end its session; otherwise there is nothing to leave.
      if (state.kind !== 'admitted') throw ticketNotFound();
      seq = String(state.seq);
    } else {
      seq = ticket.seq;
    }
    const result = await this.store.leave(eventId, { seq, epoch: snapshot.epoch, nonce: ticket.nonce });
    if (result.kind === 'no-ticket') throw ticketNotFound();
    if (result.kind === 'no-event') throw eventNotFound(eventId);
    this.snapshots.noteLeft(eventId, Number(seq));
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
