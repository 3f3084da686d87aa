import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponses } from '../common/api-errors';
import { IdParamPipe } from '../common/id-param.pipe';
import { JOIN_SCHEMA, JoinedDto, JoinQueueBody, JoinQueueDto, TICKET_STATUS_SCHEMA, TicketStatusDto } from './dto/join-queue.dto';
import { QueueService } from './queue.service';

@ApiTags('queue')
@Controller('v1/events/:eventId/queue')
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Post()
  @HttpCode(202)
  @RouteSchema(JOIN_SCHEMA)
  @ApiBody({ type: JoinQueueDto })
  @ApiOperation({ summary: 'Join the waiting queue; one ticket per user per event' })
  @ApiResponse({ status: 202, type: JoinedDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'DUPLICATE', 'PAYLOAD_TOO_LARGE', 'UNAVAILABLE')
  join(@Param('eventId', IdParamPipe) eventId: string, @Body() body: JoinQueueBody): Promise<JoinedDto> {
    return this.queue.join(eventId, body.userId);
  }

  @Get(':ticket')
  @RouteSchema(TICKET_STATUS_SCHEMA)
  @ApiOperation({ summary: 'Place in the queue, or the access token once admitted' })
  @ApiResponse({ status: 200, type: TicketStatusDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  status(@Param('eventId', IdParamPipe) eventId: string, @Param('ticket') ticket: string): Promise<TicketStatusDto> {
    return this.queue.status(eventId, ticket);
  }

  @Delete(':ticket')
  @HttpCode(204)
  @ApiOperation({ summary: 'Leave the queue or end the admitted session; the user may join again' })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  async leave(@Param('eventId', IdParamPipe) eventId: string, @Param('ticket') ticket: string): Promise<void> {
    await this.queue.leave(eventId, ticket);
  }
}
