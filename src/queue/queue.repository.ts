import { Injectable } from '@nestjs/common';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode, stringAt } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { VerifiedChallenge } from '../join/challenge';
import { Ticket } from './ticket';

export type JoinResult =
  | { kind: 'joined'; seq: number; position: number; ratePerSecond: number; queue: 'streams' | 'zset' }
  /** The user already waits (position > 0) or is admitted (0): their own ticket's parts. */
  | { kind: 'existing'; seq: number; secret: string; position: number; ratePerSecond: number; queue: 'streams' | 'zset' }
  | { kind: 'duplicate'; position: number }
  | { kind: 'challenge-required' }
  | { kind: 'challenge-failed' }
  | { kind: 'closed' }
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

/** The operations both queue paths offer: Lua scripts, or WATCH/MULTI transactions. */
export interface QueueStore {
  join(eventId: string, userId: string, secret: string, options: JoinOptions): Promise<JoinResult>;
  leave(eventId: string, ticket: Ticket): Promise<LeaveResult>;
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

  async join(eventId: string, userId: string, secret: string, options: JoinOptions): Promise<JoinResult> {
    const r = await this.scripts.run('join', joinKeys(this.keys.event(eventId)), [userId, secret, ...joinArgs(options)]);
    switch (r[0]) {
      case ReplyCode.OK:
      case ReplyCode.REPLAYED:
        return {
          kind: 'joined',
          seq: numberAt('join', r, 1),
          position: numberAt('join', r, 2),
          ratePerSecond: numberAt('join', r, 3),
          queue: stringAt('join', r, 4) as 'streams' | 'zset',
        };
      case ReplyCode.EXISTING:
        return {
          kind: 'existing',
          seq: numberAt('join', r, 1),
          position: numberAt('join', r, 2),
          ratePerSecond: numberAt('join', r, 3),
          queue: stringAt('join', r, 4) as 'streams' | 'zset',
          secret: stringAt('join', r, 5),
        };
      case ReplyCode.DUPLICATE:
        return { kind: 'duplicate', position: numberAt('join', r, 1) };
      case ReplyCode.CHALLENGE_REQUIRED:
        return { kind: 'challenge-required' };
      case ReplyCode.CHALLENGE_FAILED:
        return { kind: 'challenge-failed' };
      case ReplyCode.CLOSED:
        return { kind: 'closed' };
      default:
        return { kind: 'no-event' };
    }
  }

  async status(eventId: string, ticket: Ticket): Promise<TicketState> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('ticketStatus', [k.meta, k.stream, k.zqueue, k.zwait, k.active, k.sessions], [ticket.seq, ticket.secret]);
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

  async leave(eventId: string, ticket: Ticket): Promise<LeaveResult> {
    const r = await this.scripts.run('leave', queueKeys(this.keys.event(eventId)), [ticket.seq, ticket.secret]);
    switch (r[0]) {
      case ReplyCode.OK:
        return { kind: 'left' };
      case ReplyCode.TICKET_NOT_FOUND:
        return { kind: 'no-ticket' };
      default:
        return { kind: 'no-event' };
    }
  }
}
