import { Module } from '@nestjs/common';
import { EventModule } from '../event/event.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [QueuegateRedisModule, EventModule],
  controllers: [MetricsController],
  providers: [MetricsService],
})
export class MetricsModule {}
