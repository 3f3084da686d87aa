import { Module } from '@nestjs/common';
import { AccessTokenModule } from '../access-token/access-token.module';
import { FeatureFlagModule } from '../feature-flag/feature-flag.module';
import { EventModule } from '../event/event.module';
import { JoinModule } from '../join/join.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { AdmissionsController } from './admissions.controller';
import { Admitter } from './admitter';
import { QueueSnapshots } from './queue-snapshots';
import { QueueController } from './queue.controller';
import { QueueRepository } from './queue.repository';
import { QueueStatusService } from './queue-status.service';
import { QueueService } from './queue.service';
import { QueueWatchRepository } from './queue.watch-repository';

@Module({
  imports: [QueuegateRedisModule, FeatureFlagModule, AccessTokenModule, EventModule, JoinModule],
  controllers: [QueueController, AdmissionsController],
  providers: [QueueRepository, QueueWatchRepository, QueueService, QueueStatusService, Admitter, QueueSnapshots],
  exports: [QueueService, QueueStatusService, Admitter, QueueSnapshots],
})
export class QueueModule {}
