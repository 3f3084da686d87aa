/**
 * `npm run bench:waiting`: what waiting costs (issue 11), against the bare
 * reference (bench/bare-server.ts), in one run on this machine:
 *
 *  - join: server CPU µs per request, service vs bare (target ≤ 2×);
 *  - waiting status read: req/s, service vs a bare Fastify GET answering the
 *    same JSON (target ≥ 0.8×), and Redis commands per read (target 0);
 *  - 10,000 open SSE streams on one replica: Redis calls per second while
 *    they wait, and service CPU per pushed frame while positions move.
 *
 * Round robin: bare join, service join, bare status, service status, R rounds
 * (BENCH_ROUNDS, default 3) of BENCH_DURATION s (default 5) at
 * BENCH_CONNECTIONS (default 100), so a burst of someone else's load falls
 * on all of them. Writes bench/results/waiting-summary.{md,json}.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { RESULTS_DIR } from './lib/config';
import { Client, inParallel, sleep } from './lib/http';
import { runLoad } from './lib/load';
import { machineInfo, sourceInfo } from './lib/machine';
import { freePort, ServerProcess } from './lib/processes';
import { profileMarkdown, summarizeProfile } from './lib/profile-summary';
import { cleanupsOnExit, profiling, startService } from './lib/service';
import { measureRedisWork } from './redis-work';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = int('BENCH_ROUNDS', 3);
const SECONDS = int('BENCH_DURATION', 5);
const CONNECTIONS = int('BENCH_CONNECTIONS', 100);
const STREAMS = int('BENCH_STREAMS', 10_000);
const WORK_USERS = int('BENCH_MEMORY_USERS', 1_000_000);
/** BENCH_PROFILE=1: after the rounds, one more pass of each join with V8's CPU profiler on in the server */
const PROFILE = process.env.BENCH_PROFILE === '1';
const preload = (name: string) => profiling(PROFILE, `waiting-${name}`);
const log = (line: string) => console.log(line);

interface Figure {
  requests: number;
  seconds: number;
  cpuSeconds: number;
  redisCalls: number;
  non2xx: number;
}
const add = (a: Figure, b: Figure): Figure => ({
  requests: a.requests + b.requests,
  seconds: a.seconds + b.seconds,
  cpuSeconds: a.cpuSeconds + b.cpuSeconds,
  redisCalls: a.redisCalls + b.redisCalls,
  non2xx: a.non2xx + b.non2xx,
});
const zero = (): Figure => ({ requests: 0, seconds: 0, cpuSeconds: 0, redisCalls: 0, non2xx: 0 });

/** Total commands Redis ran so far (every command, scripts' inner calls included). */
async function redisCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [, c, n] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(c, Number(n));
  return out;
}
const sum = (m: Map<string, number>, only?: string) => [...m].filter(([c]) => !only || c === only).reduce((a, [, n]) => a + n, 0);

const { cleanups, cleanUp } = cleanupsOnExit();

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'redis-work') {
    const work = await measureRedisWork(WORK_USERS, log);
    log(JSON.stringify(work, null, 2));
    const file = join(RESULTS_DIR, 'waiting-summary.json');
    const previous = JSON.parse(readFileSync(file, 'utf8'));
    const results = { ...previous, redisWork: { ...work, measuredAt: new Date().toISOString() } };
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    const md = readFileSync(join(RESULTS_DIR, 'waiting-summary.md'), 'utf8');
    const profiles = md.indexOf('### CPU profile') >= 0 ? md.slice(md.indexOf('### CPU profile')) : '';
    writeFileSync(join(RESULTS_DIR, 'waiting-summary.md'), [markdown(results), profiles].filter(Boolean).join('\n\n') + '\n');
    return;
  }
  const started = new Date();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const redis = await startRedis(['--appendonly', 'no']);
  cleanups.push(() => redis.cleanup());
  const stats = new Redis(redis.port, '127.0.0.1');
  cleanups.push(async () => void stats.disconnect());

  const service = await startService('service', { REDIS_URL: redis.url }, cleanups, preload('service'));
  const bp = preload('bare');
  const bare = new ServerProcess('bare', await freePort(), [...bp.args, resolve(__dirname, 'bare-server.js')], { REDIS_URL: redis.url, ...bp.env });
  await bare.start('/health');
  cleanups.push(() => bare.stop());
  log(`service pid ${service.pid}, bare pid ${bare.pid}, redis pid ${redis.pid}`);

  const client = new Client(service.url);
  const ev = { join: `w-join-${process.pid}`, status: `w-status-${process.pid}`, sse: `w-sse-${process.pid}` };
  for (const id of Object.values(ev)) {
    await client.adminExpect(201, 'POST', '/v1/events', { eventId: id, capacity: 100, admission: { ratePerSecond: 100, maxActive: 100000, sessionTtlSeconds: 600 } });
    await client.adminExpect(200, 'PATCH', `/v1/events/${id}`, { paused: true });
  }
  const statusTickets = await inParallel(10_000, 50, async (i) => (await client.request('POST', `/v1/events/${ev.status}/queue`, { userId: `s-${i}` })).body.ticket as string);

  let counter = 0;
  const scenarios = {
    'bare join': { server: bare, method: 'POST' as const, path: () => `/v1/events/bare-join/queue`, body: () => JSON.stringify({ userId: `b-${(counter += 1)}` }) },
    'service join': { server: service, method: 'POST' as const, path: () => `/v1/events/${ev.join}/queue`, body: () => JSON.stringify({ userId: `j-${(counter += 1)}` }) },
    'bare status': { server: bare, method: 'GET' as const, path: () => `/v1/events/${ev.status}/queue/${statusTickets[(counter += 1) % 10_000]}`, body: () => undefined },
    'service status': { server: service, method: 'GET' as const, path: () => `/v1/events/${ev.status}/queue/${statusTickets[(counter += 1) % 10_000]}`, body: () => undefined },
  };
  type Scenario = (typeof scenarios)[keyof typeof scenarios];
  const step = (s: Scenario) => ({
    method: s.method,
    path: '/',
    setup: (req: { path: string; body?: string; headers: Record<string, string> }) => {
      req.path = s.path();
      const body = s.body();
      if (body !== undefined) {
        req.body = body;
        req.headers['content-type'] = 'application/json';
      }
    },
  });
  const figures: Record<string, Figure> = Object.fromEntries(Object.keys(scenarios).map((n) => [n, zero()]));

  // Background Redis work of the service (admitter, sweeper, snapshots, flags) per second, with nobody sending requests.
  const idleBefore = await redisCalls(stats);
  await sleep(3000);
  const backgroundPerSecond = (sum(await redisCalls(stats)) - sum(idleBefore)) / 3;
  log(`background: ${backgroundPerSecond.toFixed(1)} Redis commands/s with no request`);

  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [name, s] of Object.entries(scenarios)) {
      const spec = { name, url: s.server.url, connections: CONNECTIONS, steps: () => [step(s)] };
      await runLoad(spec, 1, `warm-up ${round}/${ROUNDS}`);
      const cpu0 = s.server.cpuSeconds();
      const calls0 = await redisCalls(stats);
      const r = await runLoad(spec, SECONDS, `round ${round}/${ROUNDS}`);
      const calls = sum(await redisCalls(stats)) - sum(calls0);
      const cpu = s.server.cpuSeconds() - cpu0;
      const non2xx = Object.entries(r.statuses).filter(([c]) => !c.startsWith('2')).reduce((a, [, n]) => a + n, 0);
      const f = { requests: r.requests, seconds: r.durationSeconds, cpuSeconds: cpu, redisCalls: calls - backgroundPerSecond * r.durationSeconds, non2xx };
      figures[name] = add(figures[name], f);
      log(`  ${round}/${ROUNDS} ${name}: ${Math.round(r.requests / r.durationSeconds)} req/s, ${((cpu / r.requests) * 1e6).toFixed(1)} µs CPU/req, ${(f.redisCalls / r.requests).toFixed(3)} Redis cmds/req (background subtracted), non-2xx ${non2xx}`);
    }
  }

  const profiles: string[] = [];
  if (PROFILE) {
    for (const name of ['bare join', 'service join'] as const) {
      const s = scenarios[name];
      const out = s.server.profileOut!;
      s.server.signal('SIGWINCH');
      await runLoad({ name, url: s.server.url, connections: CONNECTIONS, steps: () => [step(s)] }, SECONDS, 'profile');
      s.server.signal('SIGWINCH');
      for (let i = 0; i < 100 && !existsSync(`${out}.done`); i += 1) await sleep(100);
      profiles.push(profileMarkdown(summarizeProfile(out), `CPU profile: ${name}`));
    }
  }

  const sse = await sseStreams(client, stats, service, ev.sse);
  await cleanUp();
  const work = await measureRedisWork(WORK_USERS, log);

  const row = (name: string) => {
    const f = figures[name];
    return {
      reqPerSec: Math.round(f.requests / f.seconds),
      cpuMicrosPerRequest: Math.round((f.cpuSeconds / f.requests) * 1e7) / 10,
      redisCommandsPerRequest: Math.round((f.redisCalls / f.requests) * 1000) / 1000,
      non2xx: f.non2xx,
    };
  };
  const rows = Object.fromEntries(Object.keys(figures).map((n) => [n, row(n)]));
  const results = {
    startedAt: started.toISOString(),
    machine: machineInfo(),
    source: sourceInfo(),
    settings: { rounds: ROUNDS, secondsPerRound: SECONDS, connections: CONNECTIONS, streams: STREAMS },
    backgroundRedisCommandsPerSecond: Math.round(backgroundPerSecond * 10) / 10,
    scenarios: rows,
    ratios: {
      joinCpuServiceVsBare: Math.round((rows['service join'].cpuMicrosPerRequest / rows['bare join'].cpuMicrosPerRequest) * 100) / 100,
      statusReadThroughputServiceVsBare: Math.round((rows['service status'].reqPerSec / rows['bare status'].reqPerSec) * 100) / 100,
    },
    sse,
    redisWork: work,
  };
  writeFileSync(join(RESULTS_DIR, 'waiting-summary.json'), JSON.stringify(results, null, 2) + '\n');
  const md = [markdown(results), ...profiles].join('\n\n');
  writeFileSync(join(RESULTS_DIR, 'waiting-summary.md'), md + '\n');
  log(md);
}

/** Opens STREAMS streams on one waiting event; Redis calls/s while they wait, then CPU per frame while positions move. */
async function sseStreams(client: Client, stats: Redis, service: ServerProcess, eventId: string) {
  const ahead = 2000;
  log(`SSE: ${STREAMS.toLocaleString('en-US')} streams behind ${ahead} others`);
  await inParallel(ahead, 50, (i) => client.request('POST', `/v1/events/${eventId}/queue`, { userId: `a-${i}` }));
  const tickets = await inParallel(STREAMS, 50, async (i) => (await client.request('POST', `/v1/events/${eventId}/queue`, { userId: `w-${i}` })).body.ticket as string);
  const agent = new Agent({ maxSockets: Infinity });
  let frames = 0;
  const requests: ReturnType<typeof get>[] = [];
  const redisRate = async (seconds: number) => {
    const before = await redisCalls(stats);
    await sleep(seconds * 1000);
    const after = await redisCalls(stats);
    return { commandsPerSecond: (sum(after) - sum(before)) / seconds, scriptsPerSecond: (sum(after, 'evalsha') - sum(before, 'evalsha')) / seconds };
  };
  const none = await redisRate(5);
  await inParallel(STREAMS, 200, (i) =>
    new Promise<void>((ok, fail) => {
      const req = get(`${service.url}/v1/events/${eventId}/queue/${tickets[i]}/events`, { agent }, (res) => {
        res.setEncoding('utf8');
        let first = true;
        res.on('data', (chunk: string) => {
          frames += chunk.split('data: ').length - 1;
          if (first) (first = false), ok();
        });
      });
      req.on('error', fail);
      requests.push(req);
    }),
  );
  cleanupStreams = () => requests.forEach((r) => r.destroy());
  await sleep(1000);
  const waiting = await redisRate(5);
  // Positions move: admission at 200/s takes people ahead of the streams, so every stream gets a frame a second.
  await client.adminExpect(200, 'PATCH', `/v1/events/${eventId}`, { paused: false, admission: { ratePerSecond: 200 } });
  await sleep(1500);
  const frames0 = frames;
  const cpu0 = service.cpuSeconds();
  const moving = await redisRate(5);
  const pushed = frames - frames0;
  const cpu = service.cpuSeconds() - cpu0;
  cleanupStreams();
  return {
    streams: STREAMS,
    redisWithNoStream: round1(none),
    redisWhileStreamsWait: round1(waiting),
    redisWhilePositionsMove: round1(moving),
    framesPushedPerSecond: Math.round(pushed / 5),
    serviceCpuMicrosPerFrame: Math.round((cpu / pushed) * 1e7) / 10,
    serviceCpuShareWhileMoving: Math.round((cpu / 5) * 100) / 100,
  };
}
let cleanupStreams = () => undefined as void;
const round1 = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));

function markdown(r: any): string {
  const s = r.scenarios;
  const line = (n: string) => `| ${n} | ${s[n].reqPerSec.toLocaleString('en-US')} | ${s[n].cpuMicrosPerRequest} | ${s[n].redisCommandsPerRequest} | ${s[n].non2xx} |`;
  return [
    '# What waiting costs (bench/waiting.ts)',
    '',
    `${r.startedAt}, ${r.machine.cpuModel}, ${r.machine.cores} cores, node ${r.machine.node}; ${r.settings.rounds} rounds × ${r.settings.secondsPerRound} s, ${r.settings.connections} connections, round robin. Shared machine: other work ran at the same time; compare ratios within this run.`,
    '',
    '| scenario | req/s | server CPU µs/req | Redis commands/req (background subtracted) | non-2xx |',
    '|---|---|---|---|---|',
    ...Object.keys(s).map(line),
    '',
    `- join server CPU per request, service vs bare: **${r.ratios.joinCpuServiceVsBare}×** (target ≤ 2×)`,
    `- waiting status read throughput, service vs bare GET of the same JSON: **${r.ratios.statusReadThroughputServiceVsBare}×** (target ≥ 0.8×)`,
    `- background Redis commands/s of an idle service with 3 events: ${r.backgroundRedisCommandsPerSecond}`,
    '',
    `## ${r.sse.streams.toLocaleString('en-US')} open SSE streams on one replica`,
    '',
    '| phase | Redis commands/s | of which script runs/s |',
    '|---|---|---|',
    `| no stream open | ${r.sse.redisWithNoStream.commandsPerSecond} | ${r.sse.redisWithNoStream.scriptsPerSecond} |`,
    `| ${r.sse.streams.toLocaleString('en-US')} streams waiting | ${r.sse.redisWhileStreamsWait.commandsPerSecond} | ${r.sse.redisWhileStreamsWait.scriptsPerSecond} |`,
    `| positions moving (admission 200/s ahead of them) | ${r.sse.redisWhilePositionsMove.commandsPerSecond} | ${r.sse.redisWhilePositionsMove.scriptsPerSecond} |`,
    '',
    `While positions moved: ${r.sse.framesPushedPerSecond.toLocaleString('en-US')} frames/s pushed, **${r.sse.serviceCpuMicrosPerFrame} µs of service CPU per frame** (service at ${r.sse.serviceCpuShareWhileMoving} CPU cores).`,
    '',
    '## Redis work per operation (a redis-server of its own, nothing else running)',
    '',
    'Redis CPU µs per call: `INFO cpu` (user + sys) over the calls, so time Redis spent descheduled on this busy machine does not count; ' +
      'commandstats µs (wall clock inside Redis) is shown next to it.',
    '',
    '| script | Redis CPU µs per call | commandstats µs per call |',
    '|---|---:|---:|',
    ...Object.entries(r.redisWork.cpuMicrosPerCall).map(([n, us]) => `| ${n} | ${us} | ${r.redisWork.microsPerCall[n]} |`),
    `| admit, per admitted user (batches of 1,000 from a queue of ~${r.redisWork.waitingUsers.toLocaleString('en-US')}) | ${r.redisWork.admitMicrosPerUser} | |`,
    ...(r.redisWork.challengeBurst
      ? [
          `| longest single join after a burst of ${r.redisWork.challengeBurst.expiredIds.toLocaleString('en-US')} expired challenge ids ` +
            `(${r.redisWork.challengeBurst.joins} joins, each removes ≤ 100; ${r.redisWork.challengeBurst.idsLeft.toLocaleString('en-US')} left; target ≤ 5,000) | | ${r.redisWork.challengeBurst.longestJoinMicros} |`,
        ]
      : []),
    '',
    `Redis memory per waiting user at ${r.redisWork.waitingUsers.toLocaleString('en-US')} waiting (Streams): **${r.redisWork.bytesPerWaitingUser} B** (by key: ${Object.entries(r.redisWork.byKey).map(([k, v]) => `${k} ${v}`).join(', ')}).`,
  ].join('\n');
}

main()
  .catch((err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
