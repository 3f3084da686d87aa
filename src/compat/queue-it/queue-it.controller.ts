import '@fastify/static';
import { Body, Controller, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorResponses } from '../../common/api-errors';
import { DomainError } from '../../common/domain-error';
import { QueueItRedirectDto, QueueItTokenDto } from './dto/queue-it-token.dto';
import { EntryQuery, QueueItService } from './queue-it.service';
import { refusalPage } from './refusal-page';

/**
 * The root path: the waiting room (index.html, as before) and, when the
 * query names a customer (`c`), the Queue-it connector's redirect, which
 * opens the Queue-it waiting page (queue-it.html) or a page saying why not.
 * The connector sends visitors whose token it refused to `/error/<reason>/`
 * with the same query: they get the same entry (a valid place resumes).
 */
@ApiExcludeController()
@Controller()
export class QueueItEntryController {
  constructor(private readonly queueIt: QueueItService) {}

  @Get()
  async root(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const query = request.query as EntryQuery;
    if (query.c === undefined) return sendPage(reply, 'index.html');
    return this.entry(query, reply);
  }

  // `/error/<reason>/`, trailing slash and all, as the connector writes it.
  @Get('error/*')
  connectorError(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<FastifyReply> {
    return this.entry(request.query as EntryQuery, reply);
  }

  private async entry(query: EntryQuery, reply: FastifyReply): Promise<FastifyReply> {
    const refusal = await this.queueIt.refuseEntry(query);
    if (!refusal) return sendPage(reply.header('cache-control', 'no-store'), 'queue-it.html');
    return reply.status(refusal.status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(refusalPage(refusal));
  }
}

/** A page of the built waiting room (dist/public, served by @fastify/static when it exists). */
function sendPage(reply: FastifyReply, file: string): FastifyReply {
  if (typeof reply.sendFile !== 'function') throw new DomainError('NOT_FOUND', 'the waiting-room pages are not built (npm run build)');
  return reply.sendFile(file);
}

@ApiTags('queue-it')
@Controller('queue-it')
export class QueueItTokenController {
  constructor(private readonly queueIt: QueueItService) {}

  @Post('token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'The way back to a Queue-it protected page for an admitted ticket',
    description:
      'Queue-it connector compatibility (docs/queue-it.md). The waiting page calls it when its ticket is admitted: it answers the ' +
      'target with queueittoken appended, signed with QUEUE_IT_SECRET_KEY (which never leaves the service), valid until the session ends. ' +
      "The target's origin must be one of the event's redirectOrigins. 404 NOT_FOUND while QUEUE_IT_CUSTOMER_ID and QUEUE_IT_SECRET_KEY are not set.",
  })
  @ApiResponse({ status: 200, type: QueueItRedirectDto })
  @ErrorResponses('VALIDATION', 'TARGET_NOT_ALLOWED', 'NOT_FOUND', 'EVENT_NOT_FOUND', 'TICKET_NOT_FOUND', 'NOT_ADMITTED', 'PAYLOAD_TOO_LARGE', 'UNAVAILABLE')
  token(@Body() dto: QueueItTokenDto): Promise<QueueItRedirectDto> {
    return this.queueIt.token(dto);
  }
}
