import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { DomainError } from '../../common/domain-error';
import { ID_PATTERN } from '../../common/identifiers';
import { authConfig, awsVwrConfig } from '../../config/configuration';
import { EventService } from '../../event/event.service';
import { JoinIdentity } from '../../join/join-identity';
import { Admitter } from '../../queue/admitter';
import { TicketStatusDto } from '../../queue/dto/join-queue.dto';
import { QueueSnapshot, QueueSnapshots, redisNow, salesStarted } from '../../queue/queue-snapshots';
import { QueueStatusService } from '../../queue/queue-status.service';
import { QueueService } from '../../queue/queue.service';
import { formatTicket, mintedTicketParts, ticketKey, verifyTicket } from '../../queue/ticket';
import { AwsVwrRepository } from './aws-vwr.repository';
import { entryTimeMs, formatRequestId, MAX_N, minutesSince, RequestIdParts, verifyRequestId } from './request-id';
import { VwrClaims, VwrTokens } from './vwr-tokens';

/** An answer of AWS's API: its status and JSON body (errors are `{ error }`, as AWS's own). */
export interface VwrAnswer {
  status: number;
  body: unknown;
  /** seconds, for 429 and 503 */
  retryAfter?: number;
}

/** An expected refusal, answered as AWS answers it. */
export class VwrRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(error);
  }
}

const ok = (body: unknown, status = 200): VwrAnswer => ({ status, body });
const INVALID_ID = () => new VwrRefusal(400, 'Invalid request ID');
const NOT_SERVED = () => new VwrRefusal(202, 'Request ID not being served yet');
/** Pre-queue numbers resolved to their post-shuffle sequence, per replica. */
const RESOLVED_CACHE_SIZE = 100_000;

/** Where a request id stands, from the snapshot (and one look-up for a pre-queue id after the shuffle). */
type Place =
  /** seq: its arrival number; ticket: the native ticket of the place (with its nonce) */
  | { kind: 'numbered'; seq: number; ticket: string; parts: RequestIdParts }
  | { kind: 'unnumbered'; parts: RequestIdParts };

/**
 * AWS Virtual Waiting Room's public and private API on top of the native
 * queue (docs/aws-vwr.md): a request id is a native place, the serving
 * counter is the queue head, increment_serving_counter is POST .../admissions,
 * and generate_token mints RS256 tokens for an admitted place's session.
 * Polls (queue_num, serving_num, waiting_num, generate_token while waiting)
 * answer from the replica's queue snapshot, with no Redis command.
 */
@Injectable()
export class AwsVwrService {
  private readonly ticketKey: Buffer;
  private readonly resolved = new Map<string, number>();
  /** request ids this replica already put in the token ledger (a repeat generate_token writes nothing) */
  private readonly recorded = new Set<string>();
  private readonly userPrefix = randomBytes(16).toString('base64url');
  private assigned = 0;

  constructor(
    private readonly queue: QueueService,
    private readonly reads: QueueStatusService,
    private readonly snapshots: QueueSnapshots,
    private readonly admitter: Admitter,
    private readonly events: EventService,
    private readonly identity: JoinIdentity,
    private readonly tokens: VwrTokens,
    private readonly repo: AwsVwrRepository,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    @Inject(awsVwrConfig.KEY) private readonly config: ConfigType<typeof awsVwrConfig>,
  ) {
    this.ticketKey = ticketKey(auth.accessTokenSecret);
  }

  /**
   * A user id no other place has: this process's random prefix (128 bits, so
   * no two replicas share one) and a counter, cheaper than fresh randomness
   * per join. It is never shown: the request id is the place's only handle.
   */
  private anonymousUserId(): string {
    this.assigned += 1;
    return `aws-vwr.${this.userPrefix}.${this.assigned.toString(36)}`;
  }

  /** POST /assign_queue_num: a new anonymous place in the event's queue. */
  async assign(eventId: unknown, peer?: string, forwardedFor?: string | string[]): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    if (this.identity.mode === 'jwt') {
      throw new VwrRefusal(400, 'This service takes joins only with an identity token (JOIN_IDENTITY=jwt): use the native join');
    }
    const s = await this.snapshot(id);
    // The join's time, on the Redis clock, as minutes since the event's creation (entry_time).
    const entryMinutes = minutesSince(s.epoch, redisNow(s));
    let joined;
    try {
      ({ joined } = await this.queue.join(id, { userId: this.anonymousUserId() }, { peer, forwardedFor }));
    } catch (err) {
      if (err instanceof DomainError && (err.code === 'CHALLENGE_REQUIRED' || err.code === 'CHALLENGE_FAILED')) {
        throw new VwrRefusal(400, `Event ${id} requires a proof-of-work challenge to join: use the native join`);
      }
      throw err;
    }
    // The join's own ticket, just minted here: its parts need no MAC check. (Were the event
    // re-created between the snapshot and the join, the id would carry the old creation
    // time and be refused on first use: the client assigns again.)
    const ticket = mintedTicketParts(joined.ticket);
    if (!ticket) throw new Error(`join answered a ticket of unknown form: ${joined.ticket}`);
    // A place from the pre-queue keeps its pre-queue number (its nonce is bound to it), as its ticket does.
    const parts: RequestIdParts =
      ticket.kind === 's' && ticket.pn === undefined
        ? { kind: 's', n: Number(ticket.n), nonce: ticket.nonce, entryMinutes }
        : { kind: 'p', n: Number(ticket.pn ?? ticket.n), nonce: ticket.nonce, entryMinutes };
    if (parts.n > MAX_N) throw new DomainError('UNAVAILABLE', `event ${id} has more places than AWS-compatible request ids can number`);
    return ok({ api_request_id: formatRequestId(this.ticketKey, id, s.epoch, parts) });
  }

  /** GET /queue_num: the place's arrival number. */
  async queueNum(eventId: unknown, requestId: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    const s = await this.snapshot(id);
    const place = await this.place(id, s, requestId);
    if (place.kind === 'unnumbered') return ok({ error: 'Request ID not found' }, 202);
    // Left, or a lost join's id whose number a later join reuses (its nonce differs): as a ticket would be.
    if (s.left.has(place.seq)) throw INVALID_ID();
    const stored = place.parts.kind === 's' ? s.nonces.get(place.seq) : s.pnonces.get(place.parts.n);
    if (stored !== undefined && stored !== place.parts.nonce) throw INVALID_ID();
    return ok({
      queue_number: place.seq,
      entry_time: Math.floor(entryTimeMs(s.epoch, place.parts.entryMinutes, redisNow(s)) / 1000),
      event_id: id,
      status: 1,
    });
  }

  /** GET /serving_num: the highest arrival number whose turn came, as a string (as AWS answers it). */
  async servingNum(eventId: unknown): Promise<VwrAnswer> {
    const s = await this.snapshot(checkEventId(eventId));
    return ok({ serving_counter: String(s.head) });
  }

  async waitingNum(eventId: unknown): Promise<VwrAnswer> {
    const s = await this.snapshot(checkEventId(eventId));
    return ok({ waiting_num: s.view.waiting });
  }

  /** GET /queue_pos_expiry: places do not expire while waiting here. */
  async queuePosExpiry(eventId: unknown, requestId: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    await this.place(id, await this.snapshot(id), requestId);
    return ok({ error: 'Queue position expiration not enabled' }, 202);
  }

  /**
   * generate_token: the place's tokens once admitted (claims from the place
   * and its session, so a repeat gets the same claims), 202 while it waits
   * (from the snapshot: no Redis), 410 once its session is over.
   */
  async generateToken(eventId: unknown, requestId: unknown, options: { issuer?: unknown; validityPeriod?: unknown } = {}): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '')) throw new VwrRefusal(400, 'issuer must be a string');
    const validity = options.validityPeriod;
    if (validity !== undefined && !(Number.isInteger(validity) && (validity as number) >= 1)) {
      throw new VwrRefusal(400, 'validity_period must be a whole number of seconds >= 1');
    }
    const s = await this.snapshot(id);
    const place = await this.place(id, s, requestId);
    if (place.kind === 'unnumbered') throw NOT_SERVED();
    let answer: TicketStatusDto;
    try {
      answer = await this.reads.status(id, place.ticket);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'TICKET_NOT_FOUND') {
        // Its turn came (the head passed it, or a random draw took it) and its
        // session is over (ended or ran out) — unless the number belongs to
        // another join now (a lost join's id: invariant 11); else it left, or never was.
        if (place.seq <= s.head || s.taken.has(place.seq)) {
          const [kind, n] = place.parts.kind === 's' ? (['s', place.seq] as const) : (['p', place.parts.n] as const);
          if ((await this.repo.storedNonce(id, kind, n)) === place.parts.nonce) throw new VwrRefusal(410, 'Session for this request ID has ended');
        }
        throw INVALID_ID();
      }
      throw err;
    }
    if (answer.status === 'soldOut' || answer.status === 'closed') {
      throw new VwrRefusal(410, answer.status === 'soldOut' ? `Event ${id} is sold out` : `Event ${id} is closed`);
    }
    if (answer.status !== 'admitted' || !answer.accessExpiresAt) throw NOT_SERVED();
    const sessionEndMs = Date.parse(answer.accessExpiresAt);
    const nowMs = redisNow(s);
    if (sessionEndMs <= nowMs) throw new VwrRefusal(410, 'Session for this request ID has ended');
    const iat = Math.floor(entryTimeMs(s.epoch, place.parts.entryMinutes, nowMs) / 1000);
    const sessionEnd = Math.floor(sessionEndMs / 1000);
    const claims: VwrClaims = {
      aud: id,
      sub: requestId as string,
      queue_position: place.seq,
      iss: (options.issuer as string | undefined) ?? this.config.issuer,
      iat,
      nbf: iat,
      exp: validity === undefined ? sessionEnd : Math.min(sessionEnd, iat + (validity as number)),
    };
    const key = `${id}\n${s.epoch}\n${requestId as string}`;
    if (!this.recorded.has(key)) {
      await this.repo.recordToken(id, requestId as string, sessionEndMs);
      if (this.recorded.size >= RESOLVED_CACHE_SIZE) this.recorded.clear();
      this.recorded.add(key);
    }
    return ok(await this.tokens.issue(claims, Math.floor(nowMs / 1000)));
  }

  publicKey(eventId: unknown): VwrAnswer {
    checkEventId(eventId);
    return ok(this.tokens.publicJwk());
  }

  jwks(): VwrAnswer {
    return ok({ keys: [this.tokens.publicJwk()] });
  }

  /** Private increment_serving_counter: admits the next increment_by now (POST .../admissions). */
  async incrementServingCounter(eventId: unknown, incrementBy: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    if (!Number.isInteger(incrementBy) || (incrementBy as number) < 1 || (incrementBy as number) > 100_000) {
      throw new VwrRefusal(400, 'increment_by must be a whole number from 1 to 100000 (queuegate cannot take admissions back)');
    }
    const { admittedThrough } = await this.admitter.admitNow(id, incrementBy as number);
    return ok({ serving_num: admittedThrough });
  }

  /** Private update_session: status 1 (completed) or -1 (abandoned) ends the place's session. */
  async updateSession(eventId: unknown, requestId: unknown, status: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    if (status !== 1 && status !== -1) throw new VwrRefusal(400, 'status must be 1 (completed) or -1 (abandoned)');
    const s = await this.snapshot(id);
    const place = await this.place(id, s, requestId);
    const notFound = new VwrRefusal(404, 'No active session for this request ID');
    if (place.kind === 'unnumbered') throw notFound;
    const ticket = place.ticket;
    const answer = await this.reads.status(id, ticket).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'TICKET_NOT_FOUND') return null;
      throw err;
    });
    if (answer?.status !== 'admitted') throw notFound;
    // Out of the ledger first: a session ended here is never listed as expired.
    await this.repo.forgetToken(id, requestId as string);
    await this.queue.leave(id, ticket).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'TICKET_NOT_FOUND') throw notFound;
      throw err;
    });
    return ok({ message: status === 1 ? 'Session completed' : 'Session abandoned', request_id: requestId, status });
  }

  async numActiveTokens(eventId: unknown): Promise<VwrAnswer> {
    const view = await this.events.get(checkEventId(eventId));
    return ok({ active_tokens: view.active });
  }

  async expiredTokens(eventId: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    await this.snapshot(id);
    return ok(await this.repo.expiredTokens(id));
  }

  async resetInitialState(eventId: unknown): Promise<VwrAnswer> {
    const id = checkEventId(eventId);
    const r = await this.repo.resetQueue(id);
    if (r.kind === 'no-event') throw new VwrRefusal(400, `Invalid event ID`);
    if (r.kind === 'holds-live') throw new VwrRefusal(409, `Event ${id} has ${r.holds} live holds: reset refused`);
    this.recorded.clear();
    return ok({ message: `Event ${id} reset: queue, sessions and counters emptied` });
  }

  private async snapshot(eventId: string): Promise<QueueSnapshot> {
    const s = await this.snapshots.get(eventId);
    if (!s) throw new VwrRefusal(400, 'Invalid event ID');
    return s;
  }

  /**
   * The place a request id names: its arrival number from the id itself, or
   * for a pre-queue id after the shuffle, from one look-up (then remembered).
   */
  private async place(eventId: string, s: QueueSnapshot, raw: unknown): Promise<Place> {
    const parts = typeof raw === 'string' ? verifyRequestId(this.ticketKey, eventId, s.epoch, raw) : null;
    if (!parts) throw INVALID_ID();
    const core = { n: parts.n, nonce: parts.nonce };
    if (parts.kind === 's') return { kind: 'numbered', seq: parts.n, ticket: formatTicket(this.ticketKey, eventId, s.epoch, { kind: 's', ...core }), parts };
    if (!salesStarted(s)) return { kind: 'unnumbered', parts };
    const key = `${eventId}\n${s.epoch}\n${parts.n}\n${parts.nonce}`;
    let seq = this.resolved.get(key);
    if (seq === undefined) {
      const answer = await this.reads.status(eventId, formatTicket(this.ticketKey, eventId, s.epoch, { kind: 'p', ...core })).catch((err: unknown) => {
        if (err instanceof DomainError && err.code === 'TICKET_NOT_FOUND') throw INVALID_ID();
        throw err;
      });
      const replacement = answer.ticket ? verifyTicket(this.ticketKey, eventId, s.epoch, answer.ticket) : null;
      if (!replacement || replacement.kind !== 's') return { kind: 'unnumbered', parts };
      seq = Number(replacement.seq);
      if (this.resolved.size >= RESOLVED_CACHE_SIZE) this.resolved.clear();
      this.resolved.set(key, seq);
    }
    // After the seal the place is its post-shuffle sequence, still bound to the pre-queue number's nonce.
    return { kind: 'numbered', seq, ticket: formatTicket(this.ticketKey, eventId, s.epoch, { kind: 's', n: seq, nonce: parts.nonce, pn: parts.n }), parts };
  }
}

function checkEventId(raw: unknown): string {
  if (typeof raw !== 'string' || !ID_PATTERN.test(raw)) throw new VwrRefusal(400, 'Invalid event ID');
  return raw;
}
