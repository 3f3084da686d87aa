import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { defaultLuaDir, loadLuaScripts } from '../src/redis/lua-loader';
import { ScriptLoadError } from '../src/redis/script-registry';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { expectError, scriptSha, ticketSeq } from './support/inspect';
import { startRedis } from './support/redis-harness';
import { startTopology, Topology, TOPOLOGIES } from './support/topology';

/** Each master's answer to SCRIPT EXISTS for `shas`, as 0/1 lists. */
async function scriptsPresent(masters: Redis[], shas: string[]): Promise<number[][]> {
  return Promise.all(masters.map((m) => m.script('EXISTS', ...shas) as Promise<number[]>));
}

describe.each(TOPOLOGIES)('Lua scripts on %s Redis', (name) => {
  let topology: Topology;
  let app: TestApp;
  let masters: Redis[];

  beforeAll(async () => {
    topology = await startTopology(name);
    app = await startApp(topology.env);
    masters = await topology.masters();
  }, 60_000);
  afterAll(async () => {
    masters?.forEach((m) => m.disconnect());
    await app?.close();
    await topology?.stop();
  });

  it('are all loaded on every master at boot', async () => {
    const shas = loadLuaScripts().map((s) => scriptSha(s.name));
    const present = await scriptsPresent(masters, shas);
    expect(present).toEqual(masters.map(() => shas.map(() => 1)));
  });

  it('survive SCRIPT FLUSH on every master between two joins: the next calls reload them, readiness loads the rest', async () => {
    const eventId = uniqueId('flush');
    await app.createEvent(eventId, { capacity: 5, queue: 'streams' });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const first = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'before-flush' });
    expect(first.status).toBe(202);

    await Promise.all(masters.map((m) => m.script('FLUSH')));
    const joinSha = scriptSha('join');
    const ticketStatusSha = scriptSha('ticketStatus');
    // Gone everywhere (the admitter's own script may come back at once; these two cannot).
    expect(await scriptsPresent(masters, [joinSha, ticketStatusSha])).toEqual(masters.map(() => [0, 0]));

    const second = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'after-flush' });
    expect(second.status).toBe(202);
    expect(second.body.position).toBe(2);
    expect(ticketSeq(second.body.ticket)).toBe(ticketSeq(first.body.ticket) + 1);
    const status = await app.request('GET', `/v1/events/${eventId}/queue/${first.body.ticket}`);
    expect(status.body).toMatchObject({ status: 'waiting', position: 1 });
    const dup = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'after-flush' });
    expectError(dup, 409, 'DUPLICATE');
    // A new event after the flush (another slot on a cluster) works too.
    const other = uniqueId('flush-other');
    await app.createEvent(other, { capacity: 2 });
    expect((await app.request('POST', `/v1/events/${other}/queue`, { userId: 'u' })).status).toBe(202);

    // Readiness checks every script on every master and loads the missing ones.
    const ready = await app.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    const shas = loadLuaScripts().map((s) => scriptSha(s.name));
    expect(await scriptsPresent(masters, shas)).toEqual(masters.map(() => shas.map(() => 1)));
  });
});

describe('a broken lua/ folder fails the boot', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const dirs: string[] = [];
  const copyOfLua = () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-broken-lua-'));
    dirs.push(dir);
    cpSync(defaultLuaDir(), dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
    await redis?.cleanup();
  });

  it('a syntax error: the boot rejects with a ScriptLoadError naming the file', async () => {
    const dir = copyOfLua();
    appendFileSync(join(dir, 'queue', 'join-13.lua'), '\nlocal x = = 1\n');

    const boot = startApp({ REDIS_URL: redis.url }, { luaDir: dir });

    await expect(boot).rejects.toThrow(ScriptLoadError);
    await expect(boot).rejects.toThrow(/lua\/queue\/join-13\.lua does not compile/);
  });

  it('a syntax error in an include: the message names the script that includes it', async () => {
    const dir = copyOfLua();
    appendFileSync(join(dir, 'includes', 'findTicket.lua'), '\nlocal function (\n');

    // leave-9.lua is the first script, in file order, to include findTicket.
    await expect(startApp({ REDIS_URL: redis.url }, { luaDir: dir })).rejects.toThrow(/lua\/queue\/leave-9\.lua does not compile/);
  });

  it('an empty folder: the boot rejects and says where it looked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-empty-lua-'));
    dirs.push(dir);

    await expect(startApp({ REDIS_URL: redis.url }, { luaDir: dir })).rejects.toThrow(`no Lua scripts found in ${dir}`);
  });

  it('a good folder still boots afterwards against the same Redis', async () => {
    const app = await startApp({ REDIS_URL: redis.url }, { luaDir: copyOfLua() });
    try {
      expect((await app.request('GET', '/health/ready')).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
