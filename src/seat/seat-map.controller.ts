import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ErrorResponses } from '../common/api-errors';
import { eventNotFound } from '../common/domain-error';
import { IdParamPipe } from '../common/id-param.pipe';
import { SeatPageDto, SeatQueryDto } from './dto/hold.dto';
import { SectionQueryDto, SectionsDto, SeatLayoutDto, SeatStateDto } from './dto/seat-map.dto';
import { Cached, SeatMap } from './seat-map';
import { SeatSnapshots } from './seat-snapshots';

const FROM_SNAPSHOT =
  "Served from the replica's seat snapshot of the event (refreshed within a second of any seat change, at no Redis cost per read), " +
  'with an `ETag` (`304` on `If-None-Match`) and `Cache-Control: public, max-age=1`, so a CDN or reverse proxy can absorb polling.';
const NOT_MODIFIED = { status: 304, description: 'unchanged since the ETag sent in If-None-Match' };

/** The public seat map (docs/api.md "Seat map"): every answer from the replica's seat snapshot. */
@ApiTags('seats')
@Controller('v1/events/:eventId')
export class SeatMapController {
  constructor(private readonly snapshots: SeatSnapshots) {}

  @Get('sections')
  @ApiOperation({ summary: 'Seats available, held and sold per section, in section order', description: FROM_SNAPSHOT })
  @ApiResponse({ status: 200, type: SectionsDto })
  @ApiResponse(NOT_MODIFIED)
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  async sections(@Param('eventId', IdParamPipe) eventId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    send(reply, (await this.map(eventId)).sections(), ifNoneMatch, 1);
  }

  @Get('seats')
  // The operation id it had before the seat map moved to this controller: generated clients (web/api) keep it.
  @ApiOperation({ operationId: 'SeatController_page', summary: 'Seat map, paged in seat order (section, row, seat); filter by status, section or price level', description: FROM_SNAPSHOT })
  @ApiResponse({ status: 200, type: SeatPageDto })
  @ApiResponse(NOT_MODIFIED)
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  async page(
    @Param('eventId', IdParamPipe) eventId: string,
    @Query() query: SeatQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    send(reply, (await this.map(eventId)).page(query), ifNoneMatch, 1);
  }

  @Get('seats/state')
  @ApiOperation({
    summary: "Every seat's state (or one section's) in 2 bits per seat, in seat order",
    description: `${FROM_SNAPSHOT} Pair it with GET .../seats/layout (fetched once): 60,000 seats are 20,000 base64 characters.`,
  })
  @ApiResponse({ status: 200, type: SeatStateDto })
  @ApiResponse(NOT_MODIFIED)
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'SECTION_NOT_FOUND', 'UNAVAILABLE')
  async state(
    @Param('eventId', IdParamPipe) eventId: string,
    @Query() query: SectionQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    send(reply, (await this.map(eventId)).state(query.sectionId), ifNoneMatch, 1);
  }

  @Get('seats/layout')
  @ApiOperation({
    summary: 'The layout: price levels, sections, rows and seat ids in seat order (never changes after creation: fetch once)',
    description: "With an `ETag` of the event's creation and `Cache-Control: public, max-age=300`; `304` on `If-None-Match`.",
  })
  @ApiResponse({ status: 200, type: SeatLayoutDto })
  @ApiResponse(NOT_MODIFIED)
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'SECTION_NOT_FOUND', 'UNAVAILABLE')
  async layout(
    @Param('eventId', IdParamPipe) eventId: string,
    @Query() query: SectionQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    send(reply, (await this.map(eventId)).layoutView(eventId, query.sectionId), ifNoneMatch, 300);
  }

  private async map(eventId: string): Promise<SeatMap> {
    const map = await this.snapshots.get(eventId);
    if (!map) throw eventNotFound(eventId);
    return map;
  }
}

/** Sends a cached answer, or 304 when the client already has it. */
function send(reply: FastifyReply, answer: Cached, ifNoneMatch: string | undefined, maxAgeSeconds: number): void {
  void reply.header('cache-control', `public, max-age=${maxAgeSeconds}`).header('etag', answer.etag);
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === answer.etag)) {
    void reply.status(304).send();
    return;
  }
  void reply.header('content-type', 'application/json; charset=utf-8').send(answer.json);
}
