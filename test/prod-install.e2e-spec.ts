import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRedis } from './support/redis-harness';

// What the container image relies on, reproduced without a Docker engine: the
// runtime stage of the Dockerfile holds only the files it COPYs from the build
// stage plus `npm ci --omit=dev` node_modules, runs `node dist/main.js` with
// NODE_ENV=production, and must boot from that alone (no dev dependency, no
// TypeScript source), serve its probes, stop on SIGTERM, and refuse to boot
// without its secrets.

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const ADMIN_TOKEN = 'prod-install-admin-token-0123456789';
const ACCESS_TOKEN_SECRET = 'prod-install-access-token-secret-0123456789abcdef';

/** Paths the Dockerfile's runtime stage copies from the build stage (`COPY --from=build /app/<path> ./<path>`). */
function runtimeCopies(): string[] {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.search(/^FROM \S+ AS runtime$/m));
  return [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) \.\/(\S+)$/gm)].map((m) => {
    expect(m[2]).toBe(m[1]); // same layout as the package root, where lua-loader looks
    return m[1];
  });
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const spawned: ChildProcess[] = [];

/** Starts `node dist/main.js` in `dir` with only the given environment (plus PATH and HOME). */
function startApp(dir: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}

async function waitForStatus(app: Started, port: number, path: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isRunning(app.child)) throw new Error(`the app exited while booting:\n${app.stderr()}\n${app.stdout()}`);
    try {
      const res = await get(port, path);
      if (res.status === status) return;
      last = `${res.status} ${res.body}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`GET ${path} never answered ${status} within ${timeoutMs} ms (last: ${last})\n${app.stderr()}`);
}

/** Waits for the exit of a process we spawned; SIGKILLs it (by PID, ours only) after `timeoutMs`. */
async function exitWithin(app: Started, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    app.child.kill('SIGKILL');
  }, timeoutMs);
  const result = await app.exited;
  clearTimeout(timer);
  return { ...result, timedOut };
}

describe('production install (what the Docker image runs)', () => {
  let dir = '';
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    // `npm test` builds first; a direct jest run on a fresh clone may not have.
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 240_000 });
    }
    dir = mkdtempSync(join(tmpdir(), 'qg-prod-install-'));
    for (const path of ['package.json', 'package-lock.json']) cpSync(join(ROOT, path), join(dir, path));
    for (const path of runtimeCopies()) {
      if (path === 'package.json') continue;
      const from = join(ROOT, path);
      cpSync(from, join(dir, path), { recursive: true });
    }
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      timeout: 240_000,
      maxBuffer: 16 << 20,
    });
    redis = await startRedis();
  }, 300_000);

  afterEach(() => {
    // Only processes this suite spawned, by their own handle (PID).
    for (const child of spawned.splice(0)) if (isRunning(child)) child.kill('SIGKILL');
  });

  afterAll(async () => {
    await redis?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the Dockerfile runtime stage ships dist/ (with the page in dist/public), lua/ and package.json, deps from npm ci --omit=dev, as UID 10001', () => {
    expect(runtimeCopies().sort()).toEqual(['dist', 'lua', 'package.json']);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const prodDeps = dockerfile.slice(dockerfile.search(/^FROM \S+ AS prod-deps$/m), dockerfile.search(/^FROM \S+ AS runtime$/m));
    expect(prodDeps).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(dockerfile).toMatch(/^COPY --from=prod-deps \/app\/node_modules \.\/node_modules$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production/m);
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
  });

  it('the production install has no dev dependencies and no TypeScript sources', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, meta]) => path.startsWith('node_modules/') && meta.dev)
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    for (const path of ['node_modules/typescript', 'node_modules/jest', 'node_modules/@nestjs/cli', 'node_modules/ts-jest']) {
      expect(devOnly).toContain(path);
      expect(existsSync(join(dir, path))).toBe(false);
    }
    expect(existsSync(join(dir, 'node_modules', '@nestjs', 'core'))).toBe(true);
    expect(existsSync(join(dir, 'src'))).toBe(false);
    expect(existsSync(join(dir, 'dist', 'main.js'))).toBe(true);
  });

  it('boots with NODE_ENV=production: /health/ready and /health/live answer 200, logs are JSON, SIGTERM stops it', async () => {
    const port = await freePort();
    const app = startApp(dir, {
      NODE_ENV: 'production',
      ADMIN_TOKEN,
      ACCESS_TOKEN_SECRET,
      PORT: String(port),
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `qg-prod-${port}:`,
      LOG_FORMAT: 'json',
    });
    await waitForStatus(app, port, '/health/ready', 200, 45_000);
    expect((await get(port, '/health/live')).status).toBe(200);
    expect((await get(port, '/health/ready')).status).toBe(200);
    // The waiting-room page ships inside dist/public.
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
    // So does every ES module the page is compiled to (one per web/**/*.ts; the
    // generated api/schema.d.ts declares types only and compiles to nothing), as
    // JavaScript: a browser refuses a module script with any other content type.
    const modules = readdirSync(join(ROOT, 'web'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts') && !file.endsWith('.d.ts'))
      .map((file) => `/${file.replace(/\\/g, '/').replace(/\.ts$/, '.js')}`);
    expect(modules).toEqual(expect.arrayContaining(['/app.js', '/api/client.js', '/pow-worker.js']));
    for (const path of modules) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({
        path,
        status: 200,
        type: expect.stringMatching(/^(application|text)\/javascript\b/),
      });
    }

    // The Lua scripts were read from lua/ beside dist/ and loaded into this Redis.
    const { stdout: info } = await run('redis-cli', ['-p', String(redis.port), 'info', 'memory']);
    expect(Number(/number_of_cached_scripts:(\d+)/.exec(info)?.[1])).toBeGreaterThan(0);

    // Kubernetes (and docker stop) send SIGTERM to PID 1: the app must stop by itself.
    app.child.kill('SIGTERM');
    const result = await exitWithin(app, 20_000);
    expect(result.timedOut).toBe(false);
    expect(result.code === 0 || result.signal === 'SIGTERM').toBe(true);

    const lines = app.stdout().split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  }, 90_000);

  it.each([
    ['ADMIN_TOKEN', { ACCESS_TOKEN_SECRET }],
    ['ACCESS_TOKEN_SECRET', { ADMIN_TOKEN }],
  ])('NODE_ENV=production without %s: exits non-zero and names it on stderr', async (missing, secrets) => {
    const port = await freePort();
    const app = startApp(dir, { NODE_ENV: 'production', PORT: String(port), REDIS_URL: redis.url, ...secrets });
    const result = await exitWithin(app, 30_000);
    expect(result.timedOut).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(app.stderr()).toContain(missing);
    const other = missing === 'ADMIN_TOKEN' ? 'ACCESS_TOKEN_SECRET' : 'ADMIN_TOKEN';
    expect(app.stderr()).not.toMatch(new RegExp(`${other} must be set`));
  }, 60_000);

  it('a too-short secret is refused too (the minimum lengths of src/config/env.schema.ts)', async () => {
    const app = startApp(dir, {
      NODE_ENV: 'production',
      PORT: String(await freePort()),
      REDIS_URL: redis.url,
      ADMIN_TOKEN: 'short',
      ACCESS_TOKEN_SECRET,
    });
    const result = await exitWithin(app, 30_000);
    expect(result.timedOut).toBe(false);
    expect(result.code).not.toBe(0);
    expect(app.stderr()).toContain('ADMIN_TOKEN');
  }, 60_000);
});
