import { Module } from '@nestjs/common';
import { EventModule } from '../event/event.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [EventModule],
  controllers: [MetricsController],
  providers: [MetricsService],
})
export class MetricsModule {}
