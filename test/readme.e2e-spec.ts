import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN } from './support/app-harness';
import { ServiceProcess, startService } from './support/process-harness';
import { startRedis } from './support/redis-harness';

const run = promisify(execFile);

/** The README's sale walkthrough and the guide's venue example must work exactly as written. */
describe('README and docs/guide.md', () => {
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

  /** Runs the first bash block after `heading` in `file` and returns its output lines, parsed as JSON. */
  async function runBlock(file: string, heading: string): Promise<any[]> {
    const text = readFileSync(resolve(__dirname, '..', file), 'utf8');
    expect(text.indexOf(heading)).toBeGreaterThan(0);
    const section = text.slice(text.indexOf(heading));
    const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block as string], {
      env: { PATH: process.env.PATH, BASE: service.url, ADMIN_TOKEN },
      timeout: 30_000,
    });
    return stdout.trim().split('\n').map((l) => JSON.parse(l));
  }

  it('runs the "A sale, end to end" block against a real service', async () => {
    const lines = await runBlock('README.md', '### A sale, end to end');
    expect(lines[0]).toMatchObject({ capacity: 100, available: 100 });
    expect(lines[1]).toMatchObject({ seatIds: ['GA-1', 'GA-2'] });
    expect(lines[1].orderId).toMatch(/^ord_/);
    expect(lines.at(-2)).toEqual({ available: 98, held: 0, sold: 2 });
    expect(lines.at(-1)).toEqual({ ok: true, recount: { available: 98, held: 0, sold: 2 } });
  });

  it('runs the guide\'s venue block: a layout, 4 together under a price level, the total', async () => {
    const lines = await runBlock('docs/guide.md', '## Venues: sections, price levels, seats together');
    expect(lines).toEqual([
      { capacity: 46, levels: [{ priceLevel: 'FLOOR', price: 12000, available: 20 }, { priceLevel: 'BALCONY', price: 7900, available: 26 }] },
      { seatIds: ['B-1-101', 'B-1-102', 'B-1-103', 'B-1-104'], total: { amount: 31600, currency: 'EUR' } },
      [{ priceLevel: 'FLOOR', available: 20, sold: 0 }, { priceLevel: 'BALCONY', available: 22, sold: 4 }],
      ['B-1-101 sold', 'B-1-102 sold', 'B-1-103 sold', 'B-1-104 sold', 'B-1-105 available', 'B-1-106 available'],
    ]);
  });
});
