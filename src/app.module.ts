import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AwsVwrModule } from './compat/aws-vwr/aws-vwr.module';
import { QueueItModule } from './compat/queue-it/queue-it.module';
import { appConfig, authConfig, BootOptions, bootOptionsConfig, flagDefaultsConfig, joinConfig, redisConfig } from './config/configuration';
import { EventModule } from './event/event.module';
import { FeatureFlagModule } from './feature-flag/feature-flag.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { QueuegateRedisModule } from './redis/redis.module';
import { SeatModule } from './seat/seat.module';

export type AppModuleOptions = BootOptions;

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [appConfig, redisConfig, authConfig, flagDefaultsConfig, joinConfig, bootOptionsConfig(options)],
        }),
        // The Redis client (the library's module, global); each feature module imports QueuegateRedisModule.
        QueuegateRedisModule.client(),
        HealthModule,
        FeatureFlagModule,
        EventModule,
        QueueModule,
        SeatModule,
        QueueItModule,
        MetricsModule,
        LoggingModule,
        AwsVwrModule,
      ],
    };
  }
}
