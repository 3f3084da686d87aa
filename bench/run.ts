/**
 * `npm run bench`: the speed and memory figures of bench/README.md (Targets), measured on
 * this machine in one run (never part of the pass/fail tests).
 *
 *  1. HTTP scenarios with autocannon against the built service (`node
 *     dist/main.js` as a child process, its own redis-server on a free port),
 *     and against a bare Fastify + ioredis ceiling server, in the same run;
 *  2. Redis memory per waiting user at 1,000,000 waiting users, per backend;
 *  3. admission time against batch size and queue length;
 *  4. the seat map (bench/seat-map.ts): what 1,000 buyers looking at a 60,000-seat venue cost.
 * Writes bench/results/<timestamp>.json and, for a full run,
 * bench/results/summary.{md,json}. Knobs: bench/README.md.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { startRedis } from '../test/support/redis-harness';
import { DurableResults, runDurableConfirm } from './durable';
import { EV, HttpResults, runHttpScenarios } from './http-scenarios';
import { KEY_PREFIX, RESULTS_DIR, SERVICE_MAIN, settings, wanted } from './lib/config';
import { Client } from './lib/http';
import { machineInfo, sourceInfo } from './lib/machine';
import { freePort, ServerProcess } from './lib/processes';
import { scriptShas } from './lib/redis-stats';
import { BenchResults, evaluateTargets, markdown } from './lib/report';
import { cleanupsOnExit, profiling, startService } from './lib/service';
import { MemoryAndAdmission, runMemoryAndAdmission } from './memory';
import { runShuffle, ShuffleResult } from './shuffle';
import { BigVenueResult, runBigVenue } from './big-venue';
import { runSeatMap, SeatMapResult, seatMapMarkdown } from './seat-map';
import { runSweepCalls, SweepCallsResult } from './sweep-calls';

const HTTP_SCENARIOS = ['ceiling', 'join', 'assign-queue-num', 'compat-poll', 'join-zset', 'poll', 'hold', 'hold-release', 'venue-quantity', 'venue-together', 'join-dup-lua', 'join-dup-watch', 'mixed'];

const log = (line: string) => console.log(line);

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  const cmd = process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : `node ${process.argv.slice(1).join(' ')}`;
  return [...env, cmd].join(' ');
}

/** Everything this run started, stopped in reverse order (also on Ctrl-C). */
const { cleanups, cleanUp } = cleanupsOnExit();

async function httpPart(profile: string[]): Promise<HttpResults> {
  const redis = await startRedis(['--appendonly', 'no']);
  cleanups.push(() => redis.cleanup());
  log(`  redis-server pid ${redis.pid} on port ${redis.port}`);
  const stats = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  cleanups.push(async () => void stats.disconnect());

  const profiled = (name: string) => profiling(profile.length > 0, name);

  // The AWS-compatible API on too (assign_queue_num beside the native join); production needs its signing key.
  const awsVwr = {
    AWS_VWR_COMPAT: 'true',
    AWS_VWR_ISSUER: 'https://bench.queuegate.invalid',
    AWS_VWR_SIGNING_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
  const service = await startService('service', { REDIS_URL: redis.url, ...awsVwr }, cleanups, profiled('service'));
  log(`  service (node dist/main.js) pid ${service.pid} on ${service.url}, log ${service.logFile}`);

  const startCeiling = async () => {
    const c = profiled('ceiling');
    const ceiling = new ServerProcess('ceiling', await freePort(), [...c.args, resolve(__dirname, 'ceiling-server.js')], {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: KEY_PREFIX,
      ...c.env,
    });
    await ceiling.start('/health');
    log(`  ceiling server pid ${ceiling.pid} on ${ceiling.url} (event ${EV.ceiling})`);
    return ceiling;
  };

  return runHttpScenarios({
    service,
    startCeiling,
    client: new Client(service.url),
    stats,
    shas: scriptShas(),
    profile,
    log,
  });
}

async function main(): Promise<void> {
  const started = new Date();
  if (!existsSync(SERVICE_MAIN)) throw new Error(`${SERVICE_MAIN} is missing: build first (npm run bench does)`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = machineInfo();
  const source = sourceInfo();
  const command = commandLine();
  const profile = (process.env.BENCH_PROFILE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  log(`queuegate bench — ${command}`);
  log(`  ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}`);
  log(`  load average ${machine.loadAverageAtStart.join(' / ')}; commit ${source.commit.slice(0, 12)}${source.uncommittedInSrcOrLua.length ? `, ${source.uncommittedInSrcOrLua.length} uncommitted change(s) in src/ or lua/` : ''}`);

  let http: HttpResults | undefined;
  let memory: MemoryAndAdmission | undefined;
  let shuffle: ShuffleResult | undefined;
  let venue: BigVenueResult | undefined;
  let sweep: SweepCallsResult | undefined;
  let durable: DurableResults | undefined;
  let seatMap: SeatMapResult | undefined;
  try {
    if (HTTP_SCENARIOS.some(wanted)) {
      log('▶ HTTP scenarios');
      http = await httpPart(profile);
      await cleanUp();
    }
    if (!settings.skipMemory && wanted('memory')) {
      memory = await runMemoryAndAdmission(log);
    }
    if (wanted('shuffle')) {
      log('▶ fair start: shuffling the pre-queue');
      shuffle = await runShuffle(settings.shuffleUsers, log);
    }
    if (wanted('venue')) {
      venue = await runBigVenue(log);
    }
    if (wanted('seatmap')) {
      seatMap = await runSeatMap(log);
      writeFileSync(join(RESULTS_DIR, 'seatmap-summary.json'), JSON.stringify(seatMap, null, 2) + '\n');
      writeFileSync(join(RESULTS_DIR, 'seatmap-summary.md'), seatMapMarkdown(seatMap, started.toISOString()) + '\n');
      log('  results: bench/results/seatmap-summary.{md,json}');
    }
    if (wanted('sweep')) {
      sweep = await runSweepCalls(log, cleanups);
      await cleanUp();
    }
    if (wanted('durable')) {
      durable = await runDurableConfirm(log, cleanups);
      await cleanUp();
    }
  } finally {
    await cleanUp();
  }

  const finished = new Date();
  const full = settings.only.length === 0 && !settings.skipMemory;
  const results: BenchResults = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    wallSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
    command,
    settings: { ...settings, profile },
    machine,
    source,
    notes: [
      'Shared machine: other engineers run test suites on it at the same time, so absolute numbers are noisy; compare the ratios measured within one run (the ceiling and the service run minutes apart at most) rather than numbers across runs.',
      `The load generator (autocannon, in the bench process), the server under test (a child process) and redis-server share ${machine.cores} cores; the "load gen" CPU column shows how busy the generator itself was.`,
      'The service runs as `node dist/main.js` with NODE_ENV=production and LOG_LEVEL=warn; the ceiling is bench/ceiling-server.ts. Every scenario has its own event; join scenarios use paused events, so admission does not run during them.',
      'Redis counts the commands a Lua script calls in INFO commandstats as well, so commandstats deltas measure Redis work, not round trips: round trips per request come from the MONITOR audit at concurrency 1.',
    ],
    http,
    memory,
    shuffle,
    venue,
    sweep,
    durable,
    seatMap,
    targets: evaluateTargets(http, memory, venue, shuffle, sweep),
  };
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const jsonFile = join(RESULTS_DIR, `${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify(results, null, 2) + '\n');
  const md = markdown(results);
  if (full || process.env.BENCH_WRITE_SUMMARY === '1') {
    writeFileSync(join(RESULTS_DIR, 'summary.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(RESULTS_DIR, 'summary.md'), md + '\n');
    log(`\nresults: ${jsonFile}, bench/results/summary.md, bench/results/summary.json`);
  } else {
    writeFileSync(join(RESULTS_DIR, `${stamp}.md`), md + '\n');
    log(`\npartial run (BENCH_ONLY / BENCH_SKIP_MEMORY): ${jsonFile} and ${stamp}.md; summary.* left as they were`);
  }
  log('');
  log(md.slice(md.indexOf('## Targets'), md.indexOf('## HTTP scenarios') > 0 ? md.indexOf('## HTTP scenarios') : undefined));
  log(`done in ${results.wallSeconds} s`);
}

main().catch(async (err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  await cleanUp();
  process.exit(1);
});
