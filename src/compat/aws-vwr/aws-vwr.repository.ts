import { Inject, Injectable } from '@nestjs/common';
import { queueKeys } from '../../queue/queue.repository';
import { KeyBuilder } from '../../redis/keys';
import { REDIS_CLIENT, RedisClient } from '../../redis/redis.constants';
import { numberAt, ReplyCode, stringAt } from '../../redis/script-replies';
import { ScriptRegistry } from '../../redis/script-registry';

export type ResetResult = { kind: 'reset' } | { kind: 'holds-live'; holds: number } | { kind: 'no-event' };

/**
 * What the AWS compatibility layer keeps in Redis besides the native queue:
 * the ledger of tokens handed out (for expired_tokens). Its key sits in the
 * event's hash tag, so it goes with the event (a delete removes every key of
 * the event's prefix) and one script can touch it with the queue's keys.
 */
@Injectable()
export class AwsVwrRepository {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {}

  /**
   * The nonce the join of sequence ('s') or pre-queue number ('p') `n` stored
   * (0: none): tells a place whose session is over from a lost join's id
   * whose number another join reuses (lua/includes/nonces.lua). One GETRANGE.
   */
  async storedNonce(eventId: string, kind: 's' | 'p', n: number): Promise<number> {
    const k = this.keys.event(eventId);
    const bytes = await this.redis.getrangeBuffer(kind === 's' ? k.nonces : k.pnonces, 4 * n, 4 * n + 3);
    return bytes.length < 4 ? 0 : bytes.readUInt32BE(0);
  }

  private ledgerKey(eventId: string): string {
    const meta = this.keys.event(eventId).meta;
    return meta.slice(0, -'meta'.length) + 'awsvwr:tokens';
  }

  async recordToken(eventId: string, requestId: string, sessionEndMs: number): Promise<void> {
    await this.scripts.run('tokenLedger', [this.ledgerKey(eventId)], ['record', requestId, sessionEndMs]);
  }

  async forgetToken(eventId: string, requestId: string): Promise<void> {
    await this.scripts.run('tokenLedger', [this.ledgerKey(eventId)], ['forget', requestId]);
  }

  /** Request ids whose session ran out while in the ledger, most recent first. */
  async expiredTokens(eventId: string): Promise<string[]> {
    const r = await this.scripts.run('tokenLedger', [this.ledgerKey(eventId)], ['expired']);
    return Array.from({ length: r.length - 1 }, (_, i) => stringAt('tokenLedger', r, i + 1));
  }

  async resetQueue(eventId: string): Promise<ResetResult> {
    const k = this.keys.event(eventId);
    const r = await this.scripts.run('resetQueue', [...queueKeys(k), k.holds, this.ledgerKey(eventId)]);
    if (r[0] === ReplyCode.OK) return { kind: 'reset' };
    if (r[0] === ReplyCode.EVENT_ACTIVE) return { kind: 'holds-live', holds: numberAt('resetQueue', r, 1) };
    return { kind: 'no-event' };
  }
}
