import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DomainError, eventNotFound } from '../common/domain-error';
import { authConfig } from '../config/configuration';
import { KeyBuilder } from '../redis/keys';
import { numberAt, ReplyCode } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { challengeKey, issueChallenge, VerifiedChallenge, verifyChallenge } from './challenge';
import { ChallengeDto } from './dto/challenge.dto';

/** Issues and checks the proof-of-work join challenges of events (see challenge.ts). */
@Injectable()
export class JoinChallenges {
  private readonly key: Buffer;

  constructor(
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    private readonly keys: KeyBuilder,
    private readonly scripts: ScriptRegistry,
  ) {
    this.key = challengeKey(auth.accessTokenSecret);
  }

  /** A fresh challenge for the event's current difficulty: one read-only script run, no write. */
  async issue(eventId: string): Promise<ChallengeDto> {
    const r = await this.scripts.run('challengeParams', [this.keys.event(eventId).meta]);
    if (r[0] !== ReplyCode.OK) throw eventNotFound(eventId);
    const difficultyBits = numberAt('challengeParams', r, 1);
    const epoch = numberAt('challengeParams', r, 3);
    const { challenge, expiresAtMs } = issueChallenge(this.key, eventId, epoch, difficultyBits, numberAt('challengeParams', r, 2));
    return { challenge, difficultyBits, expiresAt: new Date(expiresAtMs).toISOString() };
  }

  /** The challenge of a join, checked without Redis (MAC, event, work); throws CHALLENGE_FAILED. */
  verify(eventId: string, challenge: string, nonce: string): VerifiedChallenge {
    const verified = verifyChallenge(this.key, eventId, challenge, nonce);
    if (!verified) throw challengeFailed();
    return verified;
  }
}

export const challengeRequired = () =>
  new DomainError('CHALLENGE_REQUIRED', 'this event asks for a solved challenge: GET /v1/events/{eventId}/challenge, then send challenge and nonce');
export const challengeFailed = () =>
  new DomainError('CHALLENGE_FAILED', 'the challenge is not valid for this join: wrong nonce, expired, already used, or not issued for this event');
