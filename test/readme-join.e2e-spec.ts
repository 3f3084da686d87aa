import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN } from './support/app-harness';
import { ServiceProcess, startService } from './support/process-harness';
import { startRedis } from './support/redis-harness';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const SECRET = 'readme-join-secret-0123456789abcdef';

/** The "Who may join" example of docs/security.md must work exactly as written (needs `npm run build`). */
describe('docs/security.md: who may join', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService({
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      JOIN_IDENTITY: 'jwt',
      JOIN_JWT_SECRET: SECRET,
      JOIN_RATE_PER_MINUTE: '30',
    });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.cleanup();
  });

  it('runs the block: challenge, token, the same place again, one challenge one join, 401, then 429 with Retry-After', async () => {
    const doc = readFileSync(resolve(ROOT, 'docs', 'security.md'), 'utf8');
    expect(doc.indexOf('## Who may join')).toBeGreaterThan(0);
    const section = doc.slice(doc.indexOf('## Who may join'));
    const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block as string], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, BASE: service.url, ADMIN_TOKEN, JOIN_JWT_SECRET: SECRET },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, 5).map((l) => JSON.parse(l))).toEqual([
      { difficultyBits: 16 },
      { status: 'waiting', position: 1 },
      200,
      { statusCode: 403, code: 'CHALLENGE_FAILED' },
      { statusCode: 401, code: 'UNAUTHORIZED' },
    ]);
    expect(lines[5]).toMatch(/^HTTP\/1\.1 429/);
    const retryAfter = /^retry-after: (\d+)$/i.exec(lines[6])?.[1];
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(lines).toHaveLength(7);
  });
});
