import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError, ErrorBody, errorBody, ErrorCode } from './domain-error';
import { isRedisUnavailable, RETRY_AFTER_SECONDS } from './redis-errors';

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'UNAVAILABLE',
};

const logger = new Logger('ErrorFilter');

/** Maps anything thrown to the CONTRACT error body: domain errors, framework errors, Redis faults. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof DomainError) {
    return errorBody(err.code, err.message, err.extra);
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    const message =
      typeof response === 'object' && response && 'message' in response
        ? [(response as { message: unknown }).message].flat().join('; ')
        : err.message;
    // Keep structured details (Terminus puts the failed checks here).
    const { statusCode: _s, message: _m, error: _e, ...details } =
      typeof response === 'object' && response ? (response as Record<string, unknown>) : {};
    return { ...details, ...errorBody(BY_STATUS[status] ?? 'INTERNAL', message), statusCode: status };
  }
  if (isRedisUnavailable(err)) {
    return errorBody('UNAVAILABLE', 'The store is not reachable right now; retry shortly.');
  }
  const fastifyError = err as { statusCode?: number; message?: string; code?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    const code = BY_STATUS[fastifyError.statusCode] ?? 'VALIDATION';
    return { ...errorBody(code, fastifyError.message ?? code), statusCode: fastifyError.statusCode };
  }
  logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return errorBody('INTERNAL', 'Internal error');
}

/** The one exception filter: every error answer has `{ statusCode, code, message }`. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = toErrorBody(exception);
    // Every 503 is "retry shortly" (Redis away or busy, shutting down): say when (CONTRACT §2).
    if (body.statusCode === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(exception.retryAfterSeconds));
    }
    void reply.status(body.statusCode).send(body);
  }
}
