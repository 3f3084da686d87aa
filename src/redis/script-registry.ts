import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { defaultLuaDir, loadLuaScripts, LuaScript } from './lua-loader';
import { isCluster, REDIS_CLIENT, RedisClient } from './redis.constants';
import type { EventKeys } from './keys';
import type { EventScript } from './script-catalogue';
import { checkReply, ScriptReply } from './script-replies';

export const LUA_DIR = Symbol('LUA_DIR');

export class ScriptLoadError extends Error {}

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Told of every script run: its reply (or error) and how long it took. Metrics listen here. */
export interface ScriptObserver {
  onReply(script: string, keys: string[], reply: ScriptReply, seconds: number): void;
  onError(script: string, keys: string[], error: Error, seconds: number): void;
}

/**
 * Loads every Lua script at boot and runs them by EVALSHA.
 *
 * Scripts are registered with ioredis `defineCommand`, whose command sends
 * EVALSHA and, on NOSCRIPT (restart, failover, SCRIPT FLUSH), resends the
 * script body on the same node once: the request does not fail. At boot and
 * on every reconnect each script is also SCRIPT LOADed on every master, which
 * is how a syntax error fails the boot with the file's name.
 */
@Injectable()
export class ScriptRegistry implements OnModuleInit {
  private readonly logger = new Logger(ScriptRegistry.name);
  private readonly scripts = new Map<string, LuaScript & { sha: string }>();
  /** Times scripts had to be loaded again after boot (restart, failover, flush). */
  reloads = 0;
  private readonly observers: ScriptObserver[] = [];
  private readonly definedOn = new WeakSet<Redis>();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(LUA_DIR) private readonly luaDir: string = defaultLuaDir(),
  ) {}

  async onModuleInit(): Promise<void> {
    for (const script of loadLuaScripts(this.luaDir)) {
      this.scripts.set(script.name, { ...script, sha: createHash('sha1').update(script.lua).digest('hex') });
      this.redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    await waitForReady(this.redis);
    await this.loadOnEveryMaster();
    // After a reconnect Redis may have lost its script cache (restart, failover).
    this.redis.on('ready', () => {
      this.loadOnEveryMaster()
        .then(() => (this.reloads += 1))
        .catch((err: Error) => this.logger.warn(`reloading scripts after reconnect failed: ${err.message}`));
    });
  }

  /** Runs a script by name with its keys and arguments; checks the reply's shape. */
  run(name: string, keys: string[], args: (string | number)[] = []): Promise<ScriptReply> {
    return this.runWith(this.redis, name, keys, args);
  }

  /** Runs a catalogue script (script-catalogue.ts) on an event's keys: its keys, arguments and reply reading from one place. */
  async call<In, Out>(script: EventScript<In, Out>, k: EventKeys, input: In): Promise<Out> {
    return script.reply(await this.run(script.name, script.keys(k), script.args(input)));
  }

  /**
   * Runs a script whose reply holds raw bytes (ioredis's Buffer variant of
   * the command): every bulk string comes back as a Buffer, the code as a string.
   */
  runBuffers(name: string, keys: string[], args: (string | number)[] = []): Promise<ScriptReply> {
    return this.runWith(this.redis, `${name}Buffer`, keys, args, name);
  }

  /**
   * The same on a connection of the caller's own (ReplicaWait leases one per
   * durable write, since a WAIT must follow the write on its connection).
   */
  runOn(connection: Redis, name: string, keys: string[], args: (string | number)[] = []): Promise<ScriptReply> {
    if (!this.definedOn.has(connection)) {
      for (const s of this.scripts.values()) connection.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
      this.definedOn.add(connection);
    }
    return this.runWith(connection, name, keys, args);
  }

  private async runWith(client: RedisClient, name: string, keys: string[], args: (string | number)[], script = name): Promise<ScriptReply> {
    const command = (client as unknown as Record<string, ScriptCommand>)[name];
    if (!this.scripts.has(script) || typeof command !== 'function') {
      throw new Error(`no Lua script named ${name}`);
    }
    const started = performance.now();
    try {
      const raw = await command.call(client, ...keys, ...args);
      // A Buffer reply (runBuffers): its code is text.
      const decoded = Array.isArray(raw) && Buffer.isBuffer(raw[0]) ? [raw[0].toString(), ...raw.slice(1)] : raw;
      const reply = checkReply(script, decoded);
      const seconds = (performance.now() - started) / 1000;
      for (const o of this.observers) o.onReply(script, keys, reply, seconds);
      return reply;
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      for (const o of this.observers) o.onError(script, keys, err as Error, seconds);
      throw err;
    }
  }

  observe(observer: ScriptObserver): void {
    this.observers.push(observer);
  }

  /** Readiness: resolves when every master holds every script (loading what is missing); rejects otherwise. */
  async ensureLoaded(): Promise<void> {
    const shas = [...this.scripts.values()].map((s) => s.sha);
    for (const node of this.masters()) {
      const present = (await node.script('EXISTS', ...shas)) as number[];
      if (present.some((p) => p !== 1)) {
        await this.loadOn(node);
        this.reloads += 1;
      }
    }
  }

  get names(): string[] {
    return [...this.scripts.keys()];
  }

  private masters(): Redis[] {
    return isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
  }

  private async loadOnEveryMaster(): Promise<void> {
    const masters = this.masters();
    if (masters.length === 0) throw new ScriptLoadError('Redis Cluster reported no master nodes');
    await Promise.all(masters.map((node) => this.loadOn(node)));
  }

  private async loadOn(node: Redis): Promise<void> {
    for (const script of this.scripts.values()) {
      try {
        await node.script('LOAD', script.lua);
      } catch (err) {
        const message = (err as Error).message;
        if (/ERR|compil|syntax/i.test(message) && !/connect|closed|writeable|timeout/i.test(message)) {
          throw new ScriptLoadError(`Lua script lua/${script.file} does not compile: ${message}`);
        }
        throw err;
      }
    }
  }
}

const BOOT_CONNECT_TIMEOUT_MS = 30_000;

/** Waits for the client's first 'ready' (the offline queue is off, so commands before it fail). */
function waitForReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new ScriptLoadError(`Redis did not become ready within ${BOOT_CONNECT_TIMEOUT_MS / 1000}s; is it running and reachable?`));
    }, BOOT_CONNECT_TIMEOUT_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
