import { Module } from '@nestjs/common';
import { FeatureFlagModule } from '../feature-flag/feature-flag.module';
import { EventController } from './event.controller';
import { EventActivity } from './event-activity';
import { EventRegistry } from './event-registry';
import { EventRepository } from './event.repository';
import { EventService } from './event.service';

@Module({
  imports: [FeatureFlagModule],
  controllers: [EventController],
  providers: [EventRepository, EventService, EventRegistry, EventActivity],
  exports: [EventRepository, EventService, EventRegistry, EventActivity],
})
export class EventModule {}
