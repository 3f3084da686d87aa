import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { redisConfig } from '../config/configuration';

/**
 * The one place that names Redis keys. Every key of an event carries the hash
 * tag {eventId}, so all of them live in one cluster slot and a script may
 * touch any of them (CONTRACT §5). Ids are validated before they get here, so
 * no ':', '{', '}' or space can reach a key.
 */
export interface EventKeys {
  meta: string;
  seats: string;
  avail: string;
  seatIndex: string;
  /** layout rows: info and free flags per row (lua/includes/layout.lua) */
  rows: string;
  /** run index: rows by longest run of free seats, per price level */
  runs: string;
  /** claim held while an event is created in chunks */
  creating: string;
  users: string;
  stream: string;
  zqueue: string;
  zwait: string;
  active: string;
  sessions: string;
  /** recent leaves of the Streams queue, seq -> leftVersion, read by replica snapshots */
  left: string;
  /** pre-queue (fair start): sorted set '<sortKey>:<pn>', score 0, in the committed shuffle's order */
  prequeue: string;
  /** pre-queue records: hash pn -> '<sortKey>|<fingerprint>|<userId>', or '=<seq>' once admitted */
  pqrecs: string;
  holds: string;
  userSeats: string;
  orders: string;
  /** short-lived marker written before a WAIT for an answer replayed from Redis (ReplicaWait) */
  sync: string;
  /** prefix of per-hold hashes: holdPrefix + holdId */
  holdPrefix: string;
  /** prefix of idempotency records: idemPrefix + scope:userId:key */
  idemPrefix: string;
  /** sorted set of used join challenges: challengeId -> expiry (ms) */
  powUsed: string;
  /** string: each arrival sequence's join nonce, 4 bytes at offset 4·seq (lua/includes/nonces.lua) */
  nonces: string;
  /** string: each pre-queue number's join nonce, 4 bytes at offset 4·pn */
  pnonces: string;
}

@Injectable()
export class KeyBuilder {
  constructor(@Inject(redisConfig.KEY) private readonly config: ConfigType<typeof redisConfig>) {}

  get prefix(): string {
    return this.config.keyPrefix;
  }

  event(eventId: string): EventKeys {
    const base = `${this.config.keyPrefix}{${eventId}}:`;
    return {
      meta: base + 'meta',
      seats: base + 'seats',
      avail: base + 'avail',
      seatIndex: base + 'seatidx',
      rows: base + 'rows',
      runs: base + 'runs',
      creating: base + 'creating',
      users: base + 'users',
      stream: base + 'stream',
      zqueue: base + 'zqueue',
      zwait: base + 'zwait',
      active: base + 'active',
      sessions: base + 'sessions',
      left: base + 'left',
      prequeue: base + 'prequeue',
      pqrecs: base + 'pqrecs',
      holds: base + 'holds',
      userSeats: base + 'userseats',
      orders: base + 'orders',
      sync: base + 'sync',
      holdPrefix: base + 'hold:',
      idemPrefix: base + 'idem:',
      powUsed: base + 'powused',
      nonces: base + 'nonces',
      pnonces: base + 'pnonces',
    };
  }

  hold(eventId: string, holdId: string): string {
    return this.event(eventId).holdPrefix + holdId;
  }

  /**
   * An Idempotency-Key's record, scoped to what it may replay: 'hold' (any hold
   * by this user) or 'confirm:<holdId>' (so a key reused for another hold's
   * confirm buys that hold instead of replaying the first order).
   */
  idempotency(eventId: string, scope: 'hold' | `confirm:${string}`, userId: string, key: string): string {
    return `${this.event(eventId).idemPrefix}${scope}:${userId}:${key}`;
  }

  /**
   * Sorted set of every event id, score = the event's revision (its own
   * slot): read by every replica once a second to know which events exist
   * (src/event/event-registry.ts).
   */
  get eventRegistry(): string {
    return `${this.config.keyPrefix}registry`;
  }

  /** The set the registry was before revisions (read to move its ids over during an upgrade). */
  get legacyEventRegistry(): string {
    return `${this.config.keyPrefix}events`;
  }

  /**
   * A client address's join counter (JOIN_RATE_PER_MINUTE), shared by all
   * replicas; a key of its own, in whatever slot it hashes to. The address is
   * hashed: IPv6 addresses hold ':', and no client text reaches a key.
   */
  joinRate(address: string): string {
    return `${this.config.keyPrefix}rl:${createHash('sha256').update(address).digest('base64url').slice(0, 22)}`;
  }

  /** Hash of feature-flag overrides shared by all replicas. */
  get flagOverrides(): string {
    return `${this.config.keyPrefix}flags`;
  }
}
