import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough } from 'node:stream';
import { ErrorBodyDto, ErrorResponses } from '../common/api-errors';
import { JOIN_IDEMPOTENCY_HEADER } from '../common/idempotency-key';
import { toErrorBody } from '../common/http-exception.filter';
import { IdParamPipe } from '../common/id-param.pipe';
import { ApiJsonBody } from '../common/openapi';
import { JOIN_SCHEMA, JoinedDto, JoinQueueBody, QueueHeadDto, TICKET_STATUS_SCHEMA, TicketStatusDto } from './dto/join-queue.dto';
import { QueueStatusService } from './queue-status.service';
import { QueueService } from './queue.service';

/** A comment line every 15 s keeps proxies and load balancers from closing a quiet stream. */
export const SSE_HEARTBEAT_MS = 15_000;

@ApiTags('queue')
@Controller('v1/events/:eventId/queue')
export class QueueController {
  constructor(
    private readonly queue: QueueService,
    private readonly reads: QueueStatusService,
  ) {}

  @Post()
  @HttpCode(202)
  @RouteSchema(JOIN_SCHEMA)
  @ApiJsonBody('JoinQueueDto', JoinQueueBody)
  @ApiHeader(JOIN_IDEMPOTENCY_HEADER)
  @ApiOperation({
    summary: 'Join the waiting queue; one ticket per user per event',
    description:
      'JOIN_IDENTITY=anonymous: the body names the user. JOIN_IDENTITY=jwt: the user is the sub of the identity token ' +
      '(Authorization: Bearer), the body names no user, and a repeated join answers 200 with the same place. ' +
      'An event with a challenge needs { challenge, nonce } (GET /v1/events/{eventId}/challenge). ' +
      'JOIN_RATE_PER_MINUTE limits joins per client address (429 with Retry-After).',
  })
  @ApiResponse({ status: 202, type: JoinedDto, description: 'a new place' })
  @ApiResponse({ status: 200, type: JoinedDto, description: 'JOIN_IDENTITY=jwt: this person already had a place; its ticket and status' })
  @ErrorResponses(
    'VALIDATION',
    'UNAUTHORIZED',
    'QUEUE_NOT_OPEN',
    'CHALLENGE_REQUIRED',
    'CHALLENGE_FAILED',
    'EVENT_NOT_FOUND',
    'DUPLICATE',
    'QUEUE_CLOSED',
    ['SOLD_OUT', 410],
    'PAYLOAD_TOO_LARGE',
    'RATE_LIMITED',
    'UNAVAILABLE',
  )
  async join(
    @Param('eventId', IdParamPipe) eventId: string,
    @Body() body: JoinQueueBody | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JoinedDto> {
    const { existing, joined } = await this.queue.join(eventId, body ?? {}, {
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      authorization: request.headers.authorization,
      peer: request.socket.remoteAddress,
      forwardedFor: request.headers['x-forwarded-for'],
    });
    if (existing) void reply.status(200);
    return joined;
  }

  @Get()
  @ApiOperation({
    summary: 'The queue head, the same for every caller',
    description:
      'Served from the replica\'s snapshot of the event (refreshed at least once a second), with `Cache-Control: public, max-age=1` ' +
      'and an `ETag` (`304` on `If-None-Match`), so a CDN or reverse proxy can absorb polling. A page that knows its ticket\'s ' +
      'sequence can tell its place from `admittedThrough` alone.',
  })
  @ApiResponse({ status: 200, type: QueueHeadDto })
  @ApiResponse({ status: 304, description: 'unchanged since the ETag sent in If-None-Match' })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'UNAVAILABLE')
  async head(
    @Param('eventId', IdParamPipe) eventId: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const head = await this.reads.head(eventId);
    void reply.header('cache-control', 'public, max-age=1').header('etag', head.etag);
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === head.etag)) {
      void reply.status(304).send();
      return;
    }
    void reply.header('content-type', 'application/json; charset=utf-8').send(head.viewJson);
  }

  @Get(':ticket')
  @RouteSchema(TICKET_STATUS_SCHEMA)
  @ApiOperation({
    summary: 'Place in the queue, or the access token once admitted',
    description:
      'On the Streams backend a waiting ticket is answered from the replica\'s snapshot and the ticket itself: no Redis command. ' +
      'A read costs one script only when something about the ticket changed (its turn came). The sorted-set backend reads Redis once per status.',
  })
  @ApiResponse({ status: 200, type: TicketStatusDto })
  @ErrorResponses('VALIDATION', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'UNAVAILABLE')
  status(@Param('eventId', IdParamPipe) eventId: string, @Param('ticket') ticket: string): Promise<TicketStatusDto> {
    return this.reads.status(eventId, ticket);
  }

  @Get(':ticket/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'The ticket status as Server-Sent Events',
    description:
      'A `data:` frame with the same JSON as GET /v1/events/{eventId}/queue/{ticket} at once, then on every change ' +
      '(at most one per second), ending after the `admitted` frame; a `: ping` comment every 15 s. ' +
      'If a later read fails (the ticket left, the store is away) an `event: failure` frame carries the error body and the stream ends. ' +
      'Cost: all open streams of an event on a replica are fed from one snapshot refresh (one script run per event, twice a second, ' +
      'whatever the number of streams); a stream costs Redis one script when its ticket\'s turn comes. A soldOut frame also ends the stream.',
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
    const frames = await this.reads.watchStatus(eventId, ticket, stop.signal);
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
