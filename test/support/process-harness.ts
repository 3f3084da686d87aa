import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './redis-harness';
import { ACCESS_TOKEN_SECRET, ADMIN_TOKEN } from './app-harness';

const ROOT = resolve(__dirname, '../..');

/** queuegate as a real process (node dist/main.js), for signals and crashes. Output is collected. */
export class ServiceProcess {
  readonly output: string[] = [];
  /** the exit code, or the signal that ended the process */
  exitCode: number | NodeJS.Signals | null = null;
  private child?: ChildProcess;
  private exited?: Promise<number | NodeJS.Signals | null>;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(resolve(ROOT, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first');
    this.child = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', ADMIN_TOKEN, ACCESS_TOKEN_SECRET, LOG_FORMAT: 'json', PORT: String(this.port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => this.output.push(...chunk.toString().split('\n').filter(Boolean));
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((r) => this.child?.once('exit', (code, signal) => r((this.exitCode = code ?? signal))));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`service exited with ${this.exitCode}: ${this.output.join('\n')}`);
      const ready = await fetch(`${this.url}/health/ready`).then((r) => r.status === 200, () => false);
      if (ready) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`service not ready: ${this.output.join('\n')}`);
  }

  signal(name: NodeJS.Signals): void {
    this.child?.kill(name);
  }

  waitForExit(): Promise<number | NodeJS.Signals | null> {
    return this.exited ?? Promise.resolve(null);
  }

  async stop(): Promise<void> {
    if (this.child && this.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const service = new ServiceProcess(await freePort(), env);
  await service.start();
  return service;
}
