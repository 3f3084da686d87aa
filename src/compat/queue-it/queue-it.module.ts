import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AccessTokenModule } from '../../access-token/access-token.module';
import { queueItConfig } from '../../config/configuration';
import { EventModule } from '../../event/event.module';
import { QueueModule } from '../../queue/queue.module';
import { QueueItEntryController, QueueItTokenController } from './queue-it.controller';
import { QueueItService } from './queue-it.service';

/** Queue-it connector compatibility (docs/queue-it.md): the connector's redirect entry and the signed way back. */
@Module({
  imports: [ConfigModule.forFeature(queueItConfig), EventModule, QueueModule, AccessTokenModule],
  controllers: [QueueItEntryController, QueueItTokenController],
  providers: [QueueItService],
})
export class QueueItModule {}
