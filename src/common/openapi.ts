import type { INestApplication } from '@nestjs/common';
import { ApiBody, ApiResponse, DocumentBuilder, getSchemaPath, OpenAPIObject, SchemaObject, SwaggerModule } from '@nestjs/swagger';
import type { TSchema } from '@sinclair/typebox';

/** Security scheme names of the OpenAPI document (`@ApiBearerAuth(...)` on guarded routes). */
export const ADMIN_AUTH = 'admin';
export const ACCESS_TOKEN_AUTH = 'accessToken';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Request bodies defined once as JSON schemas (ApiJsonBody), by component name. */
const BODY_COMPONENTS = new Map<string, SchemaObject>();

/**
 * A JSON schema (draft-07, as Fastify's validator reads it) as an OpenAPI 3.0
 * schema object: `examples: [x]` becomes `example: x`, and `dependencies`
 * (which 3.0 lacks) is dropped; the descriptions say which fields go together.
 */
export function openApiSchemaOf(schema: TSchema): SchemaObject {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === 'dependencies') continue;
      if (key === 'examples' && Array.isArray(value)) out.example = value[0];
      else out[key] = walk(value);
    }
    return out;
  };
  return walk(schema) as SchemaObject; // Object.entries leaves out TypeBox's symbol keys
}

/**
 * Documents a route's body from the JSON schema Fastify validates it with
 * (one definition: the schema, its Static<> type, this entry), as the
 * component `name`, which the page's generated types (web/api/schema.d.ts) use.
 */
export function ApiJsonBody(name: string, schema: TSchema): MethodDecorator {
  BODY_COMPONENTS.set(name, openApiSchemaOf(schema));
  return ApiBody({ schema: { $ref: getSchemaPath(name) } });
}

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
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...Object.fromEntries(BODY_COMPONENTS) } };
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
