import { Injectable } from '@nestjs/common';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { VerifiedChallenge } from '../join/challenge';

export type JoinResult =
  | { kind: 'joined'; seq: number; position: number; ratePerSecond: number; queue: 'streams' | 'zset'; epoch: number }
  /** The user already waits (position > 0) or is admitted (0): their own place, for their ticket. */
  | { kind: 'existing'; seq: number; position: number; ratePerSecond: number; queue: 'streams' | 'zset'; epoch: number }
  | { kind: 'duplicate'; position: number }
  | { kind: 'challenge-required' }
  | { kind: 'challenge-failed' }
  | { kind: 'closed' }
  | { kind: 'sold-out' }
  | { kind: 'no-event' };

export interface JoinOptions {
  /** answer a user who already has a place with that place ('existing'), not 'duplicate' (JOIN_IDENTITY=jwt) */
  answerExisting: boolean;
  /** a challenge whose MAC and work the service checked; its expiry and first use are the store's to check */
  challenge?: VerifiedChallenge;
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
  /** [seq, leftVersion] of the leaves after the version asked for, oldest first */
  leaves: [number, number][];
}

/** The ticket a queue call is about: its sequence and the event creation it was signed for. */
export interface TicketRef {
  seq: string;
  epoch: number;
}

/** The operations both queue paths offer: Lua scripts, or WATCH/MULTI transactions. */
export interface QueueStore {
  join(eventId: string, userId: string, fingerprint: string, options: JoinOptions): Promise<JoinResult>;
  leave(eventId: string, ticket: TicketRef): Promise<LeaveResult>;
}

export const queueKeys = (k: EventKeys) => [k.meta, k.users, k.stream, k.zqueue, k.zwait, k.active, k.sessions];
export const joinKeys = (k: EventKeys) => [...queueKeys(k), k.powUsed];

/** The join script's ARGV after userId and secret. */
export const joinArgs = (o: JoinOptions): (string | number)[] => [
  o.answerExisting ? '1' : '0',
  o.challenge?.id ?? '',
  o.challenge?.bits ?? 0,
  o.challenge?.expiresAtMs ?? 0,
];

/** The waiting queue through Lua: one EVALSHA per call. */
@Injectable()
export class QueueRepository implements QueueStore {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {}

  async join(eventId: string, userId: string, fingerprint: string, options: JoinOptions): Promise<JoinResult> {
    const r = await this.scripts.run('join', joinKeys(this.keys.event(eventId)), [userId, fingerprint, ...joinArgs(options)]);
    switch (r[0]) {
      case ReplyCode.OK:
      case ReplyCode.REPLAYED:
        return {
          kind: 'joined',
          seq: numberAt('join', r, 1),
          position: numberAt('join', r, 2),
          ratePerSecond: numberAt('join', r, 3),
          queue: stringAt('join', r, 4) as 'streams' | 'zset',
          epoch: numberAt('join', r, 5),
        };
      case ReplyCode.EXISTING:
        return {
          kind: 'existing',
          seq: numberAt('join', r, 1),
          position: numberAt('join', r, 2),
          ratePerSecond: numberAt('join', r, 3),
          queue: stringAt('join', r, 4) as 'streams' | 'zset',
          epoch: numberAt('join', r, 5),
        };
      case ReplyCode.DUPLICATE:
        return { kind: 'duplicate', position: numberAt('join', r, 1) };
      case ReplyCode.CHALLENGE_REQUIRED:
        return { kind: 'challenge-required' };
      case ReplyCode.CHALLENGE_FAILED:
        return { kind: 'challenge-failed' };
      case ReplyCode.CLOSED:
        return { kind: 'closed' };
      case ReplyCode.SOLD_OUT:
        return { kind: 'sold-out' };
      default:
        return { kind: 'no-event' };
    }
  }

  async status(eventId: string, ticket: TicketRef): Promise<TicketState> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('ticketStatus', [k.meta, k.stream, k.zqueue, k.zwait, k.active, k.sessions], [ticket.seq, ticket.epoch]);
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
    const r = await this.scripts.run('leave', [...queueKeys(k), k.left], [ticket.seq, ticket.epoch]);
    switch (r[0]) {
      case ReplyCode.OK:
        return { kind: 'left' };
      case ReplyCode.TICKET_NOT_FOUND:
        return { kind: 'no-ticket' };
      default:
        return { kind: 'no-event' };
    }
  }

  /** The event's queue head and the leaves after `seenLeftVersion` (at most `maxLeaves`); null: no event. */
  async queueHead(eventId: string, seenLeftVersion: number, maxLeaves: number): Promise<QueueHead | null> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('queueHead', [k.meta, k.stream, k.zqueue, k.left], [seenLeftVersion, maxLeaves]);
    if (r[0] !== ReplyCode.OK) return null;
    const n = (i: number) => numberAt('queueHead', r, i);
    const leaves: [number, number][] = [];
    for (let i = 13; i < r.length; i += 2) leaves.push([n(i), n(i + 1)]);
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
      leaves,
    };
  }
}
