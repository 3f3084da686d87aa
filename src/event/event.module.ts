import { Module } from '@nestjs/common';
import { FeatureFlagModule } from '../feature-flag/feature-flag.module';
import { EventController } from './event.controller';
import { EventRegistry } from './event-registry';
import { EventRepository } from './event.repository';
import { EventService } from './event.service';

@Module({
  imports: [FeatureFlagModule],
  controllers: [EventController],
  providers: [EventRepository, EventService, EventRegistry],
  exports: [EventRepository, EventService, EventRegistry],
})
export class EventModule {}
