import type { FastifyInstance } from 'fastify';
import type Redis from 'ioredis';

/**
 * The reference servers' shared ending (bench/bare-server.ts, bench/ceiling-server.ts):
 * listen on loopback, close the app and then Redis on SIGTERM or SIGINT, and
 * report a failed start on stderr with exit code 1.
 */
export async function serveUntilSignal(app: FastifyInstance, redis: Redis, port: number): Promise<void> {
  const close = () => {
    app
      .close()
      .then(() => redis.quit())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  await app.listen({ port, host: '127.0.0.1' });
}

export function runServer(name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(`${name} failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
