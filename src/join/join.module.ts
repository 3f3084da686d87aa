import { Module } from '@nestjs/common';
import { QueuegateRedisModule } from '../redis/redis.module';
import { ChallengeController } from './challenge.controller';
import { JoinChallenges } from './join-challenges';
import { JoinGate } from './join-gate';
import { JoinIdentity } from './join-identity';
import { JoinRateLimiter } from './join-rate';

/** Who may join and how often: identity tokens, proof-of-work challenges, the per-address join rate. */
@Module({
  imports: [QueuegateRedisModule],
  controllers: [ChallengeController],
  providers: [JoinIdentity, JoinChallenges, JoinRateLimiter, JoinGate],
  exports: [JoinGate, JoinIdentity],
})
export class JoinModule {}
