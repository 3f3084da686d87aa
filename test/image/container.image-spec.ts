import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRedis } from '../support/redis-harness';

// The container image, built from the real Dockerfile and booted for real:
// scripts/build-image.sh (buildah with a local Node base; the script uses
// docker build where an engine runs, but this test always takes buildah) and scripts/run-image.sh (the image's root read-only, its
// USER, WORKDIR, ENV and CMD, an empty /tmp), against a Redis the harness
// started. The first build on a machine also makes the local base (about a
// minute); later builds reuse cached layers.

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
// Its own tag per run, so two test runs at once never remove each other's image.
const TAG = `localhost/queuegate:e2e-${process.pid}`;
const ADMIN_TOKEN = 'image-test-admin-token-0123456789';
const ACCESS_TOKEN_SECRET = 'image-test-access-token-secret-0123456789abcdef';

const procStatus = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const idsOf = (status: string, field: 'Uid' | 'Gid') => new RegExp(`^${field}:\\s+(.+)$`, 'm').exec(status)?.[1].split(/\s+/).map(Number);

describe('container image (Dockerfile built and booted)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let child: ChildProcess | undefined;
  let output = '';
  let dir = '';

  beforeAll(async () => {
    // Build output goes to the test's log only on failure (it is long).
    // buildah even where a Docker engine runs: run-image.sh boots from buildah's storage.
    const env = { ...process.env, IMAGE_ENGINE: 'buildah' };
    await run(join(ROOT, 'scripts', 'build-image.sh'), [TAG], { cwd: ROOT, env, timeout: 1_200_000, maxBuffer: 64 << 20 }).catch(
      (err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`scripts/build-image.sh failed: ${err.message}\n${(err.stderr ?? '').slice(-4000)}`);
      },
    );
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'qg-image-'));
  }, 1_260_000);

  afterAll(async () => {
    // Only the process this suite started, by its PID.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // This run's tag only; cached layers stay for the next build (`buildah rmi --prune` frees them).
    await run('buildah', ['--storage-driver', 'vfs', 'rmi', TAG]).catch(() => undefined);
  });

  it('boots as UID 10001 on a read-only root, answers readiness, a join and the page, and stops on SIGTERM', async () => {
    const port = await freePort();
    const pidFile = join(dir, 'pid');
    child = spawn(
      join(ROOT, 'scripts', 'run-image.sh'),
      [TAG, `PORT=${port}`, `REDIS_URL=${redis.url}`, `ADMIN_TOKEN=${ADMIN_TOKEN}`, `ACCESS_TOKEN_SECRET=${ACCESS_TOKEN_SECRET}`],
      { cwd: ROOT, env: { ...process.env, RUN_IMAGE_PIDFILE: pidFile }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));

    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the image exited while booting:\n${output}`);
      ready = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    if (!ready) throw new Error(`/health/ready never answered 200:\n${output}`);

    // The service process: the image's USER, and its root mounted read-only.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const status = procStatus(pid);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(['node', 'dist/main.js', '']);
    expect(idsOf(status, 'Uid')).toEqual([10001, 10001, 10001, 10001]);
    expect(idsOf(status, 'Gid')).toEqual([10001, 10001, 10001, 10001]);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .find((line) => line.split(' ')[4] === '/');
    expect(rootMount?.split(' ')[5].split(',')).toContain('ro');
    // The image is the product's: production mode, Node from the image.
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('NODE_ENV=production');

    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/v1/events`, { method: 'POST', headers: admin, body: JSON.stringify({ eventId: 'image-ev', capacity: 10 }) });
    expect(created.status).toBe(201);
    const joined = await fetch(`${base}/v1/events/image-ev/queue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'image-fan' }),
    });
    expect(joined.status).toBe(202);
    const ticket = ((await joined.json()) as { ticket: string }).ticket;
    expect(typeof ticket).toBe('string');
    expect((await fetch(`${base}/v1/events/image-ev/queue/${ticket}`)).status).toBe(200);

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');

    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    expect([0, 143]).toContain(code); // 143: ended by the SIGTERM it was sent, after its shutdown hooks
  }, 120_000);
});
