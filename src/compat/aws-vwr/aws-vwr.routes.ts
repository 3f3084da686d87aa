import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../common/domain-error';
import { isRedisUnavailable, RETRY_AFTER_SECONDS } from '../../common/redis-errors';
import { awsVwrConfig } from '../../config/configuration';
import { AwsVwrService, VwrAnswer, VwrRefusal } from './aws-vwr.service';
import { sigV4Problem } from './sigv4';

export const PUBLIC_BASE = '/aws-vwr/public';
export const PRIVATE_BASE = '/aws-vwr/private';
export const JWKS_PATH = '/.well-known/jwks.json';

/** CORS of every compat answer (CONTRACT): AWS's API Gateway answered the same. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type, X-Amz-Date, Authorization, X-Api-Key, X-Amz-Security-Token',
  'access-control-max-age': '600',
};

const logger = new Logger('AwsVwr');

type Query = Record<string, string | undefined>;

/** A JSON body: private POSTs come as text/plain too (AWS's control panel sends them so). */
function json(body: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VwrRefusal(400, 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new VwrRefusal(400, 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** AWS's answer for anything thrown: its status and `{ error }` (`{ message }` for a refused signature, as API Gateway). */
export function toVwrAnswer(err: unknown): VwrAnswer {
  if (err instanceof VwrRefusal) return { status: err.status, body: err.status === 403 ? { message: err.error } : { error: err.error } };
  if (err instanceof DomainError) {
    return { status: err.status, body: { error: err.message }, retryAfter: err.retryAfterSeconds ?? (err.status === 503 ? RETRY_AFTER_SECONDS : undefined) };
  }
  if (isRedisUnavailable(err)) return { status: 503, body: { error: 'The store is not reachable right now; retry shortly.' }, retryAfter: RETRY_AFTER_SECONDS };
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, body: { error: (err as Error).message } };
  logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return { status: 500, body: { error: 'Internal error' } };
}

function send(reply: FastifyReply, a: VwrAnswer): FastifyReply {
  if (a.retryAfter !== undefined) void reply.header('retry-after', String(a.retryAfter));
  return reply.headers(CORS).status(a.status).send(a.body);
}

/**
 * Serves AWS Virtual Waiting Room's public API under /aws-vwr/public, its
 * private API under /aws-vwr/private (AWS Signature V4) and the signing key's
 * JWKS at /.well-known/jwks.json, when AWS_VWR_COMPAT=true. Plain Fastify
 * routes in their own scope: the answers are AWS's shapes (not the native
 * error body), every body is read raw (a signature covers its exact bytes;
 * JSON arrives as text/plain too), and every answer carries CORS.
 */
export function registerAwsVwrRoutes(app: NestFastifyApplication): void {
  const config = app.get<ConfigType<typeof awsVwrConfig>>(awsVwrConfig.KEY);
  if (!config.enabled) return;
  const vwr = app.get(AwsVwrService);
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;

  const scope = (base: string, routes: (s: FastifyInstance) => void) =>
    fastify.register(
      async (s) => {
        s.removeAllContentTypeParsers();
        s.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
        s.setErrorHandler((err, _req, reply) => send(reply, toVwrAnswer(err)));
        s.setNotFoundHandler((req, reply) =>
          send(reply, req.method === 'OPTIONS' ? { status: 204, body: '' } : { status: 404, body: { message: 'Not Found' } }),
        );
        s.options('/*', (_req, reply) => send(reply, { status: 204, body: '' }));
        routes(s);
      },
      { prefix: base },
    );
  const handle = (work: (req: FastifyRequest) => Promise<VwrAnswer> | VwrAnswer) => async (req: FastifyRequest, reply: FastifyReply) =>
    send(reply, await work(req));

  scope(PUBLIC_BASE, (s) => {
    const q = (req: FastifyRequest) => req.query as Query;
    s.post('/assign_queue_num', handle((req) => vwr.assign(json(req.body).event_id, req.socket.remoteAddress, req.headers['x-forwarded-for'])));
    s.get('/queue_num', handle((req) => vwr.queueNum(q(req).event_id, q(req).request_id)));
    s.get('/serving_num', handle((req) => vwr.servingNum(q(req).event_id)));
    s.get('/waiting_num', handle((req) => vwr.waitingNum(q(req).event_id)));
    s.get('/queue_pos_expiry', handle((req) => vwr.queuePosExpiry(q(req).event_id, q(req).request_id)));
    s.post('/generate_token', handle((req) => {
      const b = json(req.body);
      return vwr.generateToken(b.event_id, b.request_id);
    }));
    s.get('/public_key', handle((req) => vwr.publicKey(q(req).event_id)));
  });

  scope(PRIVATE_BASE, (s) => {
    // Every private call is signed, refusals before anything is read or changed.
    s.addHook('preHandler', async (req, reply) => {
      if (req.method === 'OPTIONS') return; // a preflight carries no signature
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const problem = await sigV4Problem({ method: req.method, url: req.raw.url ?? req.url, headers: req.headers, body }, config.accessKeys, config.region, Date.now());
      if (problem) return send(reply, { status: 403, body: { message: problem } });
    });
    const q = (req: FastifyRequest) => req.query as Query;
    s.post('/increment_serving_counter', handle((req) => {
      const b = json(req.body);
      return vwr.incrementServingCounter(b.event_id, b.increment_by);
    }));
    s.post('/generate_token', handle((req) => {
      const b = json(req.body);
      return vwr.generateToken(b.event_id, b.request_id, { issuer: b.issuer, validityPeriod: b.validity_period });
    }));
    s.post('/update_session', handle((req) => {
      const b = json(req.body);
      return vwr.updateSession(b.event_id, b.request_id, b.status);
    }));
    s.get('/num_active_tokens', handle((req) => vwr.numActiveTokens(q(req).event_id)));
    s.get('/expired_tokens', handle((req) => vwr.expiredTokens(q(req).event_id)));
    s.post('/reset_initial_state', handle((req) => vwr.resetInitialState(json(req.body).event_id)));
  });

  fastify.get(JWKS_PATH, (_req, reply) => send(reply, vwr.jwks()));
  fastify.options(JWKS_PATH, (_req, reply) => send(reply, { status: 204, body: '' }));
}
