import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminBody } from '../common/admin-body';
import { AdminGuard } from '../common/admin.guard';
import { ErrorResponses } from '../common/api-errors';
import { IdParamPipe } from '../common/id-param.pipe';
import { ADMIN_AUTH } from '../common/openapi';
import { CreateEventDto, DeleteEventQuery } from './dto/create-event.dto';
import { EventView } from './dto/event-view.dto';
import { UpdateEventDto } from './dto/update-event.dto';
import { EventService } from './event.service';

@ApiTags('events')
@Controller('v1/events')
export class EventController {
  constructor(private readonly events: EventService) {}

  @Post()
  @HttpCode(201)
  @AdminBody()
  @UseGuards(AdminGuard)
  @ApiBearerAuth(ADMIN_AUTH)
  @ApiOperation({ summary: 'Create an event with its seat inventory (admin)' })
  @ApiResponse({ status: 201, type: EventView })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'EVENT_EXISTS', 'EVENT_DELETED', 'PAYLOAD_TOO_LARGE', 'UNAVAILABLE')
  create(@Body() dto: CreateEventDto): Promise<EventView> {
    return this.events.create(dto);
  }

  @Get(':eventId')
  @ApiOperation({ summary: 'Counters, queue sizes and settings of an event' })
  @ApiResponse({ status: 200, type: EventView })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  get(@Param('eventId', IdParamPipe) eventId: string): Promise<EventView> {
    return this.events.get(eventId);
  }

  @Patch(':eventId')
  @AdminBody()
  @UseGuards(AdminGuard)
  @ApiBearerAuth(ADMIN_AUTH)
  @ApiOperation({ summary: 'Change limits or pause admission (admin); takes effect on the next admission tick' })
  @ApiResponse({ status: 200, type: EventView })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  update(@Param('eventId', IdParamPipe) eventId: string, @Body() dto: UpdateEventDto): Promise<EventView> {
    return this.events.update(eventId, dto);
  }

  @Delete(':eventId')
  @HttpCode(204)
  @UseGuards(AdminGuard)
  @ApiBearerAuth(ADMIN_AUTH)
  @ApiOperation({
    summary: 'Delete an event and every key of it (admin); with live sessions or holds only with ?force=true',
  })
  @ApiResponse({ status: 204, description: 'deleted; no replica works on the event any more' })
  @ErrorResponses('VALIDATION', 'UNAUTHORIZED', 'EVENT_NOT_FOUND', 'EVENT_ACTIVE', 'UNAVAILABLE')
  delete(@Param('eventId', IdParamPipe) eventId: string, @Query() query: DeleteEventQuery): Promise<void> {
    return this.events.delete(eventId, query.force === 'true');
  }
}
