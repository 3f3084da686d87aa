import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { awsVwrConfig } from '../../config/configuration';
import { EventModule } from '../../event/event.module';
import { JoinModule } from '../../join/join.module';
import { QueueModule } from '../../queue/queue.module';
import { QueuegateRedisModule } from '../../redis/redis.module';
import { AwsVwrRepository } from './aws-vwr.repository';
import { AwsVwrService } from './aws-vwr.service';
import { VwrTokens } from './vwr-tokens';

/**
 * AWS Virtual Waiting Room compatibility (docs/aws-vwr.md): its routes are
 * registered on the HTTP server by registerAwsVwrRoutes (app.factory) when
 * AWS_VWR_COMPAT=true; off, this module only holds idle providers.
 */
@Module({
  imports: [ConfigModule.forFeature(awsVwrConfig), QueuegateRedisModule, QueueModule, EventModule, JoinModule],
  providers: [AwsVwrService, AwsVwrRepository, VwrTokens],
  exports: [AwsVwrService],
})
export class AwsVwrModule {}
