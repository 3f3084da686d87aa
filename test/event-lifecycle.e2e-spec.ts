import { EventActivity } from '../src/event/event-activity';
import { FeatureFlagService } from '../src/feature-flag/feature-flag.service';
import { KeyBuilder } from '../src/redis/keys';
import { ScriptRegistry } from '../src/redis/script-registry';
import { joinArgs, joinKeys, queueKeys } from '../src/queue/queue.repository';
import { Sweeper } from '../src/seat/sweeper';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit } from './support/flows';
import { commandCalls, eventDigest, pollUntil } from './support/inspect';
import { admitAll, counters, expectError, eventView, pool, sleep, tally } from './support/seat-flows';
import { startTopology, Topology, TOPOLOGIES, withClient } from './support/topology';

/**
 * The end of an event (CONTRACT v1.1): `endsAt` closes it, `DELETE` removes
 * it. Two replicas on one Redis. After either, once nothing is live, no
 * replica spends Redis work on the event: counted per event on each replica
 * (every script run it makes) and in total with INFO commandstats.
 */
describe.each(TOPOLOGIES)('event lifecycle on %s Redis', (name) => {
  let topology: Topology;
  let apps: TestApp[];
  /** script runs per event id, over both replicas */
  const runs = new Map<string, number>();

  beforeAll(async () => {
    topology = await startTopology(name);
    apps = [await startApp(topology.env), await startApp(topology.env)];
    for (const app of apps) {
      app.app.get(ScriptRegistry).observe({
        onReply: (_script, keys) => count(keys),
        onError: (_script, keys) => count(keys),
      });
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all((apps ?? []).map((a) => a.close()));
    await topology?.stop();
  });

  const count = (keys: string[]) => {
    const id = /\{([^}]*)\}/.exec(keys[0] ?? '')?.[1];
    if (id) runs.set(id, (runs.get(id) ?? 0) + 1);
  };
  const a = () => apps[0];
  const fast = { ratePerSecond: 100_000, maxActive: 1_000_000 };
  const keysOf = (eventId: string) => apps[0].app.get(KeyBuilder).event(eventId);
  const join = (app: TestApp, eventId: string, userId: string) => app.request('POST', `/v1/events/${eventId}/queue`, { userId });
  const hold = (app: TestApp, eventId: string, body: unknown, auth: Record<string, string>, key?: string) =>
    app.request('POST', `/v1/events/${eventId}/holds`, body, { ...auth, ...(key ? { 'idempotency-key': key } : {}) });

  /** Every key of the event, by SCAN on every master. */
  async function keysOfEvent(eventId: string): Promise<string[]> {
    const masters = await topology.masters();
    try {
      const found: string[] = [];
      for (const node of masters) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `*{${eventId}}*`, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
      }
      return found.sort();
    } finally {
      masters.forEach((m) => m.disconnect());
    }
  }

  /** Script runs (EVALSHA, or EVAL: ioredis's first call of a script on a connection) over every master. */
  const scriptCalls = async () => (await commandCalls(topology, 'evalsha')) + (await commandCalls(topology, 'eval'));

  /** Script runs for one event, and Redis-wide script and HMGET calls, over `ms`. */
  async function workOver(eventId: string, ms: number) {
    const before = { runs: runs.get(eventId) ?? 0, scripts: await scriptCalls(), hmget: await commandCalls(topology, 'hmget') };
    await sleep(ms);
    return {
      runs: (runs.get(eventId) ?? 0) - before.runs,
      scripts: (await scriptCalls()) - before.scripts,
      hmget: (await commandCalls(topology, 'hmget')) - before.hmget,
    };
  }

  const served = (eventId: string) => apps.map((app) => app.app.get(EventActivity).servedIds().includes(eventId));

  it('endsAt: open until then, closed after (joins 410 QUEUE_CLOSED, admit CLOSED); PATCH moves it, null removes it, and the replicas follow', async () => {
    const eventId = uniqueId('ends');
    const endsAt = new Date(Date.now() + 1500).toISOString();
    const created = await a().createEvent(eventId, { capacity: 5, endsAt, admission: fast });
    expect(created).toMatchObject({ status: 'open', config: { endsAt } });
    await joinAndAdmit(a(), eventId, 'early');

    await sleep(Date.parse(endsAt) - Date.now() + 50);
    expect(await eventView(apps[1], eventId)).toMatchObject({ status: 'closed', config: { endsAt } });
    expectError(await join(apps[0], eventId, 'late'), 410, 'QUEUE_CLOSED');
    expectError(await join(apps[1], eventId, 'late'), 410, 'QUEUE_CLOSED');
    // the WATCH/MULTI path refuses too
    expect((await a().admin('PUT', '/v1/flags/luaAtomic', { enabled: false })).status).toBe(200);
    try {
      await pollUntil(async () => apps[1].app.get(FeatureFlagService).isEnabled('luaAtomic'), (on) => !on, { timeoutMs: 5000 });
      expectError(await join(apps[1], eventId, 'late-watch'), 410, 'QUEUE_CLOSED');
    } finally {
      await a().admin('DELETE', '/v1/flags/luaAtomic');
    }
    const admit = await a().app.get(ScriptRegistry).run('admit', queueKeys(keysOf(eventId)), [100, 1000]);
    expect(admit[0]).toBe('CLOSED');
    expect(await eventView(a(), eventId)).toMatchObject({ waiting: 0 });

    // PATCH the end away: open again, and a join is admitted (also by the replica that did not take it).
    const reopened = await apps[1].admin('PATCH', `/v1/events/${eventId}`, { endsAt: null });
    expect(reopened.body).toMatchObject({ status: 'open', config: { endsAt: null } });
    await pollUntil(async () => served(eventId), (s) => s.every(Boolean), { timeoutMs: 5000 });
    await joinAndAdmit(apps[1], eventId, 'after');

    // A past endsAt closes at once; one in the future reopens.
    const past = new Date(Date.now() - 60_000).toISOString();
    expect((await a().admin('PATCH', `/v1/events/${eventId}`, { endsAt: past })).body).toMatchObject({ status: 'closed', config: { endsAt: past } });
    expectError(await join(a(), eventId, 'late-2'), 410, 'QUEUE_CLOSED');
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await a().admin('PATCH', `/v1/events/${eventId}`, { endsAt: future })).body).toMatchObject({ status: 'open', config: { endsAt: future } });

    // paused is its own status; closed wins over it
    expect((await a().admin('PATCH', `/v1/events/${eventId}`, { paused: true })).body.status).toBe('paused');
    expect((await a().admin('PATCH', `/v1/events/${eventId}`, { endsAt: past })).body.status).toBe('closed');

    // bad instants are 400 VALIDATION and change nothing
    const before = await withClient(topology, (c) => eventDigest(c, keysOf(eventId)));
    for (const bad of ['2026-06-01T20:00:00', '2026-06-01', 'tomorrow', 12, '0000-01-01T00:00:00Z']) {
      expectError(await a().admin('PATCH', `/v1/events/${eventId}`, { endsAt: bad }), 400, 'VALIDATION');
      expectError(await a().admin('POST', '/v1/events', { eventId: uniqueId('bad-end'), capacity: 1, endsAt: bad }), 400, 'VALIDATION');
    }
    expect(await withClient(topology, (c) => eventDigest(c, keysOf(eventId)))).toBe(before);
    expect((await a().admin('DELETE', `/v1/events/${eventId}?force=true`)).status).toBe(204);
  });

  it('a closed event: its holds still expire within 1 s, then, with nothing live, it costs no Redis work on any replica', async () => {
    const eventId = uniqueId('closing');
    const endsAt = Date.now() + 2000;
    await a().createEvent(eventId, {
      capacity: 10,
      endsAt: new Date(endsAt).toISOString(),
      holdTtlSeconds: 3,
      admission: { ...fast, sessionTtlSeconds: 3 },
    });
    const [alice] = await admitAll(a(), eventId, ['alice']);
    // The hold goes through replica 0, whose sweeper is stopped: replica 1 must find it by itself.
    await a().app.get(Sweeper).stop();
    try {
      const held = await hold(a(), eventId, { quantity: 2 }, alice.auth);
      expect(held.status).toBe(201);
      await sleep(endsAt - Date.now() + 50);
      expectError(await join(apps[1], eventId, 'bob'), 410, 'QUEUE_CLOSED');
      const expiresAt = Date.parse(held.body.expiresAt);
      const { elapsedMs } = await pollUntil(() => counters(apps[1], eventId), (c) => c.held === 0, { timeoutMs: 10_000, intervalMs: 20 });
      expect(Date.now() - expiresAt).toBeLessThan(1000 + 200); // the poll's own answer time on top
      expect(elapsedMs).toBeGreaterThan(0);
    } finally {
      a().app.get(Sweeper).onApplicationBootstrap();
    }
    // Sessions end 3 s after admission; a few seconds later both replicas are done with the event.
    await pollUntil(async () => served(eventId), (s) => s.every((x) => !x), { timeoutMs: 20_000, intervalMs: 200 });
    const work = await workOver(eventId, 3000);
    console.log(`[${name}] closed event, nothing live, 3 s: ${JSON.stringify(work)}`);
    expect(work).toEqual({ runs: 0, scripts: 0, hmget: 0 });
    expect(await eventView(a(), eventId)).toMatchObject({ status: 'closed', held: 0, available: 10 });
    expect((await a().admin('DELETE', `/v1/events/${eventId}`)).status).toBe(204);
  });

  it('DELETE: 409 EVENT_ACTIVE while sessions or holds are live; with force every key goes, replicas stop, 404 after; the id can be used again', async () => {
    const eventId = uniqueId('del');
    // 150 users x 4 holds with Idempotency-Keys, one bought: over a thousand hold and idempotency keys,
    // so the deletion's batches (500 keys per UNLINK) are used several times.
    await a().createEvent(eventId, { capacity: 600, maxSeatsPerUser: 4, admission: fast });
    const users = await admitAll(a(), eventId, Array.from({ length: 150 }, (_, i) => `u${i}`));
    const holds = await pool(users, 20, async (u, i) =>
      Promise.all([0, 1, 2, 3].map((j) => hold(apps[i % 2], eventId, { quantity: 1 }, u.auth, `hold-key-${i}-${j}-padding`))),
    );
    expect(tally(holds.flat())).toEqual({ 201: 600 });
    const bought = await apps[1].request('POST', `/v1/events/${eventId}/holds/${holds[0][0].body.holdId}/confirm`, {}, { ...users[0].auth, 'idempotency-key': 'confirm-key-0-padding' });
    expect(bought.status).toBe(201);
    await a().admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    for (let i = 0; i < 5; i += 1) expect((await join(apps[i % 2], eventId, `w${i}`)).status).toBe(202);
    expect(await eventView(a(), eventId)).toMatchObject({ waiting: 5, active: 150, held: 599, sold: 1 });
    const keysBefore = await keysOfEvent(eventId);
    expect(keysBefore.length).toBeGreaterThan(1200);

    expectError(await a().request('DELETE', `/v1/events/${eventId}`), 401, 'UNAUTHORIZED');
    expectError(await a().admin('DELETE', `/v1/events/${eventId}?force=yes`), 400, 'VALIDATION');
    const digest = await withClient(topology, (c) => eventDigest(c, keysOf(eventId)));
    const refused = await a().admin('DELETE', `/v1/events/${eventId}`);
    expectError(refused, 409, 'EVENT_ACTIVE');
    expect(refused.body).toMatchObject({ activeSessions: 150, liveHolds: 600 - 1 });
    expect(await withClient(topology, (c) => eventDigest(c, keysOf(eventId)))).toBe(digest);

    const deleted = await apps[1].admin('DELETE', `/v1/events/${eventId}?force=true`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect(await keysOfEvent(eventId)).toEqual([]);
    expect(await withClient(topology, (c) => c.zscore(apps[0].app.get(KeyBuilder).eventRegistry, eventId))).toBeNull();

    expectError(await a().request('GET', `/v1/events/${eventId}`), 404, 'EVENT_NOT_FOUND');
    expectError(await a().admin('DELETE', `/v1/events/${eventId}?force=true`), 404, 'EVENT_NOT_FOUND');
    expectError(await join(a(), eventId, 'late'), 404, 'EVENT_NOT_FOUND');
    expectError(await hold(a(), eventId, { quantity: 1 }, users[1].auth), 404, 'EVENT_NOT_FOUND');
    expectError(await a().request('POST', `/v1/events/${eventId}/holds/${holds[1][0].body.holdId}/confirm`, {}, users[1].auth), 404, 'EVENT_NOT_FOUND');
    expectError(await a().request('DELETE', `/v1/events/${eventId}/holds/${holds[2][0].body.holdId}`, undefined, users[2].auth), 404, 'EVENT_NOT_FOUND');
    expect(await keysOfEvent(eventId)).toEqual([]);

    // Both replicas stop: no script for the event, and (no other event here being busy) no script or probe at all.
    await sleep(1500);
    const work = await workOver(eventId, 3000);
    console.log(`[${name}] deleted event, 3 s: ${JSON.stringify(work)}`);
    expect(work).toEqual({ runs: 0, scripts: 0, hmget: 0 });

    // The id is free again: a new event, nothing of the old one.
    const again = await a().createEvent(eventId, { capacity: 2, queue: 'zset' });
    expect(again).toMatchObject({ capacity: 2, available: 2, held: 0, sold: 0, waiting: 0, active: 0, status: 'open', queue: 'zset' });
    await joinAndAdmit(apps[1], eventId, 'fresh');
    expect((await a().admin('DELETE', `/v1/events/${eventId}`)).status).toBe(409);
  });

  it('DELETE while joins and holds keep coming: every answer is a success or EVENT_NOT_FOUND, and no key is left', async () => {
    const eventId = uniqueId('del-race');
    await a().createEvent(eventId, { capacity: 400, maxSeatsPerUser: 4, admission: fast });
    const users = await admitAll(a(), eventId, Array.from({ length: 60 }, (_, i) => `h${i}`));
    let running = true;
    const traffic = Array.from({ length: 8 }, async (_, lane) => {
      const answers: string[] = [];
      for (let i = 0; running; i += 1) {
        const app = apps[(lane + i) % 2];
        const r =
          lane % 2 === 0
            ? await join(app, eventId, `j${lane}-${i}`)
            : await hold(app, eventId, { quantity: 1 }, users[(lane * 7 + i) % users.length].auth, `race-key-${lane}-${i}-pad`);
        answers.push(r.status < 300 ? String(r.status) : `${r.status} ${r.body?.code}`);
      }
      return answers;
    });
    await sleep(300);
    const deleted = await apps[(Date.now() & 1) as 0 | 1].admin('DELETE', `/v1/events/${eventId}?force=true`);
    await sleep(300);
    running = false;
    const answers = (await Promise.all(traffic)).flat();
    expect(deleted.status).toBe(204);
    const kinds = new Set(answers);
    for (const k of kinds) expect(['202', '201', '404 EVENT_NOT_FOUND', '409 LIMIT_EXCEEDED', '409 SOLD_OUT']).toContain(k);
    expect(kinds.has('404 EVENT_NOT_FOUND')).toBe(true);
    expect(answers.some((k) => k === '202' || k === '201')).toBe(true);
    expect(await keysOfEvent(eventId)).toEqual([]);
  });

  it('a delete cut short after its first step: the id stays taken (create 409 EVENT_EXISTS, every script 404) until a second DELETE finishes it', async () => {
    const eventId = uniqueId('del-half');
    await a().createEvent(eventId, { capacity: 3 });
    const [u] = await admitAll(a(), eventId, ['u']);
    const k = keysOf(eventId);
    const scripts = a().app.get(ScriptRegistry);
    expect(await scripts.run('deleteEvent', [k.meta, k.seatIndex, k.active, k.holds], [0])).toEqual(['EVENT_ACTIVE', 1, 0]);
    expect(await scripts.run('deleteEvent', [k.meta, k.seatIndex, k.active, k.holds], [1])).toEqual(['OK']);
    // Only the first step ran (as if the service died right after it).
    expectError(await a().admin('POST', '/v1/events', { eventId, capacity: 9 }), 409, 'EVENT_EXISTS');
    expectError(await a().request('GET', `/v1/events/${eventId}`), 404, 'EVENT_NOT_FOUND');
    expectError(await hold(a(), eventId, { quantity: 1 }, u.auth), 404, 'EVENT_NOT_FOUND');
    expectError(await join(a(), eventId, 'v'), 404, 'EVENT_NOT_FOUND');
    expect(await scripts.run('deleteEvent', [k.meta, k.seatIndex, k.active, k.holds], [0])).toEqual(['OK']);
    expect((await a().admin('DELETE', `/v1/events/${eventId}`)).status).toBe(204);
    expect(await keysOfEvent(eventId)).toEqual([]);
    expect(await scripts.run('deleteEvent', [k.meta, k.seatIndex, k.active, k.holds], [0])).toEqual(['EVENT_NOT_FOUND']);
    await expect(scripts.run('deleteEvent', [k.meta, k.seatIndex, k.active, k.holds], [2])).rejects.toThrow(/bad argument force/);
    await expect(scripts.run('createEvent', [k.meta, k.creating], ['t1', 'streams', 300, 4, 50, 1000, 600, 1, 'soon', 0])).rejects.toThrow(/bad argument endsAt/);
    expect(await keysOfEvent(eventId)).toEqual([]);
    expect((await a().admin('POST', '/v1/events', { eventId, capacity: 9 })).status).toBe(201);
    expect((await a().admin('DELETE', `/v1/events/${eventId}`)).status).toBe(204);
  });

  it('DELETE of a big event runs only short Redis calls: UNLINK (freed off the main thread) in batches of at most 500 keys and COUNT-bounded SCAN; DEL only of the small event hash', async () => {
    const eventId = uniqueId('del-big');
    const WAITING = 10_000;
    await a().createEvent(eventId, { capacity: 10_000, admission: fast });
    await a().admin('PATCH', `/v1/events/${eventId}`, { paused: true });
    const scripts = a().app.get(ScriptRegistry);
    const k = joinKeys(keysOf(eventId));
    for (let i = 0; i < WAITING; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => scripts.run('join', k, [`big${i + j}`, 'A'.repeat(22), '', '', 100, ...joinArgs({ answerExisting: false, nonce: j + 1 })])));
    }
    expect(await eventView(a(), eventId)).toMatchObject({ waiting: WAITING, available: 10_000 });

    const masters = await topology.masters();
    try {
      for (const m of masters) {
        await m.config('SET', 'slowlog-log-slower-than', '0');
        await m.config('SET', 'slowlog-max-len', '100000');
        await m.slowlog('RESET');
      }
      expect((await a().admin('DELETE', `/v1/events/${eventId}?force=true`)).status).toBe(204);
      const entries: { command: string; args: string[]; micros: number }[] = [];
      for (const m of masters) {
        for (const [, , micros, args] of (await m.slowlog('GET', -1)) as [number, number, number, string[]][]) {
          if (args.some((x) => x.includes(`{${eventId}}`))) entries.push({ command: args[0].toLowerCase(), args, micros });
        }
      }
      const slowest = new Map<string, number>();
      for (const e of entries) slowest.set(e.command, Math.max(slowest.get(e.command) ?? 0, e.micros));
      console.log(`[${name}] DELETE of ${WAITING} waiting + 10,000 seats: ${entries.length} calls, slowest per command (µs): ${JSON.stringify(Object.fromEntries(slowest))}`);
      // The deleteEvent script (EVAL/EVALSHA; Redis 7 logs the commands inside it too) deletes only the small
      // event hash; everything big goes by UNLINK.
      for (const command of slowest.keys()) expect(['eval', 'evalsha', 'exists', 'del', 'scan', 'unlink']).toContain(command);
      expect(slowest.has('unlink') && slowest.has('scan')).toBe(true);
      for (const e of entries.filter((x) => x.command === 'del')) expect(e.args.slice(1)).toEqual([keysOf(eventId).meta]);
      for (const e of entries.filter((x) => x.command === 'unlink')) {
        // SLOWLOG keeps 32 arguments and sums up the rest as '... (N more arguments)'.
        const more = /^\.\.\. \((\d+) more arguments\)$/.exec(e.args[e.args.length - 1]);
        const keys = more ? e.args.length - 2 + Number(more[1]) : e.args.length - 1;
        expect(keys).toBeLessThanOrEqual(500);
      }
      for (const e of entries.filter((x) => x.command === 'scan')) expect(e.args.slice(-2)).toEqual(['COUNT', '1000']);
    } finally {
      for (const m of masters) {
        await m.config('SET', 'slowlog-log-slower-than', '10000');
        await m.config('SET', 'slowlog-max-len', '128');
        m.disconnect();
      }
    }
    expect(await keysOfEvent(eventId)).toEqual([]);
  });
});
