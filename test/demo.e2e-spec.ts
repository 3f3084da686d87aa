import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './support/redis-harness';

const ROOT = resolve(__dirname, '..');

/** pid, state and parent pid of a process from /proc, or undefined once it is gone. */
function procStat(pid: number): { state: string; ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> <ppid> ..."; comm may contain spaces, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    return { state, ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

/** A process that exited but was not yet reaped (a zombie) counts as gone. */
const alive = (pid: number) => {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
};

const childrenOf = (parent: number) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => procStat(pid)?.ppid === parent);

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/**
 * `npm run demo` starts a private redis-server; it must stop it however the
 * demo is stopped: Ctrl-C, or a SIGTERM to the demo alone (a process manager,
 * `kill`), which does not reach the redis-server the way a terminal's Ctrl-C
 * reaches the whole process group.
 */
describe.each(['SIGTERM', 'SIGINT'] as const)('the demo on %s to its own pid', (signal) => {
  let demo: ChildProcess | undefined;
  let redisPid: number | undefined;

  afterAll(() => {
    // Only if the test failed half-way: stop what this test started, by pid.
    if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
    if (redisPid && alive(redisPid)) process.kill(redisPid, 'SIGKILL');
  });

  it('closes the service and stops its private redis-server', async () => {
    if (!existsSync(resolve(ROOT, 'dist/demo.js'))) throw new Error('dist/demo.js is missing: run `npm run build` first');
    const port = await freePort();
    const output: string[] = [];
    const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...env } = process.env;
    demo = spawn(process.execPath, ['dist/demo.js'], {
      cwd: ROOT,
      env: { ...env, PORT: String(port), NODE_ENV: 'development', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = demo;
    child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, sig) => r(code ?? sig)));

    expect(await waitUntil(() => output.join('').includes('queuegate demo is running'), 30_000)).toBe(true);
    const redis = childrenOf(child.pid as number).filter((pid) => procStat(pid)?.comm === 'redis-server');
    expect(redis).toHaveLength(1);
    redisPid = redis[0];
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

    child.kill(signal);
    expect(await exited).toBe(0);
    // redis-server gets SIGTERM before the demo exits; without a dump to write it ends at once.
    expect(await waitUntil(() => !alive(redisPid as number), 5000)).toBe(true);
  });
});
