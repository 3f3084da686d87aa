import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN } from './support/app-harness';
import { ServiceProcess, startService } from './support/process-harness';
import { startRedis } from './support/redis-harness';

const run = promisify(execFile);

/** The README's sale walkthrough must work exactly as written. */
describe('README', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService({ REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.cleanup();
  });

  it('runs the "A sale, end to end" block against a real service', async () => {
    const readme = readFileSync(resolve(__dirname, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### A sale, end to end'));
    const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block as string], {
      env: { PATH: process.env.PATH, BASE: service.url, ADMIN_TOKEN },
      timeout: 30_000,
    });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ capacity: 100, available: 100 });
    expect(lines[1]).toMatchObject({ seatIds: ['GA-1', 'GA-2'] });
    expect(lines[1].orderId).toMatch(/^ord_/);
    expect(lines.at(-2)).toEqual({ available: 98, held: 0, sold: 2 });
    expect(lines.at(-1)).toEqual({ ok: true, recount: { available: 98, held: 0, sold: 2 } });
  });
});
