import { Module } from '@nestjs/common';
import { EventModule } from '../event/event.module';
import { QueueModule } from '../queue/queue.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { SeatModule } from '../seat/seat.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [QueuegateRedisModule, EventModule, QueueModule, SeatModule],
  controllers: [MetricsController],
  providers: [MetricsService],
})
export class MetricsModule {}
