import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/redis-harness';

export { freePort };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A Node server that the bench started as a child process (the service, or
 * the ceiling server), so the load generator and the server never share an
 * event loop. Only this child's own PID is ever signalled.
 */
export class ServerProcess {
  readonly url: string;
  readonly logFile: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logFile = join(tmpdir(), `queuegate-bench-${name}-${process.pid}-${port}.log`);
  }

  /** where the profiler preload writes (BENCH_PROFILE_OUT), when this child was started with it */
  get profileOut(): string | undefined {
    return this.env.BENCH_PROFILE_OUT;
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  /** Starts the child and waits until `readyPath` answers 200 (at most `timeoutMs`). */
  async start(readyPath: string, timeoutMs = 30_000): Promise<void> {
    const log = openSync(this.logFile, 'w');
    this.child = spawn(process.execPath, this.args, {
      env: { PATH: process.env.PATH ?? '', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      const ok = await fetch(this.url + readyPath)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return;
      await sleep(100);
    }
    const tail = readFileSync(this.logFile, 'utf8').slice(-2000);
    await this.stop();
    throw new Error(`${this.name} did not become ready on ${this.url}${readyPath}; log ${this.logFile}:\n${tail}`);
  }

  /** Sends `signal` to this child only. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** CPU seconds (user + system) this child has used so far, from /proc. */
  cpuSeconds(): number {
    return procCpuSeconds(this.pid);
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds (Linux /proc/<pid>/stat). */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
