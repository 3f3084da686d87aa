import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { startApp, TestApp, uniqueId } from './support/app-harness';
import { joinAndAdmit, twoLevelLayout } from './support/flows';
import { BUSY_MACHINE_MARGIN_MS, pollUntil, sleep } from './support/inspect';
import { freePort, startRedis, waitUntil } from './support/redis-harness';
import { openSse, SseStream } from './support/sse-client';

/**
 * The alert rules and the dashboard against the real thing: Debian's
 * Prometheus (`apt-get install prometheus`; .ci/run installs it when missing).
 *
 * 1. promtool checks the rule file and runs its unit tests (test/prometheus/
 *    rules.test.yaml), and a rule file with one threshold changed fails them.
 * 2. A Prometheus binary on a free port scrapes a running service every
 *    second: after some traffic every query of the Grafana dashboard returns
 *    data; with Redis stopped QueuegateRedisDown goes firing within its for:
 *    plus two evaluation intervals (and one scrape), and resolves once Redis is back.
 */

const ROOT = resolve(__dirname, '..');
const RULES = join(ROOT, 'helm', 'queuegate', 'files', 'queuegate.rules.yaml');
const RULE_TESTS = join(ROOT, 'test', 'prometheus', 'rules.test.yaml');
const DASHBOARD = join(ROOT, 'helm', 'queuegate', 'files', 'queuegate-dashboard.json');
const RUNBOOK = join(ROOT, 'docs', 'runbook.md');
const run = promisify(execFile);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (): Rule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

function requireBinary(path: string): void {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: this suite needs Debian's Prometheus. Install it with: apt-get update && apt-get install -y prometheus`);
  }
}

describe('alert rules: promtool', () => {
  beforeAll(() => requireBinary('/usr/bin/promtool'));

  it('promtool check rules: the rule file is valid', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', RULES]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${rules().length} rules found`));
  });

  it('promtool test rules: every alert fires on its series and stays quiet on the others', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', RULE_TESTS], { cwd: ROOT });
    expect(stdout).toContain('SUCCESS');
    // Every alert has a case expecting it to fire. promtool compares the whole
    // list, so the other series of that case (the ones that must not fire) are checked too.
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { input_series: unknown[]; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    for (const { alert } of rules()) {
      const firing = tests.tests.filter((t) => t.alert_rule_test.some((c) => c.alertname === alert && c.exp_alerts.length > 0));
      const withQuietSeries = firing.filter((t) => t.alert_rule_test.some((c) => c.alertname === alert && c.exp_alerts.length < t.input_series.length));
      expect({ alert, firing: firing.length > 0, withQuietSeries: withQuietSeries.length > 0 }).toEqual({ alert, firing: true, withQuietSeries: true });
    }
  });

  it('the unit tests can fail: a rule file with the 5xx threshold at 50 % fails them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qg-rules-'));
    try {
      const broken = readFileSync(RULES, 'utf8').replace('> 0.05', '> 0.5');
      expect(broken).not.toBe(readFileSync(RULES, 'utf8'));
      writeFileSync(join(dir, 'rules.yaml'), broken);
      const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'tests.yaml'), stringify({ ...tests, rule_files: ['rules.yaml'] }));
      const failed = await run('promtool', ['test', 'rules', join(dir, 'tests.yaml')]).then(() => null, (err: { stdout: string; stderr: string }) => err.stdout + err.stderr);
      expect(failed).toContain('QueuegateHigh5xxRate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a severity, a summary, and a runbook entry in docs/runbook.md', () => {
    const runbook = readFileSync(RUNBOOK, 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const rule of rules()) {
      expect(rule.labels?.severity).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
      expect(rule.annotations?.runbook).toBe(`docs/runbook.md#${rule.alert.toLowerCase()}`);
      expect({ alert: rule.alert, inRunbook: anchors.has(rule.alert.toLowerCase()) }).toEqual({ alert: rule.alert, inRunbook: true });
    }
  });
});

const SCRAPE_SECONDS = 1;
const EVALUATION_SECONDS = 1;
/** QueuegateRedisDown's for: in this test (1m in the shipped file: the test only shortens it). */
const REDIS_DOWN_FOR_SECONDS = 5;

describe('a real Prometheus scraping a running service', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  let prometheus: ChildProcess;
  let promUrl: string;
  let dir: string;
  const streams: SseStream[] = [];

  const query = async (promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status: string; error?: string; data: { result: any[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  };
  const alerts = async (): Promise<{ labels: Record<string, string>; state: string }[]> =>
    ((await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: any[] } }).data.alerts;
  const redisDown = async () => (await alerts()).find((a) => a.labels.alertname === 'QueuegateRedisDown')?.state;

  beforeAll(async () => {
    requireBinary('/usr/bin/prometheus');
    redis = await startRedis();
    app = await startApp({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500', LOG_LEVEL: 'fatal' });
    dir = mkdtempSync(join(tmpdir(), 'qg-prometheus-'));
    const shortened = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
    for (const rule of shortened.groups[0].rules) if (rule.alert === 'QueuegateRedisDown') rule.for = `${REDIS_DOWN_FOR_SECONDS}s`;
    writeFileSync(join(dir, 'rules.yaml'), stringify(shortened));
    const target = new URL(app.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: `${SCRAPE_SECONDS}s`, scrape_timeout: `${SCRAPE_SECONDS}s`, evaluation_interval: `${EVALUATION_SECONDS}s` },
        rule_files: [join(dir, 'rules.yaml')],
        scrape_configs: [{ job_name: 'queuegate', static_configs: [{ targets: [target] }] }],
      }),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      '/usr/bin/prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: 'ignore' },
    );
    await waitUntil('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 20_000);
  }, 60_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    await redis?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('after some traffic every query of the Grafana dashboard returns data', async () => {
    // A sale in small: two price levels, joins (one duplicate), admissions, holds
    // confirmed, released and left to expire, an open status stream, an audit.
    const eventId = uniqueId('dash');
    await app.createEvent(eventId, {
      layout: twoLevelLayout(10, 10),
      holdTtlSeconds: 1,
      admission: { ratePerSecond: 100, maxActive: 100 },
    });
    const buyers = await Promise.all(['a', 'b', 'c'].map((u) => joinAndAdmit(app, eventId, u)));
    expect((await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'a' })).status).toBe(409);
    const holds = await Promise.all(buyers.map((b) => app.request('POST', `/v1/events/${eventId}/holds`, { quantity: 2 }, b.auth)));
    expect(holds.map((h) => h.status)).toEqual([201, 201, 201]);
    expect((await app.request('POST', `/v1/events/${eventId}/holds/${holds[0].body.holdId}/confirm`, {}, buyers[0].auth)).status).toBe(201);
    expect((await app.request('DELETE', `/v1/events/${eventId}/holds/${holds[1].body.holdId}`, undefined, buyers[1].auth)).status).toBe(204);
    // holds[2] expires (1 s). Someone still waits, watching a stream.
    const waiting = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'w' });
    expect((await app.admin('PATCH', `/v1/events/${eventId}`, { paused: true })).status).toBe(200);
    const late = await app.request('POST', `/v1/events/${eventId}/queue`, { userId: 'z' });
    streams.push(await openSse(`${app.url}/v1/events/${eventId}/queue/${late.body.ticket}/events`));
    expect(waiting.status).toBe(202);
    expect((await app.admin('GET', `/v1/events/${eventId}/audit`)).status).toBe(200);

    // Light traffic while Prometheus scrapes, so every rate() window holds requests.
    let traffic = true;
    const background = (async () => {
      while (traffic) {
        await app.request('GET', `/v1/events/${eventId}/queue/${late.body.ticket}`);
        await app.request('GET', `/v1/events/${eventId}`);
        await sleep(50);
      }
    })();

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(25);
    // Grafana's variables as a user with "All" selected and a 15 s rate window would have them.
    const concrete = (expr: string) => expr.replaceAll('$__rate_interval', '15s').replaceAll('$event', '.*').replaceAll('$instance', '.*');
    const withData = async () => {
      const answers = await Promise.all(
        exprs.map(async ({ panel, expr }) => ({ panel, expr, finite: (await query(concrete(expr))).filter((r) => Number.isFinite(Number(r.value[1]))).length })),
      );
      return answers.filter((a) => a.finite === 0);
    };
    try {
      // Counters need two scrapes in the window; the expired hold needs the sweeper.
      const { value: empty } = await pollUntil(withData, (missing) => missing.length === 0, { timeoutMs: 30_000, intervalMs: 1000 }).catch(
        async () => ({ value: await withData() }),
      );
      expect(empty).toEqual([]);
    } finally {
      traffic = false;
      await background;
    }
    // Some of it, checked against what the test did.
    const sold = await query(`sum(queuegate_event_level_seats{event="${eventId}", state="sold"})`);
    expect(Number(sold[0].value[1])).toBe(2);
    const streamsOpen = await query(`sum(queuegate_sse_streams{event="${eventId}"})`);
    expect(Number(streamsOpen[0].value[1])).toBe(1);
  }, 60_000);

  it(`with Redis stopped QueuegateRedisDown fires within for: (${REDIS_DOWN_FOR_SECONDS} s) + 2 evaluations + 1 scrape, and resolves once Redis is back`, async () => {
    expect(await redisDown()).toBeUndefined();
    await redis.stop();
    const stoppedAt = performance.now();
    let firedAt: number;
    try {
      firedAt = await waitUntil('QueuegateRedisDown firing', async () => (await redisDown()) === 'firing', 30_000);
    } finally {
      await redis.start();
    }
    const firedAfterMs = firedAt - stoppedAt;
    console.log(`QueuegateRedisDown firing ${Math.round(firedAfterMs)} ms after Redis stopped (for: ${REDIS_DOWN_FOR_SECONDS} s)`);
    expect(firedAfterMs).toBeGreaterThanOrEqual(REDIS_DOWN_FOR_SECONDS * 1000);
    expect(firedAfterMs).toBeLessThanOrEqual((REDIS_DOWN_FOR_SECONDS + 2 * EVALUATION_SECONDS + SCRAPE_SECONDS) * 1000 + BUSY_MACHINE_MARGIN_MS);

    const restartedAt = performance.now();
    const resolvedAt = await waitUntil('QueuegateRedisDown resolved', async () => (await redisDown()) === undefined, 30_000);
    console.log(`QueuegateRedisDown resolved ${Math.round(resolvedAt - restartedAt)} ms after Redis was back`);
    expect(Number((await query('min(queuegate_redis_up)'))[0].value[1])).toBe(1);
  }, 60_000);
});
