import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError, eventNotFound, ticketNotFound } from '../common/domain-error';
import { appConfig, authConfig } from '../config/configuration';
import { EventActivity } from '../event/event-activity';
import { FeatureFlagService } from '../feature-flag/feature-flag.service';
import { challengeFailed, challengeRequired } from '../join/join-challenges';
import { JoinGate, JoinRequest } from '../join/join-gate';
import { JoinedDto, JoinQueueBody } from './dto/join-queue.dto';
import { QueueSnapshots } from './queue-snapshots';
import { eta, QueueStatusService } from './queue-status.service';
import { JoinOptions, JoinResult, QueueRepository, QueueStore, SortKeyArgs } from './queue.repository';
import { QueueWatchRepository } from './queue.watch-repository';
import { formatTicket, keyFingerprint, newNonce, shuffleSortKey, ticketKey } from './ticket';

/** A join's answer; `existing`: the person's place they already had (200, not 202). */
export interface JoinAnswer {
  existing: boolean;
  joined: JoinedDto;
}

/**
 * The write side of the queue: join and leave. Who may join is the JoinGate's
 * to say (src/join/); reading a ticket's status is QueueStatusService's.
 */
@Injectable()
export class QueueService {
  private readonly ticketKey: Buffer;
  /** Pre-queue seeds by event, read once per replica when a pre-queue join first needs one (epoch: the event's createdAt). */
  private readonly seeds = new Map<string, { seed: Buffer; epoch: number }>();

  constructor(
    private readonly gate: JoinGate,
    private readonly lua: QueueRepository,
    private readonly watch: QueueWatchRepository,
    private readonly flags: FeatureFlagService,
    private readonly reads: QueueStatusService,
    private readonly snapshots: QueueSnapshots,
    private readonly tokens: AccessTokenService,
    private readonly activity: EventActivity,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {
    this.ticketKey = ticketKey(auth.accessTokenSecret);
  }

  /** Lua scripts, or WATCH/MULTI transactions when the luaAtomic flag is off. */
  private get store(): QueueStore {
    return this.flags.isEnabled('luaAtomic') ? this.lua : this.watch;
  }

  /**
   * Joins the queue. `existing` is true when the answer is the person's place
   * they already had (JOIN_IDENTITY=jwt: 200, not 202). The gate's checks
   * first (identity, Idempotency-Key, rate, challenge: JoinGate); then one
   * join script run (two for the first pre-queue join a replica sees: it
   * reads the event's seed once); its reply is the answer or the refusal.
   */
  async join(eventId: string, body: JoinQueueBody, request: JoinRequest = {}): Promise<JoinAnswer> {
    const permit = await this.gate.admit(eventId, body, request);
    const { userId } = permit;
    const fingerprint = permit.idempotencyKey ? keyFingerprint(this.ticketKey, eventId, userId, permit.idempotencyKey) : '';
    // This join's nonce: its place is bound to it (invariant 11).
    const options: JoinOptions = { answerExisting: permit.answerExisting, challenge: permit.challenge, nonce: newNonce() };
    let result = await this.joinWith(eventId, userId, fingerprint, options);
    if (result.kind === 'need-sort-key') {
      // A pre-queue join and this replica has not read the event's seed yet (or
      // the event was re-created): read it once, then join with the sort key.
      await this.readSeed(eventId);
      result = await this.joinWith(eventId, userId, fingerprint, options);
    }
    this.noteJoin(eventId, result);
    return this.answer(eventId, userId, result);
  }

  /** The join script's reply as the answer (a promise only for a pre-queue place: it names the queue backend from the snapshot), or the refusal. */
  private answer(eventId: string, userId: string, result: JoinResult): JoinAnswer | Promise<JoinAnswer> {
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
        return this.prequeueAnswer(eventId, result);
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
            ...this.tokens.grant({ eventId, userId, sessionId: String(result.seq), expiresAtMs: result.sessionEndMs }),
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

  private async prequeueAnswer(eventId: string, result: JoinResult & { kind: 'prequeue' }): Promise<JoinAnswer> {
    return {
      existing: result.existing,
      joined: {
        ticket: formatTicket(this.ticketKey, eventId, result.epoch, { kind: 'p', n: result.pn, nonce: result.nonce }),
        status: 'prequeue',
        salesStartAt: new Date(result.salesStartAt).toISOString(),
        queue: (await this.reads.head(eventId)).queue,
      },
    };
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
  private async joinWith(eventId: string, userId: string, fingerprint: string, options: JoinOptions): Promise<JoinResult> {
    const sortKey = this.sortKey(eventId, userId);
    const result = await this.store.join(eventId, userId, fingerprint, sortKey, this.app.admitTickMs, options);
    return result.kind === 'use-scripts' ? this.lua.join(eventId, userId, fingerprint, sortKey, this.app.admitTickMs, options) : result;
  }

  /** A pre-queue join's sort key: the event's seed shuffles users (none before the seed is read). */
  private sortKey(eventId: string, userId: string): SortKeyArgs {
    const known = this.seeds.get(eventId);
    return known ? { sortKey: shuffleSortKey(known.seed, eventId, userId), epoch: known.epoch } : { sortKey: '', epoch: '' };
  }

  private async readSeed(eventId: string): Promise<void> {
    this.seeds.delete(eventId);
    const found = await this.lua.seed(eventId);
    if (found && found.seed !== '') this.seeds.set(eventId, { seed: Buffer.from(found.seed, 'hex'), epoch: found.epoch });
  }

  async leave(eventId: string, rawTicket: string): Promise<void> {
    const snapshot = await this.reads.head(eventId);
    const ticket = this.reads.verify(eventId, snapshot, rawTicket);
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
}
