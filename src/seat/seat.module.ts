import { Module } from '@nestjs/common';
import { AccessTokenModule } from '../access-token/access-token.module';
import { EventModule } from '../event/event.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { SeatController } from './seat.controller';
import { SeatMapController } from './seat-map.controller';
import { SeatMapRepository } from './seat-map.repository';
import { SeatSnapshots } from './seat-snapshots';
import { SeatRepository } from './seat.repository';
import { SeatService } from './seat.service';
import { Sweeper } from './sweeper';

@Module({
  imports: [QueuegateRedisModule, AccessTokenModule, EventModule],
  controllers: [SeatController, SeatMapController],
  providers: [SeatRepository, SeatService, Sweeper, SeatMapRepository, SeatSnapshots],
  exports: [Sweeper, SeatService],
})
export class SeatModule {}
