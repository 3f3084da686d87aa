import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/**
 * One JSON line per request: request id (the caller's x-request-id, or a new
 * one, echoed back in the response), method, route pattern, status, duration.
 * Only the route *pattern* is logged, never the URL, headers or body: a
 * ticket in the path and a token in Authorization are secrets.
 */
@Injectable()
export class RequestLogger implements OnModuleInit {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      const line = {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        eventId: (request.params as { eventId?: string } | undefined)?.eventId,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      };
      if (reply.statusCode >= 500) this.logger.error(line);
      else this.logger.log(line);
      done();
    });
  }
}
