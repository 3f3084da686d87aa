/**
 * `npm run simulate -- --users 100000 --seats 5000 [--url URL --admin-token T]`
 *
 * Plays a flash crowd against queuegate: every user joins at once (bounded by
 * a pool of keep-alive connections), polls its ticket, is admitted, picks
 * seats (from the seat map, or "best available"), holds them, and then buys
 * (70 %), releases (20 %) or walks away and lets the hold expire (10 %).
 * Everyone who sees the event sold out gives up and leaves.
 *
 * Without --url it runs its own service: a private redis-server from PATH on
 * a free port and the built app (node dist/main.js) as child processes, both
 * stopped (by PID) on exit or Ctrl-C.
 *
 * At the end it checks the invariants (no seat sold twice, nothing oversold,
 * the audit clean, counters adding up, expired holds back on sale), prints a
 * report and writes it as JSON (--out, default simulate-report.json). The exit
 * status is 1 when an invariant failed, 2 when the run itself could not happen.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------- options

interface Options {
  users: number;
  seats: number;
  url?: string;
  adminToken?: string;
  connections: number;
  rate: number;
  maxActive: number;
  sessionTtl: number;
  holdTtl: number;
  maxSeatsPerUser: number;
  confirm: number;
  release: number;
  expire: number;
  /** share of users who pick named seats from the map (the rest ask for "best available") */
  named: number;
  /** share of users who, finding nothing available but seats held, keep looking until those holds could expire */
  patience: number;
  /** multiplies the think times (0: none) */
  think: number;
  /** longest pause between two polls of a waiting ticket, in seconds */
  pollMax: number;
  out: string;
  eventId: string;
}

const USAGE = `usage: npm run simulate -- [--users N] [--seats N] [--url URL --admin-token T]
  --users N            users in the crowd (default 10000)
  --seats N            seats on sale, GA-1..GA-N (default 1000)
  --url URL            a running queuegate; without it the simulator starts its own
  --admin-token T      admin token of that service (or ADMIN_TOKEN in the environment)
  --connections N      keep-alive connections to the service (default 200)
  --rate N             admission.ratePerSecond of the event (default 2000)
  --max-active N       admission.maxActive (default 5000)
  --session-ttl S      admission.sessionTtlSeconds (default 120)
  --hold-ttl S         holdTtlSeconds (default 20)
  --max-seats N        maxSeatsPerUser (default 4)
  --confirm P --release P --expire P
                       what holders do, as shares (default 0.7 0.2 0.1)
  --named P            share of users picking seats on the map (default 0.6)
  --patience P         share of users who, finding only held seats, keep looking
                       until those holds could have expired (default 0.3)
  --think X            think-time multiplier, 0 for none (default 1)
  --poll-max S         a waiting user polls every ETA/2 s, at least 1 s and at
                       most S s apart (default 10)
  --event ID           event id (default sim-<time>)
  --out FILE           JSON report (default simulate-report.json)`;

function parseOptions(argv: string[]): Options {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!arg.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${arg}\n${USAGE}`);
    raw.set(arg.slice(2), argv[(i += 1)]);
  }
  const known = ['users', 'seats', 'url', 'admin-token', 'connections', 'rate', 'max-active', 'session-ttl', 'hold-ttl', 'max-seats', 'confirm', 'release', 'expire', 'named', 'patience', 'think', 'poll-max', 'out', 'event'];
  for (const key of raw.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}\n${USAGE}`);
  const num = (key: string, fallback: number, min: number, max: number, integer = true) => {
    const value = raw.has(key) ? Number(raw.get(key)) : fallback;
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`--${key} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    }
    return value;
  };
  const options: Options = {
    users: num('users', 10_000, 1, 10_000_000),
    seats: num('seats', 1000, 1, 100_000),
    url: raw.get('url')?.replace(/\/+$/, ''),
    adminToken: raw.get('admin-token') ?? (raw.has('url') ? process.env.ADMIN_TOKEN : undefined),
    connections: num('connections', 200, 1, 5000),
    rate: num('rate', 2000, 1, 100_000),
    maxActive: num('max-active', 5000, 1, 1_000_000),
    sessionTtl: num('session-ttl', 120, 1, 7200),
    holdTtl: num('hold-ttl', 20, 1, 3600),
    maxSeatsPerUser: num('max-seats', 4, 1, 20),
    confirm: num('confirm', 0.7, 0, 1, false),
    release: num('release', 0.2, 0, 1, false),
    expire: num('expire', 0.1, 0, 1, false),
    named: num('named', 0.6, 0, 1, false),
    patience: num('patience', 0.3, 0, 1, false),
    think: num('think', 1, 0, 100, false),
    pollMax: num('poll-max', 10, 1, 600, false),
    out: raw.get('out') ?? 'simulate-report.json',
    eventId: raw.get('event') ?? `sim-${Date.now().toString(36)}`,
  };
  const shares = options.confirm + options.release + options.expire;
  if (Math.abs(shares - 1) > 1e-9) throw new Error(`--confirm + --release + --expire must add up to 1 (they add up to ${shares})`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(options.eventId)) throw new Error('--event must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
  if (options.url && !options.adminToken) throw new Error('--url needs --admin-token (or ADMIN_TOKEN): the simulator creates and audits its event');
  return options;
}

// ---------------------------------------------------------------- HTTP with a bounded keep-alive pool

interface Answer {
  status: number;
  body: any;
}

/** At most `permits` requests in flight; the rest wait in arrival order. */
class Semaphore {
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(private permits: number) {}

  async acquire(): Promise<void> {
    if (this.permits > 0) {
      this.permits -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head];
      this.head += 1;
      if (this.head > 4096 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
    } else {
      this.permits += 1;
    }
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }
}

class Http {
  readonly latency = new Map<string, number[]>();
  readonly statuses = new Map<string, Map<string, number>>();
  requests = 0;
  private readonly agent: Agent;
  private readonly gate: Semaphore;
  private readonly host: string;
  private readonly port: number;

  constructor(base: string, connections: number) {
    const url = new URL(base);
    if (url.protocol !== 'http:') throw new Error(`only http:// URLs are supported (got ${base})`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
    this.gate = new Semaphore(connections);
  }

  get queued(): number {
    return this.gate.queued;
  }

  /** One request; `endpoint` names it in the latency table. Never throws: a network error is status 0. */
  async call(endpoint: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    await this.gate.acquire();
    const started = performance.now();
    try {
      const answer = await this.send(method, path, body, headers);
      this.record(endpoint, answer, performance.now() - started);
      return answer;
    } finally {
      this.gate.release();
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private record(endpoint: string, answer: Answer, ms: number): void {
    this.requests += 1;
    let list = this.latency.get(endpoint);
    if (!list) this.latency.set(endpoint, (list = []));
    list.push(ms);
    let counts = this.statuses.get(endpoint);
    if (!counts) this.statuses.set(endpoint, (counts = new Map()));
    const key = answer.status >= 400 || answer.status === 0 ? `${answer.status} ${answer.body?.code ?? ''}`.trim() : String(answer.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  private send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers } : headers,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', (err) => resolve({ status: 0, body: { code: 'NETWORK', message: err.message } }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
      req.on('error', (err) => resolve({ status: 0, body: { code: 'NETWORK', message: err.message } }));
      req.end(payload);
    });
  }
}

// ---------------------------------------------------------------- an embedded service

interface Embedded {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
  logFile: string;
}

const ROOT = resolve(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Stops one child we started: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function startEmbedded(log: (line: string) => void): Promise<Embedded> {
  const main = join(ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run simulate does)`);
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not on PATH: install it (Debian: apt-get install redis-server) or pass --url');
  }
  const dir = mkdtempSync(join(tmpdir(), 'queuegate-sim-'));
  const children: ChildProcess[] = [];
  // Last resort if this process dies without cleaning up: kill our own children by PID.
  const killNow = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  process.once('exit', killNow);
  const stop = async () => {
    // The app first (it closes its Redis client), then Redis; each by its own PID.
    for (const child of [...children].reverse()) await stopChild(child);
    process.removeListener('exit', killNow);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    children.push(redis);
    for (let i = 0; !(await redisPing(redisPort)); i += 1) {
      if (i > 100 || redis.exitCode !== null) throw new Error(`the private redis-server on port ${redisPort} did not start`);
      await sleep(50);
    }
    const port = await freePort();
    const adminToken = `sim-${randomBytes(16).toString('base64url')}`;
    const logFile = join(dir, 'service.log');
    const out = createWriteStream(logFile);
    const app = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        ADMIN_TOKEN: adminToken,
        ACCESS_TOKEN_SECRET: randomBytes(32).toString('base64url'),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(app);
    app.stdout?.pipe(out);
    app.stderr?.pipe(out);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (app.exitCode !== null) throw new Error(`the service exited with ${app.exitCode}:\n${readFileSync(logFile, 'utf8')}`);
      const ready = await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the service did not become ready in 30 s:\n${readFileSync(logFile, 'utf8')}`);
      await sleep(100);
    }
    log(`embedded service: ${url} (pid ${app.pid}), redis-server on port ${redisPort} (pid ${redis.pid})`);
    return { url, adminToken, stop, logFile };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------- the crowd

interface Tallies {
  joined: number;
  joinFailed: number;
  admitted: number;
  lostTicket: number;
  holds: number;
  seatConflicts: number;
  confirmed: number;
  confirmedSeats: number;
  confirmFailed: number;
  confirmUnknown: number;
  released: number;
  abandoned: number;
  soldOutGaveUp: number;
  sessionOver: number;
  left: number;
  done: number;
}

interface Sample {
  t: number;
  joined: number;
  waiting: number;
  active: number;
  available: number;
  held: number;
  sold: number;
}

const rand = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: T[], n: number): T[] => {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
};
/** How many seats one person wants: mostly pairs. */
function seatsWanted(max: number): number {
  const r = Math.random();
  const want = r < 0.2 ? 1 : r < 0.65 ? 2 : r < 0.8 ? 3 : 4;
  return Math.min(want, max);
}

class Crowd {
  readonly t: Tallies = {
    joined: 0, joinFailed: 0, admitted: 0, lostTicket: 0, holds: 0, seatConflicts: 0, confirmed: 0, confirmedSeats: 0,
    confirmFailed: 0, confirmUnknown: 0, released: 0, abandoned: 0, soldOutGaveUp: 0, sessionOver: 0, left: 0, done: 0,
  };
  /** every seat in every order the clients got back (a seat twice here is a seat sold twice) */
  readonly orderSeats: string[] = [];
  readonly orderIds = new Set<string>();
  soldOutAtMs?: number;
  /** when the clients' confirmed seats first reached 50 / 90 / 99 / 100 % of capacity (ms since start) */
  readonly soldMilestones: Record<string, number> = {};
  private readonly path: string;

  constructor(
    private readonly http: Http,
    private readonly o: Options,
    private readonly started: number,
  ) {
    this.path = `/v1/events/${o.eventId}`;
  }

  private think(minMs: number, maxMs: number): Promise<void> {
    return this.o.think > 0 ? sleep(rand(minMs, maxMs) * this.o.think) : Promise.resolve();
  }

  /** Retries what a real client would retry: 503 and network errors, with backoff. */
  private async retrying(endpoint: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> {
    let answer: Answer = { status: 0, body: undefined };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      answer = await this.http.call(endpoint, method, path, body, headers);
      if (answer.status !== 0 && answer.status !== 503) return answer;
      await sleep(200 * 2 ** attempt + rand(0, 200));
    }
    return answer;
  }

  async user(index: number): Promise<void> {
    try {
      await this.journey(index);
    } finally {
      this.t.done += 1;
    }
  }

  private async journey(index: number): Promise<void> {
    const joined = await this.retrying('join', 'POST', `${this.path}/queue`, { userId: `u${index}` });
    if (joined.status !== 202) {
      this.t.joinFailed += 1;
      return;
    }
    this.t.joined += 1;
    const ticket = joined.body.ticket as string;
    let eta = Number(joined.body.etaSeconds) || 1;

    // Wait: poll about twice per remaining ETA, at least 1 s and at most --poll-max apart.
    let token: string | undefined;
    while (!token) {
      await sleep(Math.min(this.o.pollMax, Math.max(1, eta / 2)) * rand(800, 1200));
      const status = await this.retrying('status', 'GET', `${this.path}/queue/${ticket}`);
      if (status.status !== 200) {
        this.t.lostTicket += 1;
        return;
      }
      if (status.body.status === 'admitted') token = status.body.accessToken as string;
      else eta = Number(status.body.etaSeconds) || 1;
    }
    this.t.admitted += 1;
    const auth = { authorization: `Bearer ${token}` };
    const leave = async () => {
      const r = await this.retrying('leave', 'DELETE', `${this.path}/queue/${ticket}`);
      if (r.status === 204) this.t.left += 1;
    };

    await this.think(300, 2000); // looking at the map
    const hold = await this.tryHold(auth);
    if (!hold) return leave();

    await this.think(500, 3000); // paying
    const r = Math.random();
    if (r < this.o.confirm) {
      const confirmed = await this.retrying('confirm', 'POST', `${this.path}/holds/${hold.holdId}/confirm`, {}, {
        ...auth,
        'idempotency-key': `c-${hold.holdId}`,
      });
      if (confirmed.status === 201 || confirmed.status === 200) {
        if (!this.orderIds.has(confirmed.body.orderId)) {
          this.orderIds.add(confirmed.body.orderId);
          this.t.confirmed += 1;
          for (const seatId of confirmed.body.seatIds as string[]) this.orderSeats.push(seatId);
          this.t.confirmedSeats += confirmed.body.seatIds.length;
          for (const share of [0.5, 0.9, 0.99, 1]) {
            const key = `${Math.round(share * 100)}%`;
            if (this.soldMilestones[key] === undefined && this.t.confirmedSeats >= Math.ceil(share * this.o.seats)) {
              this.soldMilestones[key] = Math.round((performance.now() - this.started) / 100) / 10;
            }
          }
          if (this.soldOutAtMs === undefined && this.t.confirmedSeats >= this.o.seats) this.soldOutAtMs = performance.now() - this.started;
        }
      } else if (confirmed.status === 0 || confirmed.status >= 500) {
        this.t.confirmUnknown += 1;
      } else {
        this.t.confirmFailed += 1;
      }
    } else if (r < this.o.confirm + this.o.release) {
      const released = await this.retrying('release', 'DELETE', `${this.path}/holds/${hold.holdId}`, undefined, auth);
      if (released.status === 204) this.t.released += 1;
    } else {
      this.t.abandoned += 1; // closes the tab: the hold expires, the session times out
      return;
    }
    await leave();
  }

  /**
   * Tries to hold seats; undefined when there are none to be had or the
   * session ended. Lost races are retried at once. When nothing is available
   * but some seats are only held, an impatient person gives up after a couple
   * of looks; a patient one (--patience) keeps looking every 3-6 s until the
   * holds seen could have expired.
   */
  private async tryHold(auth: Record<string, string>): Promise<{ holdId: string } | undefined> {
    let want = seatsWanted(this.o.maxSeatsPerUser);
    const named = Math.random() < this.o.named;
    const patient = Math.random() < this.o.patience;
    const giveUpAt = performance.now() + (this.o.holdTtl + 10) * 1000;
    let looks = 0;
    let conflicts = 0;
    /** Nothing available now: wait and look again, or give up. */
    const noneNow = async (held: number): Promise<boolean> => {
      looks += 1;
      if (held === 0) return false; // sold for good
      if (patient ? performance.now() > giveUpAt : looks >= 3) return false;
      await sleep(rand(3000, 6000));
      return true;
    };
    for (;;) {
      let body: { seatIds: string[] } | { quantity: number };
      if (named) {
        const seats = await this.availableSeats();
        if (seats.ids.length === 0) {
          if (await noneNow(seats.held)) continue;
          break;
        }
        body = { seatIds: pick(seats.ids, Math.min(want, seats.ids.length)) };
      } else {
        body = { quantity: want };
      }
      const r = await this.retrying('hold', 'POST', `${this.path}/holds`, body, auth);
      if (r.status === 201) {
        this.t.holds += 1;
        return r.body;
      }
      const code = r.body?.code;
      if (code === 'SEAT_UNAVAILABLE' && (conflicts += 1) < 6) {
        this.t.seatConflicts += 1;
        continue;
      }
      if (code === 'SOLD_OUT') {
        const available = Number(r.body?.available);
        if (available > 0) {
          want = Math.min(want, available); // fewer left than wanted: take what there is
          continue;
        }
        const view = await this.retrying('event', 'GET', this.path);
        if (await noneNow(Number(view.body?.held) || 0)) continue;
        break;
      }
      if (code === 'FORBIDDEN') {
        this.t.sessionOver += 1;
        return undefined;
      }
      break; // anything else: give up
    }
    this.t.soldOutGaveUp += 1;
    return undefined;
  }

  /** A page of available seats from a random place in the map (as a person scrolling would see). */
  private async availableSeats(): Promise<{ ids: string[]; held: number }> {
    const cursor = Math.floor(Math.random() * this.o.seats);
    let page = await this.retrying('seats', 'GET', `${this.path}/seats?status=available&limit=50&cursor=${cursor}`);
    if (page.status === 200 && page.body.seats.length < 4 && cursor > 0) {
      page = await this.retrying('seats', 'GET', `${this.path}/seats?status=available&limit=50`);
    }
    if (page.status !== 200) return { ids: [], held: 0 };
    return { ids: (page.body.seats as { seatId: string }[]).map((s) => s.seatId), held: Number(page.body.held) };
  }
}

// ---------------------------------------------------------------- report

interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function summarize(values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { count: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1] ?? 0) };
}

/** Admission rate seen from outside: admitted = joined − waiting, between samples. */
function admissionStats(samples: Sample[], configured: number, maxActive: number) {
  const admitted = (s: Sample) => s.joined - s.waiting;
  const backlogged = samples.filter((s) => s.waiting > 0);
  let peak = 0;
  for (let i = 1; i < samples.length; i += 1) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (dt > 0.5) peak = Math.max(peak, (admitted(samples[i]) - admitted(samples[i - 1])) / dt);
  }
  let mean = 0;
  let seconds = 0;
  if (backlogged.length >= 2) {
    const first = backlogged[0];
    const last = backlogged[backlogged.length - 1];
    seconds = (last.t - first.t) / 1000;
    mean = seconds > 0 ? (admitted(last) - admitted(first)) / seconds : 0;
  }
  // While active sessions fill maxActive (within 2 %: freed slots are refilled every tick),
  // admission can go no faster than sessions end, whatever the rate.
  const full = backlogged.filter((s) => s.active >= 0.98 * maxActive).length;
  return {
    configuredPerSecond: configured,
    achievedMeanPerSecond: Math.round(mean),
    peakPerSecond: Math.round(peak),
    backloggedSeconds: Math.round(seconds * 10) / 10,
    maxActive,
    peakActive: Math.max(0, ...samples.map((s) => s.active)),
    shareOfWaitingTimeAtMaxActive: backlogged.length ? Math.round((full / backlogged.length) * 100) / 100 : 0,
    note: 'admitted = joined - waiting, sampled about once a second while users were waiting; peak is over one sample interval',
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const tty = process.stderr.isTTY === true;
  const log = (line: string) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);

  let embedded: Embedded | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= embedded ? embedded.stop() : Promise.resolve());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping${embedded ? ' the embedded service and redis-server' : ''}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    if (!o.url) embedded = await startEmbedded(log);
    const base = o.url ?? embedded!.url;
    const adminToken = o.adminToken ?? embedded!.adminToken;
    const admin = { authorization: `Bearer ${adminToken}` };
    const http = new Http(base, o.connections);

    const created = await http.call('admin', 'POST', '/v1/events', {
      eventId: o.eventId,
      capacity: o.seats,
      holdTtlSeconds: o.holdTtl,
      maxSeatsPerUser: o.maxSeatsPerUser,
      admission: { ratePerSecond: o.rate, maxActive: o.maxActive, sessionTtlSeconds: o.sessionTtl },
    }, admin);
    if (created.status !== 201) throw new Error(`creating event ${o.eventId}: ${created.status} ${JSON.stringify(created.body)}`);
    log(
      `event ${o.eventId}: ${o.seats.toLocaleString()} seats, admission ${o.rate}/s (maxActive ${o.maxActive}, session ${o.sessionTtl} s), ` +
        `hold ${o.holdTtl} s, max ${o.maxSeatsPerUser} seats/user; ${o.users.toLocaleString()} users over ${o.connections} connections`,
    );

    const started = performance.now();
    const crowd = new Crowd(http, o, started);
    const samples: Sample[] = [];
    let last: Sample | undefined;
    let lastRequests = 0;
    let lastAt = started;
    let rps = 0;

    // Sampler: the event's counters once a second (its own connection, not the pool).
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const joinedBefore = crowd.t.joined;
        const view = await fetch(`${base}/v1/events/${o.eventId}`).then((r) => r.json() as Promise<any>, () => undefined);
        if (view && typeof view.waiting === 'number') {
          last = { t: performance.now() - started, joined: joinedBefore, waiting: view.waiting, active: view.active, available: view.available, held: view.held, sold: view.sold };
          samples.push(last);
        }
        await sleep(1000);
      }
    })();

    // Progress on stderr: one updating line on a terminal, a line every 5 s otherwise.
    const bar = (done: number, total: number, width = 24) => {
      const filled = Math.round((Math.min(done, total) / Math.max(total, 1)) * width);
      return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    };
    const progress = () => {
      const now = performance.now();
      rps = ((http.requests - lastRequests) * 1000) / Math.max(now - lastAt, 1);
      lastRequests = http.requests;
      lastAt = now;
      const t = crowd.t;
      const line =
        `${bar(last?.sold ?? 0, o.seats)} sold ${(last?.sold ?? 0).toLocaleString()}/${o.seats.toLocaleString()}` +
        ` | joined ${t.joined.toLocaleString()}/${o.users.toLocaleString()} | admitted ${t.admitted.toLocaleString()}` +
        ` | waiting ${(last?.waiting ?? 0).toLocaleString()} | done ${t.done.toLocaleString()}` +
        ` | ${Math.round(rps).toLocaleString()} req/s | ${((now - started) / 1000).toFixed(0)} s`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    };
    const ticker = setInterval(progress, tty ? 250 : 5000);

    await Promise.all(Array.from({ length: o.users }, (_, i) => crowd.user(i)));
    const crowdDoneMs = performance.now() - started;
    clearInterval(ticker);
    progress();
    if (tty) process.stderr.write('\n');

    // Walked-away holds must come back on sale within holdTtl (+1 s for the sweep).
    log(`all users done in ${(crowdDoneMs / 1000).toFixed(1)} s; waiting for abandoned holds to expire`);
    const settleDeadline = performance.now() + (o.holdTtl + 5) * 1000;
    let view: any;
    for (;;) {
      view = (await http.call('event', 'GET', `/v1/events/${o.eventId}`)).body;
      if (view?.held === 0 || performance.now() > settleDeadline) break;
      await sleep(250);
    }
    sampling = false;
    await sampler;
    const audit = await http.call('audit', 'GET', `/v1/events/${o.eventId}/audit`, undefined, admin);
    http.close();

    const t = crowd.t;
    const distinct = new Set(crowd.orderSeats);
    const duplicateSeats = crowd.orderSeats.length - distinct.size;
    const sold = Number(view?.sold);
    const oversold = Math.max(0, sold - o.seats, distinct.size - o.seats, Number(audit.body?.recount?.sold) - o.seats);
    const invariants = {
      oversoldIsZero: oversold === 0,
      noSeatInTwoOrders: duplicateSeats === 0,
      auditClean: audit.status === 200 && audit.body.ok === true && audit.body.mismatches.length === 0,
      countersAddUp: view?.available + view?.held + view?.sold === o.seats,
      soldEqualsConfirmedByClients: t.confirmUnknown > 0 ? sold >= distinct.size : sold === distinct.size,
      abandonedHoldsReturned: view?.held === 0,
      everyUserFinished: t.done === o.users,
    };
    const ok = Object.values(invariants).every(Boolean);
    const latencyMs = Object.fromEntries([...http.latency.entries()].map(([k, v]) => [k, summarize(v)]));
    const statuses = Object.fromEntries([...http.statuses.entries()].map(([k, v]) => [k, Object.fromEntries(v)]));
    const report = {
      command: `npm run simulate -- ${process.argv.slice(2).join(' ')}`.trim(),
      target: o.url ?? 'embedded (private redis-server + node dist/main.js)',
      machine: { cpus: cpus().length, node: process.version },
      eventId: o.eventId,
      config: {
        users: o.users, seats: o.seats, connections: o.connections,
        admission: { ratePerSecond: o.rate, maxActive: o.maxActive, sessionTtlSeconds: o.sessionTtl },
        holdTtlSeconds: o.holdTtl, maxSeatsPerUser: o.maxSeatsPerUser,
        holders: { confirm: o.confirm, release: o.release, expire: o.expire }, namedSeatShare: o.named, patientShare: o.patience, thinkMultiplier: o.think, pollMaxSeconds: o.pollMax,
      },
      durationSeconds: Math.round(crowdDoneMs / 100) / 10,
      timeToSellOutSeconds: crowd.soldOutAtMs === undefined ? null : Math.round(crowd.soldOutAtMs / 100) / 10,
      secondsToSell: crowd.soldMilestones,
      seats: {
        capacity: o.seats, sold, held: view?.held, available: view?.available,
        confirmedByClients: distinct.size, oversold, duplicateSeats,
      },
      users: t,
      admission: admissionStats(samples, o.rate, o.maxActive),
      audit: { ok: audit.body?.ok, mismatches: audit.body?.mismatches, recount: audit.body?.recount },
      requests: { total: http.requests, perSecond: Math.round(http.requests / (crowdDoneMs / 1000)) },
      latencyMs,
      statuses,
      // The event's counters about once a second: to see what held the admission rate back.
      timeline: samples.map((x, i) => ({
        t: Math.round(x.t / 100) / 10,
        waiting: x.waiting,
        active: x.active,
        admittedPerSecond: i === 0 ? 0 : Math.round(((x.joined - x.waiting) - (samples[i - 1].joined - samples[i - 1].waiting)) / ((x.t - samples[i - 1].t) / 1000)),
        available: x.available,
        held: x.held,
        sold: x.sold,
      })),
      invariants,
      ok,
    };
    writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
    process.stdout.write(`\nreport written to ${resolve(o.out)}\n`);
    if (!ok) process.stdout.write(`INVARIANT FAILED: ${Object.entries(invariants).filter(([, v]) => !v).map(([k]) => k).join(', ')}\n`);
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

function printReport(r: any): void {
  const n = (x: number) => (typeof x === 'number' ? x.toLocaleString() : String(x));
  const lines = [
    '',
    `queuegate flash-crowd simulation: ${n(r.config.users)} users, ${n(r.config.seats)} seats (${r.target})`,
    '',
    `  sold               ${n(r.seats.sold)} of ${n(r.seats.capacity)}   (confirmed by clients: ${n(r.seats.confirmedByClients)})`,
    `  oversold           ${r.seats.oversold}   (seats in two orders: ${r.seats.duplicateSeats})`,
    `  audit              ${r.audit.ok ? 'clean' : `NOT CLEAN: ${JSON.stringify(r.audit.mismatches)}`}   recount ${JSON.stringify(r.audit.recount)}`,
    `  time to sell out   ${r.timeToSellOutSeconds === null ? 'not sold out' : `${r.timeToSellOutSeconds} s`}   ` +
      `(${Object.entries(r.secondsToSell).map(([k, v]) => `${k} at ${v} s`).join(', ') || 'no seat sold'})`,
    `  all users done in  ${r.durationSeconds} s   (${n(r.requests.total)} requests, ${n(r.requests.perSecond)} req/s)`,
    `  admission          configured ${n(r.admission.configuredPerSecond)}/s, achieved ${n(r.admission.achievedMeanPerSecond)}/s on average ` +
      `over ${r.admission.backloggedSeconds} s with users waiting (peak ${n(r.admission.peakPerSecond)}/s); ` +
      `active sessions at maxActive ${n(r.admission.maxActive)} (within 2 %) for ${Math.round(r.admission.shareOfWaitingTimeAtMaxActive * 100)} % of that time`,
    `  users              joined ${n(r.users.joined)}, admitted ${n(r.users.admitted)}, held ${n(r.users.holds)}, ` +
      `bought ${n(r.users.confirmed)}, released ${n(r.users.released)}, walked away ${n(r.users.abandoned)}, ` +
      `found it sold out ${n(r.users.soldOutGaveUp)}, lost a seat race ${n(r.users.seatConflicts)} times`,
    '',
    '  latency (ms)        count      p50      p95      p99      max',
    ...Object.entries(r.latencyMs as Record<string, LatencySummary>).map(
      ([k, v]) => `  ${k.padEnd(16)} ${n(v.count).padStart(8)} ${String(v.p50).padStart(8)} ${String(v.p95).padStart(8)} ${String(v.p99).padStart(8)} ${String(v.max).padStart(8)}`,
    ),
    '',
    `  invariants         ${Object.entries(r.invariants).map(([k, v]) => `${k} ${v ? 'ok' : 'FAILED'}`).join(', ')}`,
    `  result             ${r.ok ? 'OK' : 'FAILED'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`\nsimulate: ${err.message}\n`);
    process.exit(2);
  },
);
