/**
 * The framework ceiling: the least a server can do for a join. Plain Fastify
 * (the very copy @nestjs/platform-fastify uses) and ioredis with the service's
 * own connection options (nodeOptions from src/redis/redis-options.ts), one
 * EVALSHA of lua/queue/join-11.lua (loaded through the service's own
 * loadLuaScripts and key builder), a 202 JSON answer. No Nest, no validation
 * pipe, no interceptors: what the service's join is measured against
 * (bench/README.md targets: join ≥ 0.70× of this, p99 ≤ 1.5× of this).
 *
 * Env: PORT, REDIS_URL, REDIS_KEY_PREFIX. Started as a child process by bench/run.ts.
 */
import { createRequire } from 'node:module';
import type { ConfigType } from '@nestjs/config';
import type fastifyType from 'fastify';
import Redis from 'ioredis';
import type { redisConfig } from '../src/config/configuration';
import { ID_PATTERN } from '../src/common/identifiers';
import { JoinQueueBody } from '../src/queue/dto/join-queue.dto';
import { joinKeys } from '../src/queue/queue.repository';
import { formatTicket, newNonce, ticketKey } from '../src/queue/ticket';
import { KeyBuilder } from '../src/redis/keys';
import { nodeOptions } from '../src/redis/redis-options';
import { loadLuaScripts } from '../src/redis/lua-loader';
import { LUA_DIR } from './lib/config';
import { runServer, serveUntilSignal } from './lib/serve';

// The Fastify that Nest's adapter runs on, not whichever copy npm hoisted.
const fromNestAdapter = createRequire(require.resolve('@nestjs/platform-fastify/package.json'));
const fastify = fromNestAdapter('fastify') as typeof fastifyType;

type JoinCommand = (...keysAndArgs: string[]) => Promise<unknown[]>;
type RedisConfig = ConfigType<typeof redisConfig>;

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3100);
  const keys = new KeyBuilder({ keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'qg:' } as RedisConfig);
  const join = loadLuaScripts(LUA_DIR).find((s) => s.name === 'join');
  if (!join) throw new Error(`no join script in ${LUA_DIR}`);

  // The service's own connection options (src/redis/redis-options.ts), so the two stay alike.
  const config = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: 'qg:', commandTimeoutMs: 1000 } as RedisConfig;
  const redis = new Redis(config.url, { ...nodeOptions(config), lazyConnect: true });
  redis.defineCommand('join', { numberOfKeys: join.numberOfKeys, lua: join.lua });
  await redis.connect();
  await redis.script('LOAD', join.lua);
  const ticketSigningKey = ticketKey(process.env.ACCESS_TOKEN_SECRET ?? 'bench-access-token-secret-0123456789abcdef');
  const runJoin = (redis as unknown as { join: JoinCommand }).join.bind(redis);

  const app = fastify({ logger: false, bodyLimit: 16 * 1024 });
  app.get('/health', async () => ({ ok: true }));
  app.post<{ Params: { eventId: string }; Body: JoinQueueBody }>(
    '/v1/events/:eventId/queue',
    {
      schema: {
        params: { type: 'object', properties: { eventId: { type: 'string', pattern: ID_PATTERN.source } }, required: ['eventId'] },
        // The service's own body schema: the same validation work per join.
        body: JoinQueueBody,
        response: {
          202: {
            type: 'object',
            properties: {
              ticket: { type: 'string' },
              status: { type: 'string' },
              position: { type: 'integer' },
              etaSeconds: { type: 'integer' },
              queue: { type: 'string' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { eventId } = request.params;
      const { userId } = request.body;
      // Anonymous joins only (the service's default): the body names the user.
      if (!userId) return reply.code(400).send({ statusCode: 400, code: 'VALIDATION', message: 'userId is required' });
      const nonce = newNonce();
      const r = await runJoin(...joinKeys(keys.event(eventId)), userId, '', '', '', '100', '0', '', '0', '0', String(nonce));
      if (r[0] === 'OK') {
        const position = Number(r[2]);
        return reply.code(202).send({
          ticket: formatTicket(ticketSigningKey, eventId, Number(r[5]), { kind: 's', n: Number(r[1]), nonce }),
          status: 'waiting',
          position,
          etaSeconds: Math.ceil(position / Math.max(Number(r[3]), 1e-9)),
          queue: r[4],
        });
      }
      if (r[0] === 'DUPLICATE') {
        return reply.code(409).send({ statusCode: 409, code: 'DUPLICATE', message: 'already waiting or admitted', position: Number(r[1]) });
      }
      return reply.code(404).send({ statusCode: 404, code: 'EVENT_NOT_FOUND', message: `event ${eventId} does not exist` });
    },
  );

  await serveUntilSignal(app, redis, port);
}

runServer('ceiling server', main);
