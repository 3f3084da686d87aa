import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium';

/**
 * `npm run simulate` end to end, as a user runs it (the compiled script with
 * its embedded redis-server and service): a crowd ten times the seats ends by
 * itself once the event is sold out, with every person counted in one
 * outcome, and its HTML report shows every chart with data in Chromium
 * (screenshot: test-artifacts/simulate/report.png).
 */

const ROOT = resolve(__dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'simulate');
const run = promisify(execFile);

const USERS = 3000;
const SEATS = 300;
const POLL_MAX_SECONDS = 3;

declare const document: any;

jest.setTimeout(180_000);

describe('npm run simulate: a crowd larger than the seats', () => {
  let dir: string;
  let report: any;
  let exit: { code: number | null; stdout: string; stderr: string; seconds: number };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does)');
    // What `npm run simulate` does after the build: compile the simulator into dist/scripts.
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'scripts', 'tsconfig.json')], { cwd: ROOT });
    dir = mkdtempSync(join(tmpdir(), 'qg-simulate-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const args = [
      join(ROOT, 'dist', 'scripts', 'simulate.js'),
      '--users', String(USERS), '--seats', String(SEATS),
      // No think time, every hold bought or released (none left to expire): the sale is over in seconds.
      '--think', '0', '--confirm', '0.8', '--release', '0.2', '--expire', '0',
      '--hold-ttl', '10', '--session-ttl', '30', '--rate', '300', '--max-active', '300',
      '--poll-max', String(POLL_MAX_SECONDS), '--connections', '200',
      '--out', join(dir, 'report.json'), '--html', join(dir, 'report.html'),
    ];
    const started = performance.now();
    exit = await new Promise((resolveExit) => {
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      // Before the fix it never ended: a deadline turns that into a failure, not a hung suite.
      const deadline = setTimeout(() => child.kill('SIGINT'), 150_000);
      child.on('exit', (code) => {
        clearTimeout(deadline);
        resolveExit({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      });
    });
    if (existsSync(join(dir, 'report.json'))) report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ends by itself once sold out, every invariant holding and every person in exactly one outcome', () => {
    expect({ code: exit.code, stderr: exit.code === 0 ? '' : exit.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    console.log(
      `simulate: ${USERS} users for ${SEATS} seats sold out in ${report.timeToSellOutSeconds} s, all users done in ${report.durationSeconds} s ` +
        `(process ${exit.seconds.toFixed(1)} s); outcomes ${JSON.stringify(report.outcomes)}; told sold out ${JSON.stringify(report.toldSoldOut)}`,
    );
    expect(report.ok).toBe(true);
    expect(report.seats).toMatchObject({ capacity: SEATS, sold: SEATS, held: 0, available: 0, oversold: 0, duplicateSeats: 0 });
    expect(report.invariants.everyUserCounted).toBe(true);
    const counted = Object.values(report.outcomes as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted).toBe(USERS);
    // Most of the crowd was still in line at the sell-out and heard it from the queue.
    expect(report.outcomes.toldSoldOut).toBe(report.toldSoldOut.users);
    expect(report.toldSoldOut.users).toBeGreaterThan(USERS / 2);
    expect(report.outcomes.lost).toBe(0);
    // They were told at their next poll (at most POLL_MAX_SECONDS x 1.2 apart), and the run ended then:
    // the bounds leave room for a loaded machine (a status read's p99 reached a second here), not for polling on.
    expect(report.toldSoldOut.afterSellOutSeconds.max).toBeLessThanOrEqual(POLL_MAX_SECONDS * 1.2 + 5);
    expect(report.durationSeconds - report.timeToSellOutSeconds).toBeLessThanOrEqual(POLL_MAX_SECONDS * 1.2 + 10);
    expect(exit.stdout).toContain('told sold out');
  });

  describe('the HTML report in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => (browser = await launchChromium('the simulator report test')));
    afterAll(async () => browser?.close());

    it('shows each chart with data (non-empty SVG paths), self-contained (no request leaves the file)', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(dir, 'report.html')).href);
      const charts = await page.evaluate(() =>
        [...document.querySelectorAll('figure')].map((f: any) => ({
          id: f.id as string,
          title: f.querySelector('figcaption')?.textContent as string,
          // a drawn path has at least two commands (a line: M then L; a bar: M, V, H, V, Z)
          paths: [...f.querySelectorAll('svg path')].filter((p: any) => ((p.getAttribute('d') ?? '').match(/[MLHVZ]/g) ?? []).length >= 2).length,
          width: f.querySelector('svg')?.getBoundingClientRect().width as number,
        })),
      );
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      expect(charts.map((c) => c.id)).toEqual(['waiting', 'admitted', 'seats', 'latency', 'outcomes']);
      for (const c of charts) {
        expect({ id: c.id, drawn: c.paths > 0, visible: c.width > 100 }).toEqual({ id: c.id, drawn: true, visible: true });
      }
      // The series: waiting + active, observed + configured, sold + held + available; p50/p95/p99 per endpoint; a bar per outcome with users.
      expect(charts.find((c) => c.id === 'seats')?.paths).toBe(3);
      expect(charts.find((c) => c.id === 'latency')?.paths).toBe(3 * Object.keys(report.latencyMs).length);
      expect(charts.find((c) => c.id === 'outcomes')?.paths).toBe(Object.values(report.outcomes as Record<string, number>).filter((n) => n > 0).length);
      expect(await page.textContent('body')).toContain(`${SEATS} of ${SEATS}`);
      expect(requests.filter((u) => new URL(u).protocol !== 'file:')).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});
