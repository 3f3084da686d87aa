import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A throwaway redis-server: started from PATH on a free port in a temporary
 * folder, stopped by its own PID. The one copy used by the demo
 * (src/demo.ts), the simulator (scripts/simulate/setup.ts) and the test
 * harness (test/support/redis-harness.ts).
 *
 * It lives under src/ because the demo ships in dist/: src/ is the one folder
 * all three may import from (scripts and tests import the service's code;
 * the service never imports theirs). The service itself never imports src/dev/
 * (.dependency-cruiser.cjs forbids it): it is for running queuegate on one
 * machine, not part of it.
 */

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago. */
export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Whether a Redis on 127.0.0.1:`port` answers PING with PONG: plain RESP on a
 * socket, so neither a client library nor redis-cli is needed. A server still
 * loading its data answers -LOADING, which is not yet.
 */
export function answersPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * The process id of the Redis on 127.0.0.1:`port` (INFO server, plain RESP), or
 * undefined when none answers: tells our server from another one that got there first.
 */
export function serverPid(port: number, timeoutMs = 500): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.startsWith('-')) return done(undefined);
      const pid = /\r\nprocess_id:(\d+)\r\n/.exec(reply)?.[1];
      if (pid) done(Number(pid));
    });
  });
}

/** Throws a message that says what to do when there is no redis-server on PATH. */
export function requireRedisServer(otherwise: string): void {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(`redis-server is not on PATH: install it (Debian: apt-get install redis-server) or ${otherwise}`);
  }
}

/**
 * Spawns redis-server on 127.0.0.1:`port` with its files in `dir` (no RDB
 * snapshots; `extraArgs` after ours) and resolves once it answers PING.
 * Rejects, with the process stopped, when it exits, when another server
 * answers on that port, or when it does not answer in time.
 */
export async function spawnRedisServer(port: number, dir: string, extraArgs: string[] = [], timeoutMs = 10_000): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--protected-mode', 'no', ...extraArgs],
    { stdio: 'ignore' },
  );
  let spawnError: Error | undefined; // e.g. ENOENT: no redis-server on PATH
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError ? spawnError.message : String(child.exitCode ?? child.signalCode);
      throw new Error(`redis-server on port ${port} exited (${why}) before answering`);
    }
    if (await answersPing(port)) {
      const pid = await serverPid(port);
      if (pid === child.pid) return child;
      if (pid !== undefined) {
        await stopProcess(child);
        throw new Error(`port ${port} is served by another redis-server (pid ${pid})`);
      }
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

/**
 * Stops one process we started and waits until it is gone: SIGCONT (in case
 * it was frozen), SIGTERM, then SIGKILL after `graceMs`.
 */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ThrowawayRedis {
  readonly port: number;
  /** its own temporary folder (--dir) */
  readonly dir: string;
  readonly url: string;
  readonly pid: number | undefined;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** For a process 'exit' handler, which cannot wait: SIGTERM and remove the folder, now. */
  stopNow(): void;
}

/** A redis-server on a free port in a fresh temporary folder; `extraArgs` as for spawnRedisServer. */
export async function startThrowawayRedis(extraArgs: string[] = ['--appendonly', 'no']): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'qg-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = await spawnRedisServer(port, dir, extraArgs);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      await stopProcess(child);
      removeDir();
    },
    stopNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      removeDir();
    },
  };
}
