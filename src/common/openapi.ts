import type { INestApplication } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** Security scheme names of the OpenAPI document (`@ApiBearerAuth(...)` on guarded routes). */
export const ADMIN_AUTH = 'admin';
export const ACCESS_TOKEN_AUTH = 'accessToken';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The document served at /docs-json; it lints clean with `@redocly/cli lint`
 * (recommended rules, test/openapi-lint.e2e-spec.ts). A route without
 * `@ApiBearerAuth` is documented as public (`security: []`); that test also
 * calls every operation without credentials, so a guarded route that forgot
 * its `@ApiBearerAuth` fails there instead of being documented as public.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('queuegate')
      .setDescription('Waiting queue and seat inventory for high-traffic ticket on-sales. Every error answers { statusCode, code, message }.')
      .setVersion('1')
      .setLicense('MIT', 'https://opensource.org/license/mit')
      // Relative: the service that serves this document, wherever it is deployed.
      .addServer('/', 'this service (the origin that serves this document)')
      // addSecurity, not addBearerAuth: the latter would call the admin token a JWT.
      .addSecurity(ADMIN_AUTH, { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN of the deployment' })
      .addSecurity(ACCESS_TOKEN_AUTH, {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'the accessToken of an admitted ticket (GET /v1/events/{eventId}/queue/{ticket})',
      })
      .build(),
  );
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (operation && !operation.security) operation.security = [];
    }
  }
  return document;
}

/**
 * The 431 that Node's HTTP server (through Fastify) answers on any path when the
 * request headers exceed its limit, before any route runs: the one client error
 * a health probe can get. Its body is Fastify's, not the service's error body.
 */
export function HeaderOverflowResponse() {
  return ApiResponse({
    status: 431,
    description: 'request headers over the HTTP server limit (16 KiB); answered before routing, body `{ statusCode, error, message }`',
    schema: {
      type: 'object',
      required: ['statusCode', 'error', 'message'],
      properties: {
        statusCode: { type: 'integer', example: 431 },
        error: { type: 'string', example: 'Request Header Fields Too Large' },
        message: { type: 'string', example: 'Exceeded maximum allowed HTTP header size' },
      },
    },
  });
}
