import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponses } from '../common/api-errors';
import { IdParamPipe } from '../common/id-param.pipe';
import { JoinedDto, JoinQueueDto, TicketStatusDto } from './dto/join-queue.dto';
import { QueueService } from './queue.service';

@ApiTags('queue')
@Controller('v1/events/:eventId/queue')
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Join the waiting queue; one ticket per user per event' })
  @ApiResponse({ status: 202, type: JoinedDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'DUPLICATE', 'PAYLOAD_TOO_LARGE', 'UNAVAILABLE')
  join(@Param('eventId', IdParamPipe) eventId: string, @Body() dto: JoinQueueDto): Promise<JoinedDto> {
    return this.queue.join(eventId, dto.userId);
  }

  @Get(':ticket')
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
