import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { appConfig } from '../config/configuration';

const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;
const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * One line per request: request id (the caller's x-request-id, or a new one,
 * echoed back in the response), method, route pattern, event, status,
 * duration. Only the route *pattern* is logged, never the URL, headers or
 * body: a ticket in the path and a token in Authorization are secrets.
 *
 * The lines have the shape of Nest's JSON logger but are written in batches
 * (every 50 ms or 64 KiB): a console write per request cost a fifth of the
 * join route's throughput. A crash can lose the last 50 ms of access lines.
 */
@Injectable()
export class RequestLogger implements OnModuleInit, OnApplicationShutdown {
  private buffer: string[] = [];
  private bytes = 0;
  private timer?: NodeJS.Timeout;
  /** access lines are 'log' level; 5xx lines are 'error' level */
  private readonly logAll: boolean;
  private readonly logErrors: boolean;
  private readonly json: boolean;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(appConfig.KEY) config: ConfigType<typeof appConfig>,
  ) {
    this.logAll = LEVELS.indexOf(config.logLevel) >= LEVELS.indexOf('log');
    this.logErrors = LEVELS.indexOf(config.logLevel) >= LEVELS.indexOf('error');
    this.json = config.logFormat === 'json';
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
      done();
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      if (reply.statusCode >= 500 ? this.logErrors : this.logAll) {
        this.write(reply.statusCode >= 500 ? 'error' : 'log', {
          requestId: request.id,
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          eventId: (request.params as { eventId?: string } | undefined)?.eventId,
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 100) / 100,
        });
      }
      done();
    });
  }

  onApplicationShutdown(): void {
    this.flush();
  }

  private write(level: string, message: Record<string, unknown>): void {
    const line = this.json
      ? `{"level":"${level}","pid":${process.pid},"timestamp":${Date.now()},"message":${JSON.stringify(message)},"context":"HTTP"}\n`
      : `${new Date().toISOString()} ${level.toUpperCase()} [HTTP] ${message.method} ${message.route} ${message.status} ${message.durationMs}ms ${message.requestId}\n`;
    this.buffer.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    process.stdout.write(this.buffer.join(''));
    this.buffer = [];
    this.bytes = 0;
  }
}
