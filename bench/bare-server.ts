/**
 * The bare reference (issue 11): plain Fastify (the copy Nest's adapter
 * uses) and a plain ioredis client with default options, no schema, no Nest,
 * no validation beyond what a handler must do.
 *
 *   POST /v1/events/:eventId/queue   one EVALSHA of bench/bare/enqueue-2.lua (2 keys), 202 JSON
 *   GET  /v1/events/:eventId/queue/:ticket   the JSON a waiting ticket's status read answers, no Redis
 *
 * What the service's join CPU per request and its status read throughput are
 * measured against (bench/README.md targets: join CPU ≤ 2× this, status read ≥ 0.8× this).
 *
 * Env: PORT, REDIS_URL. Started as a child process by bench/waiting.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type fastifyType from 'fastify';
import Redis from 'ioredis';
import { ROOT } from './lib/config';
import { runServer, serveUntilSignal } from './lib/serve';

const fromNestAdapter = createRequire(require.resolve('@nestjs/platform-fastify/package.json'));
const fastify = fromNestAdapter('fastify') as typeof fastifyType;

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3200);
  const lua = readFileSync(join(ROOT, 'bench', 'bare', 'enqueue-2.lua'), 'utf8');
  const sha = createHash('sha1').update(lua).digest('hex');
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  await redis.script('LOAD', lua);

  const app = fastify({ logger: false });
  app.get('/health', async () => ({ ok: true }));
  app.post<{ Params: { eventId: string }; Body: { userId: string } }>('/v1/events/:eventId/queue', async (request, reply) => {
    const { eventId } = request.params;
    const r = (await redis.evalsha(sha, 2, `bare:{${eventId}}:users`, `bare:{${eventId}}:stream`, request.body.userId)) as [string, number];
    if (r[0] === 'OK') return reply.code(202).send({ ticket: `s${r[1]}.x`, status: 'waiting', position: r[1], etaSeconds: Math.ceil(r[1] / 50) });
    return reply.code(409).send({ statusCode: 409, code: 'DUPLICATE', message: 'already waiting', position: r[1] });
  });
  app.get<{ Params: { eventId: string; ticket: string } }>('/v1/events/:eventId/queue/:ticket', async (request) => {
    const position = Number(/^s(\d+)\./.exec(request.params.ticket)?.[1] ?? 1);
    return { status: 'waiting', position, etaSeconds: Math.ceil(position / 50) };
  });

  await serveUntilSignal(app, redis, port);
}

runServer('bare server', main);
