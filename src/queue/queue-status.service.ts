import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessTokenService } from '../access-token/access-token.service';
import { DomainError, eventNotFound, ticketNotFound } from '../common/domain-error';
import { authConfig } from '../config/configuration';
import { TicketStatusDto } from './dto/join-queue.dto';
import { QueueSnapshot, QueueSnapshots, salesStarted } from './queue-snapshots';
import { QueueRepository } from './queue.repository';
import { formatTicket, Ticket, ticketKey, verifyTicket } from './ticket';

/**
 * Seconds until a place's turn at `ratePerSecond`. An observed rate of 0 (no
 * admission in the last minute: sessions full, seats all held) counts as one
 * admission a minute rather than "never".
 */
export const eta = (position: number, ratePerSecond: number) => Math.ceil(position / Math.max(ratePerSecond, 1 / 60));

/** Most frames one status stream sends per second (CONTRACT). */
export const STREAM_MIN_GAP_MS = 1000;

/**
 * The read side of the queue: the public head, a ticket's status and its
 * status stream, all answered from this replica's snapshot of the event
 * (queue-snapshots.ts) and the ticket itself, with one script only when the
 * snapshot cannot tell. Writes (join, leave) are QueueService's.
 *
 * A status read walks one way, by the ticket's kind:
 *   's' ticket         → answerPlace   → (snapshot) or readTicket
 *   's' post-seal      → answerSealed  → (snapshot) or readTicket or lookUpPrequeue
 *   'p' ticket         → answerPrequeue → (snapshot) or lookUpPrequeue
 * lookUpPrequeue ends in the snapshot or readTicket; nothing calls back up.
 */
@Injectable()
export class QueueStatusService implements BeforeApplicationShutdown {
  /** Aborted at shutdown: every open status stream ends, so the HTTP server can close. */
  private readonly shutdown = new AbortController();
  private readonly ticketKey: Buffer;

  constructor(
    private readonly lua: QueueRepository,
    private readonly snapshots: QueueSnapshots,
    private readonly tokens: AccessTokenService,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
  ) {
    this.ticketKey = ticketKey(auth.accessTokenSecret);
    // Every open stream listens for shutdown: thousands of them are expected.
    setMaxListeners(0, this.shutdown.signal);
  }

  /** The public queue head of an event, from this replica's snapshot (no Redis while it is fresh). */
  async head(eventId: string): Promise<QueueSnapshot> {
    const snapshot = await this.snapshots.get(eventId);
    if (!snapshot) throw eventNotFound(eventId);
    return snapshot;
  }

  /** The ticket if its MAC is right for this event; else 404, without asking Redis. */
  verify(eventId: string, snapshot: QueueSnapshot, raw: string): Ticket {
    const ticket = verifyTicket(this.ticketKey, eventId, snapshot.epoch, raw);
    if (!ticket) throw ticketNotFound();
    return ticket;
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
  private answer(eventId: string, s: QueueSnapshot, ticket: Ticket): Promise<TicketStatusDto> {
    if (ticket.kind === 'p') return this.answerPrequeue(eventId, s, ticket.pn, ticket.nonce);
    if (ticket.pn !== undefined) return this.answerSealed(eventId, s, ticket.seq, ticket.pn, ticket.nonce);
    return this.answerPlace(eventId, s, ticket.seq, ticket.nonce);
  }

  /** A place by arrival sequence: from the snapshot while it waits and the snapshot knows its nonce and every leave. */
  private async answerPlace(eventId: string, s: QueueSnapshot, seqText: string, nonce: number): Promise<TicketStatusDto> {
    const seq = Number(seqText);
    if (s.queue === 'streams' && seq > s.head && !s.taken.has(seq)) {
      const stored = s.nonces.get(seq);
      if (stored !== undefined && stored !== nonce) throw ticketNotFound();
      if (stored !== undefined && s.leftComplete) {
        if (s.left.has(seq)) throw ticketNotFound();
        return this.waiting(s, seq - s.head, s.etaRate);
      }
    }
    return this.readTicket(eventId, s, seqText, nonce);
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
  private async answerPrequeue(eventId: string, s: QueueSnapshot, pnText: string, nonce: number): Promise<TicketStatusDto> {
    const pn = Number(pnText);
    const stored = s.pnonces.get(pn);
    if (stored !== undefined && stored !== nonce) throw ticketNotFound();
    if (!salesStarted(s) && stored !== undefined && s.leftComplete) {
      if (s.leftPrequeue.has(pn)) throw ticketNotFound();
      if (s.status === 'soldOut' || s.status === 'closed') return { status: s.status };
      return { status: 'prequeue', salesStartAt: new Date(s.salesStartAt).toISOString() };
    }
    return this.lookUpPrequeue(eventId, s, pnText, nonce);
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

  /** The one Redis read of an 's' ticket (ticketStatus compares its nonce too), fed back into the snapshot. */
  private async readTicket(eventId: string, s: QueueSnapshot, seq: string, nonce: number): Promise<TicketStatusDto> {
    const state = await this.lua.status(eventId, { seq, epoch: s.epoch, nonce });
    switch (state.kind) {
      case 'waiting':
        if (s.queue === 'streams') this.snapshots.noteHead(eventId, s.epoch, Number(seq) - state.position);
        return this.waiting(s, state.position, state.ratePerSecond);
      case 'admitted':
        this.snapshots.noteAdmitted(eventId, s.epoch, Number(seq));
        return { status: 'admitted', ...this.tokens.grant({ eventId, userId: state.userId, sessionId: seq, expiresAtMs: state.sessionEndMs }) };
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
}

const isFinal = (s: TicketStatusDto) => s.status === 'admitted' || s.status === 'soldOut';
