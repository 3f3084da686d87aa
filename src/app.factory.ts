import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppModule, AppModuleOptions } from './app.module';
import { registerAwsVwrRoutes } from './compat/aws-vwr/aws-vwr.routes';
import { AllExceptionsFilter } from './common/http-exception.filter';
import { openApiDocument } from './common/openapi';
import { validationPipe } from './common/validation';
import { authConfig, validateEnvironment } from './config/configuration';
import { isAdminBearer } from './common/admin.guard';
import { errorBody } from './common/domain-error';
import type { ConfigType } from '@nestjs/config';

/**
 * The waiting-room page, built from web/ by `npm run build`. Resolved from the
 * package root, so the app finds it whether it runs from dist/ or (in tests) src/.
 */
export const PUBLIC_DIR = resolve(__dirname, '..', 'dist', 'public');

/** CONTRACT §2: request bodies over 16 KiB get 413 (admin routes: ADMIN_BODY_LIMIT_BYTES). */
export const BODY_LIMIT_BYTES = 16 * 1024;

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export function createLogger(level: string, format: 'json' | 'pretty'): ConsoleLogger {
  const upTo = LEVELS.slice(0, LEVELS.indexOf(level as LogLevel) + 1);
  return new ConsoleLogger({ json: format === 'json', logLevels: upTo, colors: format === 'pretty' && process.stdout.isTTY });
}

/**
 * Builds the whole service (not yet listening): used by main.ts, the demo and
 * the tests, so all of them run exactly the same app.
 */
export async function createApp(options: AppModuleOptions & { logger?: ConsoleLogger | false } = {}): Promise<NestFastifyApplication> {
  const env = validateEnvironment();
  const logger = options.logger ?? createLogger(env.LOG_LEVEL, env.LOG_FORMAT);
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Request ids: the caller's x-request-id when it sends one, else a new one.
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Keep-alive sockets must not outlive a graceful shutdown.
    forceCloseConnections: 'idle',
    // Route schemas must reject what class-validator would: unknown fields
    // are an error (not silently dropped) and types are not coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    schemaErrorFormatter: (errors, dataVar) =>
      new Error(
        errors
          .map((e) => {
            const extra = (e.params as { additionalProperty?: string }).additionalProperty;
            return `${dataVar}${e.instancePath} ${e.message}${extra ? `: ${extra}` : ''}`;
          })
          .join('; '),
      ),
  });
  // Routes marked @AdminBody() (creating a venue of 100,000 named seats is
  // megabytes) get the admin limit; every other route keeps 16 KiB. A route's
  // own bodyLimit wins over the JSON parser's. Their token is checked before
  // the body is read, so nobody without it can make a replica buffer megabytes
  // (the AdminGuard still runs as on every admin route).
  let adminToken = '';
  adapter.getInstance().addHook('onRoute', (route) => {
    if (!(route.config as { adminBody?: boolean } | undefined)?.adminBody) return;
    route.bodyLimit = env.ADMIN_BODY_LIMIT_BYTES;
    route.onRequest = [
      ...(route.onRequest ? [route.onRequest].flat() : []),
      (request, reply, done) => {
        if (isAdminBearer(request.headers.authorization, adminToken)) return done();
        void reply.status(401).send(errorBody('UNAUTHORIZED', 'An admin bearer token is required.'));
      },
    ];
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger,
    bufferLogs: false,
  });
  adminToken = app.get<ConfigType<typeof authConfig>>(authConfig.KEY).adminToken;
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(validationPipe());
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, openApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  // AWS Virtual Waiting Room's APIs (AWS_VWR_COMPAT=true), outside the OpenAPI document: docs/aws-vwr.md.
  registerAwsVwrRoutes(app);
  // The waiting room at `/`. Its catch-all route is the least specific one,
  // so the API routes and /docs still win; unknown paths stay a JSON 404.
  if (existsSync(PUBLIC_DIR)) {
    app.useStaticAssets({ root: PUBLIC_DIR, prefix: '/' });
  } else {
    logger && logger.warn(`${PUBLIC_DIR} is missing (run npm run build): no waiting-room page at /`, 'Static');
  }
  return app;
}
