import { Inject, Injectable } from '@nestjs/common';
import { AdmissionMode, QueueMethod } from '../event/event-status';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { VerifiedChallenge } from '../join/challenge';

/** A place's sequence and the nonce stored for it; pn: a sealed pre-queue entry's number (its nonce is that number's). */
interface Place {
  seq: number;
  position: number | null;
  ratePerSecond: number;
  queue: 'streams' | 'zset';
  epoch: number;
  nonce: number;
  pn?: number;
}

/** position null: none to tell (queueMethod random) */
export type JoinResult =
  | ({ kind: 'joined' } & Place)
  /** The user already waits (position > 0, null: none) or is admitted (0): their own place, for their ticket. */
  | ({ kind: 'existing' } & Place)
  /** in the pre-queue; existing: the person's place handed back (JOIN_IDENTITY=jwt) */
  | { kind: 'prequeue'; pn: number; epoch: number; salesStartAt: number; existing: boolean; nonce: number }
  | { kind: 'admitted'; seq: number; sessionEndMs: number; queue: 'streams' | 'zset'; epoch: number; nonce: number }
  | { kind: 'duplicate'; position: number | null }
  | { kind: 'challenge-required' }
  | { kind: 'challenge-failed' }
  | { kind: 'need-sort-key' }
  | { kind: 'not-open'; queueOpensAt: number }
  | { kind: 'sold-out' }
  | { kind: 'closed' }
  | { kind: 'no-event' }
  /** the WATCH/MULTI path does not cover this event (pre-queue, passthrough): run the script */
  | { kind: 'use-scripts' };

/** Sort keys for pre-queue joins: computed by the service from the event's seed. */
export interface SortKeyArgs {
  sortKey: string;
  /** createdAt of the event whose seed made sortKey */
  epoch: number | '';
}

/** A pre-queue ticket's state (lua/queue/prequeueTicket). */
export type PrequeueState =
  | { kind: 'prequeue'; salesStartAt: number }
  | { kind: 'seq'; seq: number }
  | { kind: 'admitted'; seq: number }
  | { kind: 'left' }
  | { kind: 'no-ticket' }
  | { kind: 'no-event' };

export interface JoinOptions {
  /** answer a user who already has a place with that place ('existing'), not 'duplicate' (JOIN_IDENTITY=jwt) */
  answerExisting: boolean;
  /** a challenge whose MAC and work the service checked; its expiry and first use are the store's to check */
  challenge?: VerifiedChallenge;
  /** this join's nonce (ticket.ts newNonce): stored with a new place, signed into its ticket */
  nonce: number;
}

export type TicketState =
  | { kind: 'waiting'; position: number; ratePerSecond: number }
  | { kind: 'admitted'; userId: string; sessionEndMs: number }
  | { kind: 'no-ticket' }
  | { kind: 'no-event' };

export type LeaveResult = { kind: 'left' } | { kind: 'no-ticket' } | { kind: 'no-event' };

/** What a replica's snapshot of an event is built from (lua/queue/queueHead). */
export interface QueueHead {
  queue: 'streams' | 'zset';
  epoch: number;
  head: number;
  seq: number;
  waiting: number;
  available: number;
  held: number;
  paused: boolean;
  ratePerSecond: number;
  /** null before the first admission */
  observedRate: number | null;
  leftVersion: number;
  nowMs: number;
  queueMethod: QueueMethod;
  queueOpensAt: number;
  salesStartAt: number;
  endsAt: number;
  /** the pre-queue's reserved sequences pqBase+1 .. pqEnd once sealed at salesStartAt; null before */
  prequeue: { base: number; end: number } | null;
  admissionMode: AdmissionMode;
  /** [member, leftVersion] of the leaves after the version asked for, oldest first: '<seq>', 'a<seq>' or 'p<pn>' */
  leaves: [string, number][];
  /** join nonces by sequence from nonces.from on (4 bytes each), and the 4 bytes at the check point asked for */
  nonces: NonceRead;
  /** the same by pre-queue number */
  pnonces: NonceRead;
}

/** A piece of a nonce string (lua/includes/nonces.lua) as queueHead returns it. */
export interface NonceRead {
  from: number;
  check: Buffer;
  bytes: Buffer;
}

/** Where a replica reads the nonce strings from (queueHead-7.lua ARGV[3..7]). */
export interface NonceCursor {
  /** a sequence whose nonce was read, to see Redis lost it (0: none) */
  check: number;
  /** first sequence wanted (0: from the head) */
  from: number;
  pcheck: number;
  /** first pre-queue number wanted (>= 1) */
  pfrom: number;
  max: number;
}

/** The ticket a queue call is about: its sequence, the join's nonce and the event creation it was signed for. */
export interface TicketRef {
  seq: string;
  epoch: number;
  nonce: number;
}

/** The operations both queue paths offer: Lua scripts, or WATCH/MULTI transactions. */
export interface QueueStore {
  join(eventId: string, userId: string, fingerprint: string, sortKey: SortKeyArgs, tickMs: number, options: JoinOptions): Promise<JoinResult>;
  leave(eventId: string, ticket: TicketRef): Promise<LeaveResult>;
}

/** The keys of leave-9.lua. */
export const leaveKeys = (k: EventKeys) => [k.meta, k.users, k.stream, k.zqueue, k.zwait, k.active, k.sessions, k.left, k.nonces];
/** The keys of admit-12.lua. */
export const queueKeys = (k: EventKeys) => [
  k.meta, k.users, k.stream, k.zqueue, k.zwait, k.active, k.sessions, k.left, k.prequeue, k.pqrecs, k.nonces, k.pnonces,
];
/** The keys of join-14.lua. */
export const joinKeys = (k: EventKeys) => [...queueKeys(k), k.powUsed, k.leftmarks];
/** The keys of ticketStatus-7.lua. */
export const statusKeys = (k: EventKeys) => [k.meta, k.stream, k.zqueue, k.zwait, k.active, k.sessions, k.nonces];
/** The keys of prequeueTicket-6.lua. */
export const prequeueTicketKeys = (k: EventKeys) => [k.meta, k.users, k.left, k.prequeue, k.pqrecs, k.pnonces];
/** The keys of queueHead-7.lua. */
export const headKeys = (k: EventKeys) => [k.meta, k.stream, k.zqueue, k.left, k.nonces, k.pnonces, k.leftmarks];

/** The join script's ARGV after userId, fingerprint, sort key, its epoch and tickMs. */
export const joinArgs = (o: JoinOptions): (string | number)[] => [
  o.answerExisting ? '1' : '0',
  o.challenge?.id ?? '',
  o.challenge?.bits ?? 0,
  o.challenge?.expiresAtMs ?? 0,
  o.nonce,
  o.challenge?.epoch ?? 0,
];

/** The waiting queue through Lua: one EVALSHA per call. */
@Injectable()
export class QueueRepository implements QueueStore {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {}

  async join(eventId: string, userId: string, fingerprint: string, sortKey: SortKeyArgs, tickMs: number, options: JoinOptions): Promise<JoinResult> {
    const r = await this.scripts.run('join', joinKeys(this.keys.event(eventId)), [
      userId,
      fingerprint,
      sortKey.sortKey,
      sortKey.epoch,
      tickMs,
      ...joinArgs(options),
    ]);
    const position = (i: number) => {
      const p = numberAt('join', r, i);
      return p < 0 ? null : p;
    };
    const place = () => {
      const pn = numberAt('join', r, 7);
      return {
        seq: numberAt('join', r, 1),
        position: position(2),
        ratePerSecond: numberAt('join', r, 3),
        queue: stringAt('join', r, 4) as 'streams' | 'zset',
        epoch: numberAt('join', r, 5),
        nonce: numberAt('join', r, 6),
        ...(pn > 0 ? { pn } : {}),
      };
    };
    switch (r[0]) {
      case ReplyCode.PREQUEUE:
        return {
          kind: 'prequeue',
          pn: numberAt('join', r, 1),
          epoch: numberAt('join', r, 2),
          salesStartAt: numberAt('join', r, 3),
          existing: numberAt('join', r, 4) === 1,
          nonce: numberAt('join', r, 5),
        };
      case ReplyCode.ADMITTED:
        return {
          kind: 'admitted',
          seq: numberAt('join', r, 1),
          sessionEndMs: numberAt('join', r, 2),
          queue: stringAt('join', r, 3) as 'streams' | 'zset',
          epoch: numberAt('join', r, 4),
          nonce: numberAt('join', r, 5),
        };
      case ReplyCode.NEED_SORT_KEY:
        return { kind: 'need-sort-key' };
      case ReplyCode.QUEUE_NOT_OPEN:
        return { kind: 'not-open', queueOpensAt: numberAt('join', r, 1) };
      case ReplyCode.CLOSED:
        return { kind: 'closed' };
      case ReplyCode.OK:
      case ReplyCode.REPLAYED:
        return { kind: 'joined', ...place() };
      case ReplyCode.EXISTING:
        return { kind: 'existing', ...place() };
      case ReplyCode.DUPLICATE:
        return { kind: 'duplicate', position: position(1) };
      case ReplyCode.CHALLENGE_REQUIRED:
        return { kind: 'challenge-required' };
      case ReplyCode.CHALLENGE_FAILED:
        return { kind: 'challenge-failed' };
      case ReplyCode.SOLD_OUT:
        return { kind: 'sold-out' };
      default:
        return { kind: 'no-event' };
    }
  }

  async status(eventId: string, ticket: TicketRef): Promise<TicketState> {
    const r = await this.scripts.run('ticketStatus', statusKeys(this.keys.event(eventId)), [ticket.seq, ticket.epoch, ticket.nonce]);
    switch (r[0]) {
      case ReplyCode.WAITING:
        return { kind: 'waiting', position: numberAt('ticketStatus', r, 1), ratePerSecond: numberAt('ticketStatus', r, 2) };
      case ReplyCode.ADMITTED:
        return { kind: 'admitted', userId: stringAt('ticketStatus', r, 1), sessionEndMs: numberAt('ticketStatus', r, 2) };
      case ReplyCode.TICKET_NOT_FOUND:
        return { kind: 'no-ticket' };
      default:
        return { kind: 'no-event' };
    }
  }

  async leave(eventId: string, ticket: TicketRef): Promise<LeaveResult> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('leave', leaveKeys(k), [ticket.seq, ticket.epoch, ticket.nonce]);
    switch (r[0]) {
      case ReplyCode.OK:
        return { kind: 'left' };
      case ReplyCode.TICKET_NOT_FOUND:
        return { kind: 'no-ticket' };
      default:
        return { kind: 'no-event' };
    }
  }

  /**
   * Status or leave of a pre-queue ticket (a 'p' ticket or its post-seal 's'
   * replacement, both by pre-queue number and nonce): its post-shuffle
   * sequence, the salesStartAt it waits for, or the leave done.
   */
  async prequeueTicket(eventId: string, op: 'status' | 'leave', pn: string, epoch: number, nonce: number): Promise<PrequeueState> {
    const r = await this.scripts.run('prequeueTicket', prequeueTicketKeys(this.keys.event(eventId)), [op, pn, epoch, nonce]);
    switch (r[0]) {
      case ReplyCode.PREQUEUE:
        return { kind: 'prequeue', salesStartAt: numberAt('prequeueTicket', r, 1) };
      case ReplyCode.WAITING:
        return { kind: 'seq', seq: numberAt('prequeueTicket', r, 1) };
      case ReplyCode.ADMITTED:
        return { kind: 'admitted', seq: numberAt('prequeueTicket', r, 1) };
      case ReplyCode.OK:
        return { kind: 'left' };
      case ReplyCode.TICKET_NOT_FOUND:
        return { kind: 'no-ticket' };
      default:
        return { kind: 'no-event' };
    }
  }

  /** The pre-queue shuffle's seed (hex) and the event's createdAt; null: no event. Only the service reads it (sort keys). */
  async seed(eventId: string): Promise<{ seed: string; epoch: number } | null> {
    const [seed, createdAt] = await this.redis.hmget(this.keys.event(eventId).meta, 'seed', 'createdAt');
    if (createdAt === null) return null;
    return { seed: seed ?? '', epoch: Number(createdAt) };
  }

  /**
   * The event's queue head, the leaves after `seenLeftVersion` (at most
   * `maxLeaves`) and the join nonces from `cursor`; null: no event.
   */
  async queueHead(eventId: string, seenLeftVersion: number, maxLeaves: number, cursor: NonceCursor): Promise<QueueHead | null> {
    const raw = await this.scripts.runBuffers('queueHead', headKeys(this.keys.event(eventId)), [
      seenLeftVersion, maxLeaves, cursor.check, cursor.from, cursor.pcheck, cursor.pfrom, cursor.max,
    ]);
    if (raw[0] !== ReplyCode.OK) return null;
    // Every bulk string is a Buffer: the nonce bytes stay so, the rest is text.
    const bytes = (i: number) => (Buffer.isBuffer(raw[i]) ? (raw[i] as Buffer) : Buffer.alloc(0));
    const r = raw.map((v) => (Buffer.isBuffer(v) ? v.toString() : v));
    const n = (i: number) => numberAt('queueHead', r, i);
    const leaves: [string, number][] = [];
    for (let i = 27; i < r.length; i += 2) leaves.push([String(r[i]), n(i + 1)]);
    const sealed = n(17) === 1;
    const observed = stringAt('queueHead', r, 10);
    return {
      queue: stringAt('queueHead', r, 1) as 'streams' | 'zset',
      epoch: n(2),
      head: n(3),
      seq: n(4),
      waiting: n(5),
      available: n(6),
      held: n(7),
      paused: n(8) === 1,
      ratePerSecond: n(9),
      observedRate: observed === '' ? null : Number(observed),
      leftVersion: n(11),
      nowMs: n(12),
      queueMethod: stringAt('queueHead', r, 13) as QueueMethod,
      queueOpensAt: n(14),
      salesStartAt: n(15),
      endsAt: n(16),
      prequeue: sealed ? { base: n(18), end: n(18) + n(19) } : null,
      admissionMode: String(r[20]) === 'manual' ? 'manual' : 'auto',
      leaves,
      nonces: { from: n(21), check: bytes(22), bytes: bytes(23) },
      pnonces: { from: n(24), check: bytes(25), bytes: bytes(26) },
    };
  }
}
