import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { appConfig, authConfig, awsVwrConfig, flagDefaultsConfig, joinConfig, redisConfig } from './config/configuration';
import { AwsVwrModule } from './compat/aws-vwr/aws-vwr.module';
import { EventModule } from './event/event.module';
import { FeatureFlagModule } from './feature-flag/feature-flag.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { QueuegateRedisModule } from './redis/redis.module';
import { SeatModule } from './seat/seat.module';

export interface AppModuleOptions {
  /** where the Lua scripts are; defaults to the package's lua/ folder */
  luaDir?: string;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [appConfig, redisConfig, authConfig, flagDefaultsConfig, joinConfig, awsVwrConfig],
        }),
        QueuegateRedisModule.forRoot({ luaDir: options.luaDir }),
        HealthModule,
        FeatureFlagModule,
        EventModule,
        QueueModule,
        SeatModule,
        MetricsModule,
        LoggingModule,
        AwsVwrModule,
      ],
    };
  }
}
