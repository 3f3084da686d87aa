import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { loadLuaScripts } from '../../src/redis/lua-loader';
import type { EventKeys } from '../../src/redis/keys';
import type { HttpResult } from './app-harness';
import type { Topology } from './topology';

/**
 * Small look-ups the e2e suites share: what Redis really holds and did, next
 * to what the HTTP answers claim.
 */

/** Asserts an error answer: its status, its code, and the CONTRACT body shape. */
export function expectError(r: HttpResult, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.body).toEqual(expect.objectContaining({ statusCode: status, code, message: expect.any(String) }));
  expect(r.body.message.length).toBeGreaterThan(0);
}

/** The sequence part of an 's<seq>.<nonce+mac>' ticket (or a post-seal 's<seq>p<pn>.<nonce+mac>'). */
export function ticketSeq(ticket: string): number {
  const match = /^s([1-9][0-9]*)(?:p[1-9][0-9]*)?\.[A-Za-z0-9_-]{27}$/.exec(ticket);
  if (!match) throw new Error(`not a ticket: ${ticket}`);
  return Number(match[1]);
}

/** How many times `command` ran, summed over every master (INFO commandstats). */
export async function commandCalls(topology: Topology, command: string): Promise<number> {
  const masters = await topology.masters();
  try {
    let total = 0;
    for (const node of masters) {
      const info = await node.info('commandstats');
      const match = new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, 'm').exec(info);
      total += match ? Number(match[1]) : 0;
    }
    return total;
  } finally {
    masters.forEach((m) => m.disconnect());
  }
}

/** SHA-1 of a script as the registry loads it (includes inlined). */
export function scriptSha(name: string, luaDir?: string): string {
  const script = loadLuaScripts(luaDir).find((s) => s.name === name);
  if (!script) throw new Error(`no Lua script named ${name}`);
  return createHash('sha1').update(script.lua).digest('hex');
}

/**
 * Keys the service writes on its own clock, never for a request: the sweeper's
 * claim of the lost-record check (lua/seat/claimRecordCheck-2.lua), set a few
 * times a second while an event has live holds. Every digest that shows "a
 * refused request changed nothing" leaves them out: they say nothing about it.
 */
export const isHousekeepingKey = (key: string): boolean => key.endsWith(':recordcheck');

/**
 * Fields of an event's meta hash the admitter rewrites on its own clock: the
 * admission bucket (`tokens`/`tokensAt`) and the observed-rate window, which
 * moves every 5 s whether or not anyone is admitted. Not changes a request made,
 * so event digests leave them out.
 */
export const ADMITTER_CLOCK_FIELDS = ['tokens', 'tokensAt', 'admWin', 'admHist', 'observedRate'];

/** An event's meta hash as a digest sees it: sorted fields, the admitter's clock fields left out. */
export function metaForDigest(meta: Record<string, string>): string {
  const kept = { ...meta };
  for (const field of ADMITTER_CLOCK_FIELDS) delete kept[field];
  return JSON.stringify(Object.entries(kept).sort());
}

/**
 * A digest of every key of one event (they share one hash tag, so this also
 * works through a cluster client, unlike KEYS). Hold and idempotency records
 * are left out: the queue suites create none; and housekeeping keys and the
 * admitter's clock fields (ADMITTER_CLOCK_FIELDS).
 */
export async function eventDigest(client: Redis | Cluster, keys: EventKeys): Promise<string> {
  const names = Object.entries(keys)
    .filter(([role]) => role !== 'holdPrefix' && role !== 'idemPrefix')
    .map(([, key]) => key as string)
    .filter((key) => !isHousekeepingKey(key))
    .sort();
  const hash = createHash('sha256');
  for (const key of names) {
    const value = key === keys.meta ? Buffer.from(metaForDigest(await client.hgetall(key))) : await client.dumpBuffer(key);
    hash.update(key).update('\0').update(value ?? Buffer.alloc(0)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * What a shared, loaded 2-core machine may add to a sub-second bound of the
 * contract (1 s hold expiry, 1 s flag propagation, timeout + 200 ms): the
 * service under test, the test and Jest share one event loop and two busy
 * cores, so a timer of the service can fire this much late. A bound is
 * asserted as bound + this margin, and measured so that the test's own delays
 * do not count (see `lastMissAt`, and HttpResult.serverMs).
 */
export const BUSY_MACHINE_MARGIN_MS = 300;

/**
 * Calls `probe` every `intervalMs` until `done` holds; returns the last value
 * and how long it took. Throws with the last value after `timeoutMs`.
 * `lastMissAt` is when (performance.now()) the last probe that did not see
 * `done` started: the condition was certainly not yet met at that moment, so
 * "met within N ms of t" is `lastMissAt - t <= N`, however slow each probe was.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<{ value: T; elapsedMs: number; lastMissAt?: number }> {
  const started = performance.now();
  let lastMissAt: number | undefined;
  for (;;) {
    const probedAt = performance.now();
    const value = await probe();
    const elapsedMs = performance.now() - started;
    if (done(value)) return { value, elapsedMs, lastMissAt };
    lastMissAt = probedAt;
    if (elapsedMs > timeoutMs) {
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sample's value in Prometheus text: the first line of `name` carrying every given label; 0 when none does. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
