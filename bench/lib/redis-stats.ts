import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { loadLuaScripts } from '../../src/redis/lua-loader';
import { LUA_DIR } from './config';

export interface CommandStat {
  calls: number;
  usec: number;
}

export type CommandStats = Record<string, CommandStat>;

/** INFO commandstats as { evalsha: { calls, usec }, ... }. */
export async function commandStats(redis: Redis): Promise<CommandStats> {
  const text = await redis.info('commandstats');
  const out: CommandStats = {};
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return out;
}

/** Redis server CPU seconds (user + sys, all threads). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  const get = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return get('used_cpu_user') + get('used_cpu_sys');
}

export function diffStats(after: CommandStats, before: CommandStats): CommandStats {
  const out: CommandStats = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name] ?? { calls: 0, usec: 0 };
    if (a.calls - b.calls > 0) out[name] = { calls: a.calls - b.calls, usec: a.usec - b.usec };
  }
  return out;
}

/** Commands the bench itself sends to read statistics: never counted. */
const OWN_COMMANDS = new Set(['info', 'config|resetstat', 'slowlog|get', 'slowlog|reset', 'client|setname', 'monitor']);

export interface RedisCallFigures {
  /** EVALSHA calls per request */
  evalshaPerRequest: number;
  /** EVAL calls per request (should be 0: scripts run by SHA) */
  evalPerRequest: number;
  /**
   * every command Redis executed per request, the ones called inside Lua
   * scripts included (Redis counts those in commandstats too)
   */
  commandsPerRequest: number;
  /** the same three, minus the background rate (admitter/sweeper ticks) measured while idle */
  net: { evalshaPerRequest: number; evalPerRequest: number; commandsPerRequest: number };
  /** Redis time per EVALSHA (µs, inner commands included) */
  usecPerEvalsha: number;
  /** top commands by calls, per request */
  perRequest: Record<string, number>;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Per-request figures from a commandstats delta; `background` is calls per second while idle. */
export function callFigures(delta: CommandStats, requests: number, seconds: number, background: CommandStats): RedisCallFigures {
  const calls = (name: string, stats: CommandStats) => stats[name]?.calls ?? 0;
  const counted = Object.entries(delta).filter(([name]) => !OWN_COMMANDS.has(name));
  const all = counted.reduce((sum, [, s]) => sum + s.calls, 0);
  const bgAll = Object.entries(background)
    .filter(([name]) => !OWN_COMMANDS.has(name))
    .reduce((sum, [, s]) => sum + s.calls, 0);
  const perRequest = Object.fromEntries(
    counted
      .sort((a, b) => b[1].calls - a[1].calls)
      .slice(0, 12)
      .map(([name, s]) => [name, round(s.calls / requests)]),
  );
  const evalsha = delta.evalsha ?? { calls: 0, usec: 0 };
  const net = (total: number, bgPerSecond: number) => round(Math.max(0, total - bgPerSecond * seconds) / requests);
  return {
    evalshaPerRequest: round(calls('evalsha', delta) / requests),
    evalPerRequest: round(calls('eval', delta) / requests),
    commandsPerRequest: round(all / requests),
    net: {
      evalshaPerRequest: net(calls('evalsha', delta), calls('evalsha', background)),
      evalPerRequest: net(calls('eval', delta), calls('eval', background)),
      commandsPerRequest: net(all, bgAll),
    },
    usecPerEvalsha: round(evalsha.calls ? evalsha.usec / evalsha.calls : NaN, 1),
    perRequest,
  };
}

/** SHA-1 of every script as the service loads it, by name (to name EVALSHA calls). */
export function scriptShas(): Map<string, string> {
  const bySha = new Map<string, string>();
  for (const s of loadLuaScripts(LUA_DIR)) bySha.set(createHash('sha1').update(s.lua).digest('hex'), s.name);
  return bySha;
}

export interface RoundTripAudit {
  requests: number;
  /** client→Redis round trips per request: a MULTI..EXEC block that ioredis sends in one write counts once */
  roundTripsPerRequest: number;
  /** commands the service sent per request (not counting those run inside scripts) */
  commandsPerRequest: number;
  /** commands the service sent, by name (EVALSHA by script name), per request */
  breakdown: Record<string, number>;
}

/**
 * Scripts the service runs on timers, not per request (queueHead: a replica's
 * snapshot refresh, per event, not per read; reclaimHold: only the sweeper's
 * lost-record check sends it, e.g. for a hold released between its look and
 * the EXISTS, which the script then finds not live and leaves alone).
 */
const BACKGROUND_SCRIPTS = new Set(['admit', 'sweep', 'queueHead', 'reclaimHold']);
/**
 * Plain reads the replicas' timers send, not requests: the sweeper's look for
 * live holds whose record is gone (ZRANGE of the live-hold index, then EXISTS
 * of each record: src/seat/seat.repository.ts reclaimLostHolds) and the
 * once-a-second event look (HMGET starting with 'capacity': EventActivity).
 */
const backgroundRead = (name: string, args: string[]): boolean =>
  (name === 'zrange' && String(args[1]).endsWith(':holds')) ||
  (name === 'exists' && String(args[1]).includes(':hold:')) ||
  (name === 'hmget' && String(args[2]) === 'capacity');
/** Commands without keys that the WATCH/MULTI path sends as part of a request. */
const KEYLESS = new Set(['time', 'multi', 'exec', 'discard', 'unwatch']);

/**
 * Counts the commands the service sends to Redis for `requests` requests, with
 * MONITOR: script-internal calls (source "lua"), timer scripts (admit, sweep,
 * queueHead), the timers' plain reads and commands for other keys are left out. Run at low concurrency only:
 * MONITOR costs Redis a lot.
 */
export async function auditRoundTrips(
  redis: Redis,
  eventId: string,
  shas: Map<string, string>,
  requests: number,
  work: () => Promise<void>,
): Promise<RoundTripAudit> {
  const tag = `{${eventId}}`;
  const monitor = await redis.monitor();
  // Lines still arriving while the connection closes are parsed as replies to
  // no command: ioredis emits "Command queue state error" then (with no
  // listener, an uncaught error that ended a whole bench run). Errors before
  // the end of the audit still fail it.
  let stopping = false;
  let failure: Error | undefined;
  monitor.on('error', (err: Error) => {
    if (!stopping) failure ??= err;
  });
  const bySource = new Map<string, string[]>();
  const breakdown: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const name = String(args[0]).toLowerCase();
    let label = name;
    if (name === 'evalsha') {
      const script = shas.get(String(args[1])) ?? 'unknown';
      if (BACKGROUND_SCRIPTS.has(script)) return;
      label = `evalsha:${script}`;
    }
    if (backgroundRead(name, args)) return;
    const mine = KEYLESS.has(name) || args.slice(1).some((a) => String(a).includes(tag));
    if (!mine) return;
    breakdown[label] = (breakdown[label] ?? 0) + 1;
    const list = bySource.get(source) ?? [];
    list.push(name);
    bySource.set(source, list);
  });
  // Start counting only after a quiet 300 ms: nothing left over from earlier load.
  for (let i = 0; i < 20; i += 1) {
    bySource.clear();
    for (const k of Object.keys(breakdown)) delete breakdown[k];
    await new Promise((r) => setTimeout(r, 300));
    if (bySource.size === 0) break;
  }
  bySource.clear();
  for (const k of Object.keys(breakdown)) delete breakdown[k];
  try {
    await work();
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    stopping = true;
    monitor.disconnect();
  }
  if (failure) throw failure;
  let commands = 0;
  let roundTrips = 0;
  for (const list of bySource.values()) {
    let inBlock = false;
    for (const name of list) {
      commands += 1;
      if (inBlock) {
        if (name === 'exec' || name === 'discard') inBlock = false;
        continue;
      }
      if (name === 'multi') inBlock = true;
      roundTrips += 1;
    }
  }
  const per = (n: number) => round(n / requests);
  return {
    requests,
    roundTripsPerRequest: per(roundTrips),
    commandsPerRequest: per(commands),
    breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, per(v)])),
  };
}

/**
 * Redis time of one script call (µs) from the commandstats delta, with the
 * slowlog off: SLOWLOG would also log, and charge to the script, every
 * command the script calls. Resets INFO's stats.
 */
export async function timedEvalsha(redis: Redis, call: () => Promise<unknown>): Promise<[number, unknown]> {
  await redis.config('RESETSTAT');
  const reply = await call();
  const usec = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await redis.info('commandstats'))?.[1];
  if (usec === undefined) throw new Error('no evalsha in INFO commandstats');
  return [Number(usec), reply];
}
