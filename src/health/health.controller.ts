import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HeaderOverflowResponse } from '../common/openapi';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { RedisReadinessIndicator } from './redis.health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisReadinessIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers; checks nothing external' })
  @HeaderOverflowResponse()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Redis answers and every script is loaded; 503 during shutdown' })
  @HeaderOverflowResponse()
  ready() {
    return this.health.check([() => this.redis.isReady()]);
  }
}
