import { ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import Redis, { Cluster } from 'ioredis';
import { freePort as listenFree, spawnRedisServer, stopProcess } from '../../src/dev/throwaway-redis';

const run = promisify(execFile);

/** A port nobody listens on (and, for cluster nodes, its bus port + 10000 too). */
export async function freePort(withBus = false): Promise<number> {
  for (;;) {
    const port = withBus ? 20000 + Math.floor(Math.random() * 20000) : await listenFree(0);
    if (!withBus) return port;
    if ((await isFree(port)) && (await isFree(port + 10000))) return port;
  }
}

const isFree = (port: number) => listenFree(port).then(() => true, () => false);

/** Checks every 50 ms until `check` holds (a throw counts as not yet); resolves with performance.now() when it did. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return performance.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A node's replication role now (ROLE): 'master' or 'slave'. */
export const roleOf = async (node: Redis): Promise<string> => ((await node.call('ROLE')) as [string])[0];

/**
 * One redis-server process that this harness started, and only it is ever
 * signalled; it can be stopped, killed, frozen and started again on its port
 * (the fault suites do). Started and stopped by src/dev/throwaway-redis.ts,
 * the helper the demo and the simulator use too.
 */
export class RedisProcess {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.child = await spawnRedisServer(this.port, this.dir, this.extraArgs);
  }

  /** Stops the server (SIGTERM, then SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    await stopProcess(this.child);
  }

  /** Kills the process outright (SIGKILL: no shutdown, nothing written) and waits until it is gone; start() brings it back. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
  }
}

/** Starts a single redis-server on a free port, in a temporary folder. */
export async function startRedis(extraArgs: string[] = ['--appendonly', 'no']): Promise<RedisProcess & { cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'qg-redis-'));
  const server = new RedisProcess(await freePort(), dir, extraArgs);
  await server.start();
  return Object.assign(server, {
    cleanup: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Resolves once `replica` has finished its initial sync from its master (master_link_status:up). */
export async function waitForSync(replica: RedisProcess, timeoutMs = 20_000): Promise<void> {
  await waitUntil(`replica ${replica.port} in sync`, async () => {
    const { stdout } = await run('redis-cli', ['-p', String(replica.port), 'info', 'replication']);
    return /master_link_status:up/.test(stdout) && /master_sync_in_progress:0/.test(stdout);
  }, timeoutMs);
}

/** Starts a replica of `master` (no persistence) and waits for its initial sync. */
export async function startReplica(master: RedisProcess): Promise<RedisProcess & { cleanup: () => Promise<void> }> {
  const replica = await startRedis(['--appendonly', 'no', '--replicaof', '127.0.0.1', String(master.port)]);
  await waitForSync(replica);
  return replica;
}

/** A real Redis Cluster of `masters` masters (and `replicasPerMaster` replicas each). */
export class RedisClusterHarness {
  readonly nodes: RedisProcess[] = [];
  private dir = '';

  constructor(
    private readonly masters = 3,
    private readonly replicasPerMaster = 0,
  ) {}

  get nodesEnv(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'qg-cluster-'));
    const count = this.masters * (1 + this.replicasPerMaster);
    for (let i = 0; i < count; i += 1) {
      const port = await freePort(true);
      const node = new RedisProcess(port, this.dir, [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000',
        '--appendonly', 'no',
      ]);
      await node.start();
      this.nodes.push(node);
    }
    await run('redis-cli', [
      '--cluster', 'create',
      ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(this.replicasPerMaster),
      '--cluster-yes',
    ]);
    await waitUntil('cluster_state:ok on every node', async () => {
      for (const n of this.nodes) {
        const { stdout } = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info']);
        if (!stdout.includes('cluster_state:ok')) return false;
      }
      return true;
    }, 20_000);
  }

  /** The master that serves `key`'s slot now, and its replicas. */
  async shardOf(key: string): Promise<{ master: RedisProcess; replicas: RedisProcess[] }> {
    const { stdout: slot } = await run('redis-cli', ['-p', String(this.nodes[0].port), 'cluster', 'keyslot', key]);
    const { stdout: nodes } = await run('redis-cli', ['-p', String(this.nodes[0].port), 'cluster', 'nodes']);
    // <id> <ip:port@bus> <flags> <master id or -> <ping> <pong> <epoch> <link> <slot ranges...>
    const rows = nodes.trim().split('\n').map((line) => line.split(' '));
    const byPort = (row: string[]) => this.nodes.find((n) => n.port === Number(row[1].split(/[:@]/)[1]))!;
    const owns = (row: string[]) =>
      row.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return Number(slot) >= from && Number(slot) <= to;
      });
    const master = rows.find((row) => row[2].includes('master') && !row[2].includes('fail') && owns(row));
    if (!master) throw new Error(`no master serves slot ${slot.trim()}`);
    const replicas = rows.filter((row) => row[3] === master[0]).map(byPort);
    return { master: byPort(master), replicas };
  }

  client(): Cluster {
    return new Cluster(this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { maxRetriesPerRequest: 1 } });
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The failover suites' cluster: 3 masters with one replica each. start() returns once every
 * replica has finished its initial sync; each node has one plain client of its own, made on
 * first use (nodeClient), closed by release() or stop().
 */
export class ReplicatedCluster extends RedisClusterHarness {
  private readonly clients = new Map<RedisProcess, Redis>();

  constructor() {
    super(3, 1);
  }

  async start(): Promise<void> {
    await super.start();
    for (const node of this.nodes) if ((await roleOf(this.nodeClient(node))) === 'slave') await waitForSync(node);
  }

  /** The node's own client (not a cluster client), made once and reused. */
  nodeClient(node: RedisProcess): Redis {
    return this.clients.get(node) ?? this.clients.set(node, node.client()).get(node)!;
  }

  /** Closes a node's client, for a node that was killed: the next nodeClient() connects afresh. */
  forget(node: RedisProcess): void {
    this.clients.get(node)?.disconnect();
    this.clients.delete(node);
  }

  /** Thaws every node and closes the clients: before the app on the cluster closes, so that no frozen node holds it up. */
  release(): void {
    for (const node of this.nodes) node.thaw();
    this.clients.forEach((c) => c.disconnect());
    this.clients.clear();
  }

  async stop(): Promise<void> {
    this.release();
    await super.stop();
  }
}
