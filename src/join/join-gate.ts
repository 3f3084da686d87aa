import { Injectable } from '@nestjs/common';
import { checkJoinIdempotencyKey } from '../common/idempotency-key';
import { VerifiedChallenge } from './challenge';
import { JoinChallenges } from './join-challenges';
import { JoinIdentity } from './join-identity';
import { JoinRateLimiter } from './join-rate';

/** The parts of a join body the gate reads (the queue's JoinQueueBody has them). */
export interface JoinClaim {
  userId?: string;
  challenge?: string;
  nonce?: string;
}

/** What a join request says besides its body. */
export interface JoinRequest {
  idempotencyKey?: string;
  /** the Authorization header: the identity token with JOIN_IDENTITY=jwt */
  authorization?: string;
  /** the socket peer and X-Forwarded-For, for JOIN_RATE_PER_MINUTE */
  peer?: string;
  forwardedFor?: string | string[];
}

/** What the gate lets through: who joins, and what the join script still checks against the event. */
export interface JoinPermit {
  userId: string;
  /** the checked Idempotency-Key header, if sent */
  idempotencyKey: string | undefined;
  /** JOIN_IDENTITY=jwt: a repeated join is answered with the place the person has (200), not DUPLICATE */
  answerExisting: boolean;
  /** the body's challenge, its MAC and work checked; its expiry and first use are the join script's to check */
  challenge: VerifiedChallenge | undefined;
}

/**
 * Every check a join passes before the queue is touched, in this order:
 * who joins (400 VALIDATION / 401 UNAUTHORIZED), the Idempotency-Key's form
 * (400), the join rate of the client address (429 RATE_LIMITED, its own
 * round trip, only when JOIN_RATE_PER_MINUTE is set), the challenge's MAC
 * and work (403 CHALLENGE_FAILED, no Redis). Whether the event asks for a
 * challenge at all is the join script's to say (it reads the event).
 */
@Injectable()
export class JoinGate {
  constructor(
    private readonly identity: JoinIdentity,
    private readonly rate: JoinRateLimiter,
    private readonly challenges: JoinChallenges,
  ) {}

  /**
   * The permit of a join to `eventId`, or the refusal thrown. A promise only
   * when the rate limit asks Redis: with the limit off the permit comes back
   * at once, so the join path awaits nothing more than the join script.
   */
  admit(eventId: string, body: JoinClaim, request: JoinRequest): JoinPermit | Promise<JoinPermit> {
    const userId = this.identity.userFor(body.userId, request.authorization);
    const idempotencyKey = checkJoinIdempotencyKey(request.idempotencyKey);
    const counted = this.rate.take(request.peer, request.forwardedFor);
    if (counted === undefined) return this.permit(eventId, body, userId, idempotencyKey);
    return counted.then(() => this.permit(eventId, body, userId, idempotencyKey));
  }

  private permit(eventId: string, body: JoinClaim, userId: string, idempotencyKey: string | undefined): JoinPermit {
    return {
      userId,
      idempotencyKey,
      answerExisting: this.identity.mode === 'jwt',
      challenge: body.challenge === undefined ? undefined : this.challenges.verify(eventId, body.challenge, body.nonce ?? ''),
    };
  }
}
