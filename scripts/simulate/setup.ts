/**
 * Set-up: without --url, a private service to play against (a redis-server
 * from PATH on a free port and the built app, node dist/main.js, as child
 * processes stopped by PID); then the event the crowd buys from.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, requireRedisServer, startThrowawayRedis, stopProcess, ThrowawayRedis } from '../../src/dev/throwaway-redis';
import type { Http } from './http';
import type { Options } from './options';

export interface Embedded {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
  logFile: string;
}

// The package root: this file runs as dist/scripts/simulate/setup.js.
const ROOT = resolve(__dirname, '..', '..', '..');

export async function startEmbedded(log: (line: string) => void): Promise<Embedded> {
  const main = join(ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run simulate does)`);
  requireRedisServer('pass --url');
  const dir = mkdtempSync(join(tmpdir(), 'queuegate-sim-'));
  let app: ChildProcess | undefined;
  let redis: ThrowawayRedis | undefined;
  // Last resort if this process dies without cleaning up: stop our own children by PID.
  const killNow = () => {
    if (app && app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    redis?.stopNow();
  };
  process.once('exit', killNow);
  const stop = async () => {
    // The app first (it closes its Redis client), then Redis; each by its own PID.
    await stopProcess(app, 5000);
    await redis?.stop();
    process.removeListener('exit', killNow);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    redis = await startThrowawayRedis();
    const port = await freePort();
    const adminToken = `sim-${randomBytes(16).toString('base64url')}`;
    const logFile = join(dir, 'service.log');
    const out = createWriteStream(logFile);
    app = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        REDIS_URL: redis.url,
        ADMIN_TOKEN: adminToken,
        ACCESS_TOKEN_SECRET: randomBytes(32).toString('base64url'),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout?.pipe(out);
    app.stderr?.pipe(out);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (app.exitCode !== null) throw new Error(`the service exited with ${app.exitCode}:\n${readFileSync(logFile, 'utf8')}`);
      const ready = await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the service did not become ready in 30 s:\n${readFileSync(logFile, 'utf8')}`);
      await sleep(100);
    }
    log(`embedded service: ${url} (pid ${app.pid}), redis-server on port ${redis.port} (pid ${redis.pid})`);
    return { url, adminToken, stop, logFile };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Creates the simulation's event as --seats, --rate, --max-active, --session-ttl, --hold-ttl and --max-seats say. */
export async function createEvent(http: Http, o: Options, admin: Record<string, string>, log: (line: string) => void): Promise<void> {
  const created = await http.call('admin', 'POST', '/v1/events', {
    eventId: o.eventId,
    ...(o.layout ? { layout: o.layout } : { capacity: o.seats }),
    holdTtlSeconds: o.holdTtl,
    maxSeatsPerUser: o.maxSeatsPerUser,
    admission: { ratePerSecond: o.rate, maxActive: o.maxActive, sessionTtlSeconds: o.sessionTtl },
    ...(o.prequeue > 0 ? { salesStartAt: new Date(Date.now() + o.prequeue * 1000).toISOString() } : {}),
  }, admin);
  if (created.status !== 201) throw new Error(`creating event ${o.eventId}: ${created.status} ${JSON.stringify(created.body)}`);
  log(
    `event ${o.eventId}: ${o.seats.toLocaleString()} seats${o.layout ? ` in ${o.layout.sections.length} sections at ${o.layout.priceLevels.length} price levels` : ''}, admission ${o.rate}/s (maxActive ${o.maxActive}, session ${o.sessionTtl} s), ` +
      `hold ${o.holdTtl} s, max ${o.maxSeatsPerUser} seats/user; ${o.users.toLocaleString()} users over ${o.connections} connections` +
      (o.prequeue > 0 ? `; sales start in ${o.prequeue} s (pre-queue, shuffle commitment ${created.body.shuffle?.commitment})` : ''),
  );
}
