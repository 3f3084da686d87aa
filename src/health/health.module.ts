import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { QueuegateRedisModule } from '../redis/redis.module';
import { HealthController } from './health.controller';
import { RedisReadinessIndicator } from './redis.health';
import { ShutdownState } from './shutdown-state';

/**
 * Health and graceful shutdown. Nothing imports it (its ShutdownState is used
 * here alone); it stays @Global for the order of shutdown. Nest runs lifecycle
 * hooks for global modules first, then deepest module first, so
 * ShutdownState's drain (readiness 503 for SHUTDOWN_DRAIN_MS while requests
 * are still served) runs before any feature module stops its admitter,
 * sweeper, activity loop or event streams. As a plain module imported by
 * AppModule it sits at the feature modules' depth: its drain would come first
 * only by the order of AppModule's imports, and after the hooks of any module
 * deeper than it.
 */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), QueuegateRedisModule],
  controllers: [HealthController],
  providers: [RedisReadinessIndicator, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}
