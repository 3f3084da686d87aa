import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBody, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import { ErrorResponses } from '../common/api-errors';
import { JOIN_IDEMPOTENCY_HEADER } from '../common/idempotency-key';
import { toErrorBody } from '../common/http-exception.filter';
import { IdParamPipe } from '../common/id-param.pipe';
import { JOIN_SCHEMA, JoinedDto, JoinQueueBody, JoinQueueDto, TICKET_STATUS_SCHEMA, TicketStatusDto } from './dto/join-queue.dto';
import { QueueService } from './queue.service';

/** A comment line every 15 s keeps proxies and load balancers from closing a quiet stream. */
export const SSE_HEARTBEAT_MS = 15_000;

@ApiTags('queue')
@Controller('v1/events/:eventId/queue')
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Post()
  @HttpCode(202)
  @RouteSchema(JOIN_SCHEMA)
  @ApiBody({ type: JoinQueueDto })
  @ApiHeader(JOIN_IDEMPOTENCY_HEADER)
  @ApiOperation({ summary: 'Join the waiting queue; one ticket per user per event' })
  @ApiResponse({ status: 202, type: JoinedDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'DUPLICATE', 'PAYLOAD_TOO_LARGE', 'UNAVAILABLE')
  join(
    @Param('eventId', IdParamPipe) eventId: string,
    @Body() body: JoinQueueBody,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<JoinedDto> {
    return this.queue.join(eventId, body.userId, idempotencyKey);
  }

  @Get(':ticket')
  @RouteSchema(TICKET_STATUS_SCHEMA)
  @ApiOperation({ summary: 'Place in the queue, or the access token once admitted' })
  @ApiResponse({ status: 200, type: TicketStatusDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  status(@Param('eventId', IdParamPipe) eventId: string, @Param('ticket') ticket: string): Promise<TicketStatusDto> {
    return this.queue.status(eventId, ticket);
  }

  @Get(':ticket/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'The ticket status as Server-Sent Events',
    description:
      'A `data:` frame with the same JSON as GET /v1/events/{eventId}/queue/{ticket} at once, then on every change ' +
      '(at most one per second), ending after the `admitted` frame; a `: ping` comment every 15 s. ' +
      'If a later read fails (the ticket left, the store is away) an `event: failure` frame carries the error body and the stream ends. ' +
      'Cost: each open stream re-reads its ticket once a second (one script run on Redis), like a client polling GET every second.',
  })
  @ApiResponse({ status: 200, description: 'text/event-stream of TicketStatus frames' })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  async events(
    @Param('eventId', IdParamPipe) eventId: string,
    @Param('ticket') ticket: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const stop = new AbortController();
    // Throws (404, 503) before anything is sent: a normal JSON error answer.
    const frames = await this.queue.watchStatus(eventId, ticket, stop.signal);
    // Sent as a stream through Fastify (not reply.raw), so the onRequest /
    // onResponse hooks (x-request-id, access log, metrics) see this request too.
    const body = new PassThrough();
    body.once('close', () => stop.abort());
    reply.raw.once('close', () => stop.abort()); // the client went away
    void reply
      .header('content-type', 'text/event-stream')
      .header('cache-control', 'no-cache, no-transform')
      .header('x-accel-buffering', 'no')
      .send(body);
    void writeFrames(frames, body);
  }

  @Delete(':ticket')
  @HttpCode(204)
  @ApiOperation({ summary: 'Leave the queue or end the admitted session; the user may join again' })
  @ApiResponse({ status: 204, description: 'left' })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  async leave(@Param('eventId', IdParamPipe) eventId: string, @Param('ticket') ticket: string): Promise<void> {
    await this.queue.leave(eventId, ticket);
  }
}

/** Writes each status as a `data:` frame, with heartbeats, and ends the stream when the frames end. */
async function writeFrames(frames: AsyncGenerator<TicketStatusDto>, body: PassThrough): Promise<void> {
  const write = (text: string) => {
    if (!body.destroyed && !body.writableEnded) body.write(text);
  };
  const heartbeat = setInterval(() => write(': ping\n\n'), SSE_HEARTBEAT_MS);
  try {
    for await (const frame of frames) {
      if (body.destroyed) break;
      write(`data: ${JSON.stringify(frame)}\n\n`);
    }
  } catch (err) {
    write(`event: failure\ndata: ${JSON.stringify(toErrorBody(err))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    if (!body.destroyed) body.end();
  }
}
