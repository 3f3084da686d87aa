import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { flagDefaultsConfig } from '../config/configuration';
import { QueuegateRedisModule } from '../redis/redis.module';
import { FeatureFlagController } from './feature-flag.controller';
import { FeatureFlagRepository } from './feature-flag.repository';
import { FeatureFlagService } from './feature-flag.service';

@Module({
  imports: [ConfigModule.forFeature(flagDefaultsConfig), QueuegateRedisModule],
  controllers: [FeatureFlagController],
  providers: [FeatureFlagRepository, FeatureFlagService],
  exports: [FeatureFlagService],
})
export class FeatureFlagModule {}
