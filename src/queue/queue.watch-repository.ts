import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisUnavailableError } from '../common/redis-errors';
import { redisConfig } from '../config/configuration';
import { eventStatus, QueueMethod } from '../event/event-status';
import { EventKeys, KeyBuilder } from '../redis/keys';
import { TransactionPool } from '../redis/transaction-pool';
import { JoinOptions, JoinResult, LeaveResult, QueueStore, SortKeyArgs, TicketRef } from './queue.repository';
import { nonceBytes } from './ticket';

/** leaves kept in `left` (as LEFT_KEEP in leave-9.lua) */
const LEFT_KEEP = 100_000;

/**
 * The waiting queue through optimistic WATCH/MULTI transactions: the rollback
 * path when the `luaAtomic` flag is off. Same keys and same effects as
 * lua/queue/join and leave-9; every join changes meta.seq and every admission
 * changes meta.head, so watching the event hash (and the users hash) makes any
 * interleaving abort and retry. Several round trips per call: slower, still
 * race-free. It refuses joins by the event's status as join-13.lua does, and
 * covers fifo and random events without a pre-queue; a pre-queue join, or a
 * join that passthrough might admit at once, answers 'use-scripts' (the
 * service runs join-13.lua for it), so the seal and the token bucket stay in
 * one place.
 *
 * Bounded like one Redis command (CONTRACT §2): a call has
 * REDIS_COMMAND_TIMEOUT_MS for leasing a connection, its attempts and their
 * back-offs together; past that it fails with RedisUnavailableError (503 with
 * Retry-After), whether Redis is frozen or the race keeps being lost, and an
 * attempt that is still running then does not send its EXEC.
 */
@Injectable()
export class QueueWatchRepository implements QueueStore {
  constructor(
    private readonly keys: KeyBuilder,
    private readonly pool: TransactionPool,
    @Inject(redisConfig.KEY) private readonly config: ConfigType<typeof redisConfig>,
  ) {}

  join(eventId: string, userId: string, fingerprint: string, _sortKey: SortKeyArgs, _tickMs: number, options: JoinOptions): Promise<JoinResult> {
    const k = this.keys.event(eventId);
    return this.retry((redis, deadline) => this.tryJoin(redis, k, userId, fingerprint, options, deadline));
  }

  leave(eventId: string, ticket: TicketRef): Promise<LeaveResult> {
    const k = this.keys.event(eventId);
    return this.retry((redis, deadline) => this.tryLeave(redis, k, ticket, deadline));
  }

  /** One attempt; null when a watched key changed and the transaction must run again. */
  private async tryJoin(
    redis: Redis,
    k: EventKeys,
    userId: string,
    fingerprint: string,
    options: JoinOptions,
    deadline: number,
  ): Promise<JoinResult | null> {
    await redis.watch(k.meta, k.users, k.powUsed);
    const [queue, head, rate, observed, createdAt, available, held, seq, lastScore, paused, method, opensAt, startAt, endsAt, powBits] =
      await redis.hmget(
        k.meta,
        'queue',
        'head',
        'ratePerSecond',
        'observedRate',
        'createdAt',
        'available',
        'held',
        'seq',
        'lastScore',
        'paused',
        'queueMethod',
        'queueOpensAt',
        'salesStartAt',
        'endsAt',
        'powBits',
      );
    if (!queue) return { kind: 'no-event' };
    const etaRate = Number(observed ?? rate);
    const epoch = Number(createdAt);
    const now = await nowMs(redis);
    const queueMethod = (method ?? 'fifo') as QueueMethod;
    if (Number(startAt ?? 0) > 0 || queueMethod === 'passthrough') return { kind: 'use-scripts' };
    // Same rule as lua/includes/eventStatus.lua.
    const status = eventStatus({
      available: Number(available),
      held: Number(held),
      paused: paused === '1',
      nowMs: now,
      queueMethod,
      queueOpensAt: Number(opensAt ?? 0),
      salesStartAt: 0,
      endsAt: Number(endsAt ?? 0),
    });
    if (status === 'scheduled') return { kind: 'not-open', queueOpensAt: Number(opensAt) };
    const random = queueMethod === 'random';
    const existing = await redis.hget(k.users, userId);
    const tx = redis.multi();
    if (existing) {
      const nonce = await storedNonce(redis, k, existing);
      const place = { seq: Number(existing), ratePerSecond: etaRate, queue: queue as 'streams' | 'zset', epoch, nonce };
      // Same rules as join-13.lua: the same key replays, answerExisting hands the place back, else DUPLICATE.
      const answer = (stored: string | undefined, position: number | null): JoinResult =>
        fingerprint !== '' && stored === fingerprint
          ? { kind: 'joined', position, ...place }
          : options.answerExisting
            ? { kind: 'existing', position, ...place }
            : { kind: 'duplicate', position };
      const position = await waitingPosition(redis, k, queue, existing, Number(head));
      const stored = await waitingFingerprint(redis, k, queue, existing);
      // A random draw takes entries from the middle: the entry must still be there.
      if (position !== null && stored !== undefined) return answer(stored, random ? null : position);
      const sessionEnd = await redis.zscore(k.active, existing);
      if (sessionEnd !== null && Number(sessionEnd) > now) {
        const session = await redis.hget(k.sessions, existing);
        return answer(session === null ? undefined : splitRecord(session)[0], 0);
      }
      tx.zrem(k.active, existing).hdel(k.sessions, existing);
    }
    if (status === 'soldOut') return { kind: 'sold-out' };
    if (status === 'closed') return { kind: 'closed' };
    const bits = Number(powBits ?? 0);
    if (bits > 0) {
      const c = options.challenge;
      if (!c) return { kind: 'challenge-required' };
      if (c.bits < bits || c.expiresAtMs <= now || c.epoch !== epoch || (await redis.zscore(k.powUsed, c.id)) !== null) {
        return { kind: 'challenge-failed' };
      }
      // At most 100 expired ids per join, as join-13.lua (the set is ordered by expiry).
      const expired = await redis.zcount(k.powUsed, '-inf', now);
      if (expired > 0) tx.zremrangebyrank(k.powUsed, 0, Math.min(expired, 100) - 1);
      tx.zadd(k.powUsed, c.expiresAtMs, c.id);
    }
    const next = Number(seq) + 1;
    let position: number;
    tx.hset(k.meta, 'seq', next);
    if (queue === 'streams') {
      if (fingerprint === '') tx.xadd(k.stream, `${next}-0`, 'u', userId);
      else tx.xadd(k.stream, `${next}-0`, 'u', userId, 'k', fingerprint);
      position = next - Number(head);
    } else {
      const score = Math.max(now * 1024, Number(lastScore) + 1);
      tx.hset(k.meta, 'lastScore', score).zadd(k.zqueue, score, String(next)).hset(k.zwait, String(next), `${fingerprint}|${userId}`);
      position = (await redis.zcard(k.zqueue)) + 1;
    }
    tx.hset(k.users, userId, next).setrange(k.nonces, 4 * next, nonceBytes(options.nonce));
    const committed = await execBefore(tx, deadline);
    if (committed === null) return null;
    const place = { seq: next, position: random ? null : position, ratePerSecond: etaRate, queue: queue as 'streams' | 'zset', epoch };
    return { kind: 'joined', ...place, nonce: options.nonce };
  }


  private async tryLeave(redis: Redis, k: EventKeys, ticket: TicketRef, deadline: number): Promise<LeaveResult | null> {
    await redis.watch(k.meta, k.users, k.sessions, k.zwait);
    const [queue, head, createdAt] = await redis.hmget(k.meta, 'queue', 'head', 'createdAt');
    if (!queue) return { kind: 'no-event' };
    if (createdAt !== String(ticket.epoch) || (await storedNonce(redis, k, ticket.seq)) !== ticket.nonce) return { kind: 'no-ticket' };
    const now = await nowMs(redis);
    const tx = redis.multi();
    let userId: string | undefined;
    const session = await redis.hget(k.sessions, ticket.seq);
    if (session !== null) {
      const owner = splitRecord(session)[1];
      const end = await redis.zscore(k.active, ticket.seq);
      if (end === null || Number(end) <= now) return { kind: 'no-ticket' };
      tx.zrem(k.active, ticket.seq).hdel(k.sessions, ticket.seq);
      userId = owner;
    } else if (queue === 'streams') {
      const [entry] = await redis.xrange(k.stream, `${ticket.seq}-0`, `${ticket.seq}-0`);
      // entry = [id, ['u', userId [, 'k', fingerprint]]]
      if (!entry || Number(ticket.seq) <= Number(head)) return { kind: 'no-ticket' };
      // The same announcement as leave-9.lua: replicas' snapshots learn of it.
      const version = Number((await redis.hget(k.meta, 'leftVersion')) ?? 0) + 1;
      tx.xdel(k.stream, `${ticket.seq}-0`).hset(k.meta, 'leftVersion', version).zadd(k.left, version, ticket.seq);
      if (version > LEFT_KEEP) tx.zremrangebyscore(k.left, '-inf', version - LEFT_KEEP);
      userId = entry[1][1];
    } else {
      const record = await redis.hget(k.zwait, ticket.seq);
      if (record === null) return { kind: 'no-ticket' };
      tx.zrem(k.zqueue, ticket.seq).hdel(k.zwait, ticket.seq);
      userId = splitRecord(record)[1];
    }
    if ((await redis.hget(k.users, userId)) === ticket.seq) tx.hdel(k.users, userId);
    return (await execBefore(tx, deadline)) === null ? null : { kind: 'left' };
  }

  private async retry<T>(attempt: (redis: Redis, deadline: number) => Promise<T | null>): Promise<T> {
    const deadline = performance.now() + this.config.commandTimeoutMs;
    for (let i = 1; ; i += 1) {
      const result = await this.pool.run((redis) => attempt(redis, deadline), deadline);
      if (result !== null) return result;
      // Back off a little, at random, so contending transactions spread out.
      const pause = Math.random() * Math.min(2 ** i, 20);
      if (performance.now() + pause >= deadline) {
        throw new RedisUnavailableError(`the transaction lost its race ${i} times before its deadline`);
      }
      await sleep(pause);
    }
  }
}

/** Sends the transaction unless its deadline has passed (the caller has answered 503 by then). */
function execBefore(tx: ReturnType<Redis['multi']>, deadline: number) {
  if (performance.now() >= deadline) {
    throw new RedisUnavailableError('the deadline passed before EXEC');
  }
  return tx.exec();
}

async function nowMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

async function waitingPosition(redis: Redis, k: EventKeys, queue: string, seq: string, head: number): Promise<number | null> {
  if (queue === 'streams') return Number(seq) > head ? Number(seq) - head : null;
  const rank = await redis.zrank(k.zqueue, seq);
  return rank === null ? null : rank + 1;
}

/** The key fingerprint stored with a waiting entry (same rule as waitingFingerprint in join-13.lua). */
async function waitingFingerprint(redis: Redis, k: EventKeys, queue: string, seq: string): Promise<string | undefined> {
  if (queue === 'streams') {
    const [entry] = await redis.xrange(k.stream, `${seq}-0`, `${seq}-0`);
    return entry ? (entry[1][3] ?? '') : undefined;
  }
  const record = await redis.hget(k.zwait, seq);
  return record === null ? undefined : splitRecord(record)[0];
}

/** The join nonce stored for a sequence (lua/includes/nonces.lua), 0 when none. */
async function storedNonce(redis: Redis, k: EventKeys, seq: string): Promise<number> {
  const bytes = await redis.getrangeBuffer(k.nonces, 4 * Number(seq), 4 * Number(seq) + 3);
  return bytes.length < 4 ? 0 : bytes.readUInt32BE(0);
}

function splitRecord(record: string): [string, string] {
  const bar = record.indexOf('|');
  return [record.slice(0, bar), record.slice(bar + 1)];
}
