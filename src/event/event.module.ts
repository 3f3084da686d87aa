import { Module } from '@nestjs/common';
import { FeatureFlagModule } from '../feature-flag/feature-flag.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { EventController } from './event.controller';
import { EventActivity } from './event-activity';
import { EventRegistry } from './event-registry';
import { EventRepository } from './event.repository';
import { EventService } from './event.service';

@Module({
  imports: [QueuegateRedisModule, FeatureFlagModule],
  controllers: [EventController],
  providers: [EventRepository, EventService, EventRegistry, EventActivity],
  exports: [EventRepository, EventService, EventRegistry, EventActivity],
})
export class EventModule {}
