/**
 * The price of a durable confirm: confirm latency with REDIS_WAIT_REPLICAS 0
 * and 1, against one redis-server master with one replica (both local).
 *
 * Two service children run side by side on the same Redis, one per setting,
 * so both pay for the replication stream and differ only in the WAIT. Each
 * autocannon connection loops: hold {quantity: 1}, confirm it. Only the
 * confirm's time is kept (from just before it is written to its answer); the
 * slices alternate between the two services, as the HTTP scenarios do, so
 * other load on a shared machine falls on both alike.
 */
import { performance } from 'node:perf_hooks';
import { startRedis, startReplica } from '../test/support/redis-harness';
import { admittedUsers, afterHoldStep, holdStep } from './http-scenarios';
import { settings } from './lib/config';
import { Client } from './lib/http';
import { Ctx, Histogram, Percentiles, runLoad, Step } from './lib/load';
import { Cleanup, startService } from './lib/service';

/**
 * Buyers per setting: 20 seats each (maxSeatsPerUser), so 100,000 confirms (the capacity, the most an event may
 * have) before anyone hits the limit. 30,000 ran out on a quiet machine (~2,800 cycles/s): the holds after that
 * were refused and their confirms answered 404, which is not the latency measured here.
 */
const USERS = 5000;
const CAPACITY = 100_000;
const WAIT_TIMEOUT_MS = 500;

export interface DurableRun {
  waitReplicas: number;
  /** hold + confirm cycles per second over the measured slices */
  cyclesPerSec: number;
  confirms: number;
  confirmStatuses: Record<string, number>;
  /** confirm answers only (ms) */
  confirmMs: Percentiles;
  holdMs: Percentiles;
  /** server CPU per hold + confirm cycle (µs) */
  serverUsPerCycle: number;
  /** the WAITs themselves, from the service's own metrics (whole run, warm-up included): count and mean ms */
  waits: { acked: number; timeout: number; meanMs: number };
}

export interface DurableResults {
  connections: number;
  seconds: number;
  waitTimeoutMs: number;
  redis: string;
  runs: DurableRun[];
}

export async function runDurableConfirm(log: (line: string) => void, cleanups: Cleanup[]): Promise<DurableResults> {
  log('▶ durable confirm: REDIS_WAIT_REPLICAS 0 vs 1 (master + 1 replica)');
  const master = await startRedis(['--appendonly', 'no']);
  cleanups.push(() => master.cleanup());
  const replica = await startReplica(master);
  cleanups.push(() => replica.cleanup());
  log(`  redis-server master pid ${master.pid} on ${master.port}, replica pid ${replica.pid} on ${replica.port}`);

  const setUp = async (waitReplicas: number) => {
    const service = await startService(
      `service-wait${waitReplicas}`,
      {
        REDIS_URL: master.url,
        REDIS_WAIT_REPLICAS: String(waitReplicas),
        REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
        // Generous for the set-up (admitting 5,000 buyers) on a busy shared machine.
        REDIS_COMMAND_TIMEOUT_MS: '5000',
      },
      cleanups,
    );
    const client = new Client(service.url);
    const eventId = `bench-durable-${waitReplicas}`;
    await client.adminExpect(201, 'POST', '/v1/events', {
      eventId,
      capacity: CAPACITY,
      maxSeatsPerUser: 20,
      holdTtlSeconds: 60,
      admission: { ratePerSecond: 100_000, maxActive: 1_000_000, sessionTtlSeconds: 3600 },
    });
    const users = await admittedUsers(client, eventId, `durable${waitReplicas}`, USERS);
    log(`  service REDIS_WAIT_REPLICAS=${waitReplicas} pid ${service.pid} on ${service.url}; ${USERS} buyers admitted`);
    return { waitReplicas, service, eventId, users, confirm: new Histogram(), hold: new Histogram(), statuses: {} as Record<string, number>, confirms: 0, cycles: 0, seconds: 0, cpu: 0 };
  };
  // One after the other: set-up on a busy machine is slow enough without competing with itself.
  const runs: Awaited<ReturnType<typeof setUp>>[] = [];
  for (const waitReplicas of [0, 1]) runs.push(await setUp(waitReplicas));

  const steps = (r: (typeof runs)[number], measured: boolean) => (): Step[] => {
    const hold = holdStep(r.eventId, r.users);
    const confirm = afterHoldStep(r.eventId, 'confirm');
    return [
      {
        ...hold,
        setup: (req, ctx: Ctx) => {
          hold.setup!(req, ctx);
          ctx.sentAt = performance.now();
        },
        onResponse: (status, body, ctx: Ctx) => {
          hold.onResponse!(status, body, ctx);
          if (measured) r.hold.record(performance.now() - ctx.sentAt);
        },
      },
      {
        ...confirm,
        setup: (req, ctx: Ctx) => {
          confirm.setup!(req, ctx);
          ctx.sentAt = performance.now();
        },
        onResponse: (status, _body, ctx: Ctx) => {
          if (!measured) return;
          r.statuses[status] = (r.statuses[status] ?? 0) + 1;
          r.confirms += 1;
          r.confirm.record(performance.now() - ctx.sentAt);
        },
      },
    ];
  };

  for (const r of runs) {
    if (settings.warmup > 0) await runLoad({ name: `durable-${r.waitReplicas}`, url: r.service.url, connections: settings.connections, steps: steps(r, false) }, settings.warmup, 'warm-up');
  }
  const sliceSeconds = Math.max(1, Math.round(settings.duration / settings.slices));
  for (let i = 0; i < settings.slices; i += 1) {
    for (const r of runs) {
      const cpu0 = r.service.cpuSeconds();
      const t0 = performance.now();
      const slice = await runLoad(
        { name: `durable-${r.waitReplicas}`, url: r.service.url, connections: settings.connections, steps: steps(r, true) },
        sliceSeconds,
        `slice ${i + 1}/${settings.slices}`,
      );
      r.seconds += (performance.now() - t0) / 1000;
      r.cpu += r.service.cpuSeconds() - cpu0;
      r.cycles += slice.requests / 2;
    }
  }

  const waits = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ').pop() ?? 0);
    const acked = value('queuegate_redis_wait_total{outcome="acked"}');
    const timeout = value('queuegate_redis_wait_total{outcome="timeout"}');
    const sum = value('queuegate_redis_wait_duration_seconds_sum{outcome="acked"}') + value('queuegate_redis_wait_duration_seconds_sum{outcome="timeout"}');
    return { acked, timeout, meanMs: acked + timeout > 0 ? Math.round((sum / (acked + timeout)) * 1e5) / 100 : 0 };
  };
  const waitStats = await Promise.all(runs.map((r) => waits(r.service.url)));

  const results: DurableResults = {
    connections: settings.connections,
    seconds: sliceSeconds * settings.slices,
    waitTimeoutMs: WAIT_TIMEOUT_MS,
    redis: 'one local redis-server master with one local replica; both services use it',
    runs: runs.map((r, i) => ({
      waits: waitStats[i],
      waitReplicas: r.waitReplicas,
      cyclesPerSec: Math.round(r.cycles / r.seconds),
      confirms: r.confirms,
      confirmStatuses: r.statuses,
      confirmMs: r.confirm.percentiles(),
      holdMs: r.hold.percentiles(),
      serverUsPerCycle: Math.round((r.cpu / r.cycles) * 1e6),
    })),
  };
  for (const run of results.runs) {
    log(
      `  REDIS_WAIT_REPLICAS=${run.waitReplicas}: ${run.cyclesPerSec} hold+confirm/s; confirm p50 ${run.confirmMs.p50} ms, p99 ${run.confirmMs.p99} ms ` +
        `(hold p50 ${run.holdMs.p50}, p99 ${run.holdMs.p99}); confirms ${JSON.stringify(run.confirmStatuses)}; WAITs ${JSON.stringify(run.waits)}`,
    );
  }
  return results;
}

/** The bench summary's section for these runs. */
export function durableMarkdown(d: DurableResults): string[] {
  const out = ['## Durable confirm: REDIS_WAIT_REPLICAS 0 vs 1', ''];
  out.push(
    `Each of ${d.connections} connections loops hold {quantity: 1} then confirm, ${d.seconds} s per setting in alternating slices; ${d.redis}; ` +
      `REDIS_WAIT_TIMEOUT_MS ${d.waitTimeoutMs}, REDIS_COMMAND_TIMEOUT_MS 5000 (for the set-up). Confirm latency is the confirm request alone (ms). Shared machine: compare the two rows, not runs.`,
    '',
  );
  out.push('| REDIS_WAIT_REPLICAS | hold+confirm/s | confirm p50 | p90 | p99 | p99.9 | confirm statuses | hold p50 | hold p99 | server CPU µs/cycle | WAITs acked / timed out, mean ms |');
  out.push('|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|');
  for (const r of d.runs) {
    const c = r.confirmMs;
    out.push(
      `| ${r.waitReplicas} | ${r.cyclesPerSec} | ${c.p50} | ${c.p90} | ${c.p99} | ${c.p99_9} | ${Object.entries(r.confirmStatuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${r.holdMs.p50} | ${r.holdMs.p99} | ${r.serverUsPerCycle} | ${r.waits.acked} / ${r.waits.timeout}, ${r.waits.meanMs} |`,
    );
  }
  out.push('');
  return out;
}
