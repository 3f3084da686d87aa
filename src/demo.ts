import { randomBytes } from 'node:crypto';
import { createApp } from './app.factory';
import { demoSettings, useDemoEnvironment } from './config/demo-env';
import { requireRedisServer, startThrowawayRedis, ThrowawayRedis } from './dev/throwaway-redis';
import { EventService } from './event/event.service';

/**
 * `npm run demo`: the whole service on one machine. With no REDIS_URL it
 * starts a private redis-server from PATH on a free port (and stops it on
 * exit), creates a demo event and prints where to look.
 */
async function main(): Promise<void> {
  const settings = demoSettings();
  let redis: ThrowawayRedis | undefined;
  if (!settings.hasRedis) {
    requireRedisServer('set REDIS_URL');
    redis = await startThrowawayRedis();
    useDemoEnvironment({ REDIS_URL: redis.url });
  }
  const adminToken = settings.adminToken ?? `demo-${randomBytes(12).toString('base64url')}`;
  useDemoEnvironment({ ADMIN_TOKEN: adminToken });

  const stopRedis = () => redis?.stopNow();
  process.once('exit', stopRedis);
  // Nest's shutdown hooks (createApp enables them) close the app on a signal
  // and then raise that signal again to end the process, and a process ended
  // by a signal runs no 'exit' handler: the private redis-server outlived a
  // SIGTERM (Ctrl-C only stopped it because a terminal signals the whole
  // process group). This listener stays registered, so the signal raised
  // again lands here once the app is closed and Redis is stopped before
  // exiting. While booting, or on a second signal, it stops at once.
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let closing = false;
  const onSignal = () => {
    if (app && !closing) {
      closing = true; // Nest is closing the app now
      return;
    }
    stopRedis();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  app = await createApp();
  await app.listen({ port: settings.port, host: '0.0.0.0' });
  const events = app.get(EventService);
  const existing = await events.get('demo').catch(() => null);
  if (!existing) {
    await events.create({ eventId: 'demo', capacity: 200, holdTtlSeconds: 120, maxSeatsPerUser: 4, admission: { ratePerSecond: 2, maxActive: 50, sessionTtlSeconds: 900 } });
  }
  const base = `http://localhost:${settings.port}`;
  process.stdout.write(
    [
      '',
      'queuegate demo is running',
      `  waiting room   ${base}/?event=demo`,
      `  API docs       ${base}/docs`,
      `  event          ${base}/v1/events/demo`,
      `  readiness      ${base}/health/ready`,
      `  metrics        ${base}/metrics`,
      `  redis          ${redis ? 'a private redis-server, stopped on exit' : 'yours (REDIS_URL / REDIS_CLUSTER_NODES)'}`,
      `  admin token    ${adminToken}`,
      '',
      'Try it:',
      `  curl -s -XPOST ${base}/v1/events/demo/queue -H 'content-type: application/json' -d '{"userId":"fan-1"}'`,
      '',
      'Ctrl-C (or SIGTERM) stops the service and its Redis.',
      '',
    ].join('\n'),
  );
}

main().catch((err: Error) => {
  process.stderr.write(`queuegate demo failed: ${err.message}\n`);
  process.exit(1);
});
