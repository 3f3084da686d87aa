import { Module } from '@nestjs/common';
import { AccessTokenModule } from '../access-token/access-token.module';
import { EventModule } from '../event/event.module';
import { QueuegateRedisModule } from '../redis/redis.module';
import { SeatController } from './seat.controller';
import { SeatRepository } from './seat.repository';
import { SeatService } from './seat.service';
import { Sweeper } from './sweeper';

@Module({
  imports: [QueuegateRedisModule, AccessTokenModule, EventModule],
  controllers: [SeatController],
  providers: [SeatRepository, SeatService, Sweeper],
  exports: [Sweeper],
})
export class SeatModule {}
