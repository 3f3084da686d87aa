import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AccessRequest, AccessTokenGuard } from '../access-token/access-token.guard';
import { AccessClaims } from '../access-token/access-token.service';
import { AdminGuard } from '../common/admin.guard';
import { ErrorResponses } from '../common/api-errors';
import { IDEMPOTENCY_HEADER } from '../common/idempotency-key';
import { IdParamPipe } from '../common/id-param.pipe';
import { ACCESS_TOKEN_AUTH, ADMIN_AUTH, ApiJsonBody } from '../common/openapi';
import { AuditDto, ConfirmHoldDto, HOLD_SCHEMA, HoldDto, HoldSeatsBody, OrderDto } from './dto/hold.dto';
import { SeatService } from './seat.service';

const claims = (request: AccessRequest) => request.access as AccessClaims;


@ApiTags('seats')
@Controller('v1/events/:eventId')
export class SeatController {
  constructor(private readonly seats: SeatService) {}

  @Post('holds')
  @HttpCode(201)
  @RouteSchema(HOLD_SCHEMA)
  @ApiJsonBody('HoldSeatsDto', HoldSeatsBody)
  @UseGuards(AccessTokenGuard)
  @ApiBearerAuth(ACCESS_TOKEN_AUTH)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOperation({ summary: 'Hold named seats (all or nothing), the best `quantity` available, or the best `quantity` together in one row' })
  @ApiResponse({ status: 201, type: HoldDto })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'FORBIDDEN', 'EVENT_NOT_FOUND', 'SEAT_NOT_FOUND', 'SEAT_UNAVAILABLE', 'SOLD_OUT', 'LIMIT_EXCEEDED', 'NO_ADJACENT_SEATS', 'UNAVAILABLE')
  hold(
    @Param('eventId', IdParamPipe) _eventId: string,
    @Req() request: AccessRequest,
    @Body() dto: HoldSeatsBody,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<HoldDto> {
    return this.seats.hold(claims(request), dto, idempotencyKey);
  }

  @Delete('holds/:holdId')
  @HttpCode(204)
  @UseGuards(AccessTokenGuard)
  @ApiBearerAuth(ACCESS_TOKEN_AUTH)
  @ApiOperation({ summary: 'Release a hold; its seats are available again at once' })
  @ApiResponse({ status: 204, description: 'released' })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_OWNER', 'EVENT_NOT_FOUND', 'HOLD_NOT_FOUND', 'UNAVAILABLE')
  async release(@Param('eventId', IdParamPipe) _eventId: string, @Param('holdId') holdId: string, @Req() request: AccessRequest): Promise<void> {
    await this.seats.release(claims(request), holdId);
  }

  @Post('holds/:holdId/confirm')
  @UseGuards(AccessTokenGuard)
  @ApiBearerAuth(ACCESS_TOKEN_AUTH)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOperation({
    summary: 'Buy the held seats; confirming again answers 200 with the same order',
    description:
      'With REDIS_WAIT_REPLICAS > 0 the order is answered only once that many Redis replicas have it; otherwise 503 UNAVAILABLE ' +
      '(Retry-After) says the outcome is not yet certain, and a retry with the same Idempotency-Key answers the order once it is safe.',
  })
  @ApiResponse({ status: 201, type: OrderDto, description: 'order created' })
  @ApiResponse({ status: 200, type: OrderDto, description: 'already confirmed: the same order' })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_OWNER', 'EVENT_NOT_FOUND', 'HOLD_NOT_FOUND', 'HOLD_EXPIRED', 'UNAVAILABLE')
  async confirm(
    @Param('eventId', IdParamPipe) _eventId: string,
    @Param('holdId') holdId: string,
    @Req() request: AccessRequest,
    @Body() dto: ConfirmHoldDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<OrderDto> {
    const result = await this.seats.confirm(claims(request), holdId, dto?.paymentRef, idempotencyKey);
    void reply.status(result.created ? 201 : 200);
    return result.order;
  }

  @Get('audit')
  @UseGuards(AdminGuard)
  @ApiBearerAuth(ADMIN_AUTH)
  @ApiOperation({ summary: 'Recount every seat against counters, holds, per-user counts and orders (admin)' })
  @ApiResponse({ status: 200, type: AuditDto })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  audit(@Param('eventId', IdParamPipe) eventId: string): Promise<AuditDto> {
    return this.seats.audit(eventId);
  }
}
