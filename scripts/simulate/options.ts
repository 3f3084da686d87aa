/** The simulator's command line: what the crowd, the event and the run look like. */
import { readFileSync } from 'node:fs';

/** A venue layout as POST /v1/events takes it (`--layout FILE`). */
export interface Layout {
  priceLevels: { priceLevel: string; price: number; currency: string }[];
  sections: { sectionId: string; priceLevel: string; rows: { rowId: string; seats: number | string[] }[] }[];
}

export interface Options {
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
  /** the HTML report with charts */
  html: string;
  eventId: string;
  /** seconds of pre-queue before the sale starts (0: none); users then join spread over it */
  prequeue: number;
  /** a venue to sell instead of GA-1..GA-<seats> (then `seats` is its size) */
  layout?: Layout;
  /** share of "best available" buyers who ask for their seats together in one row (venues) */
  together: number;
}

/** Seats in a layout. */
export const layoutSize = (layout: Layout) =>
  layout.sections.reduce((n, s) => n + s.rows.reduce((m, r) => m + (Array.isArray(r.seats) ? r.seats.length : r.seats), 0), 0);

const USAGE = `usage: npm run simulate -- [--users N] [--seats N] [--url URL --admin-token T]
  --users N            users in the crowd (default 10000)
  --seats N            seats on sale, GA-1..GA-N (default 1000)
  --layout FILE        sell a venue instead: a JSON layout (priceLevels, sections
                       of rows) as POST /v1/events takes it; --seats is then its
                       size, --max-seats defaults to 6 and buyers want 1-6 seats
  --together P         share of best-available buyers asking for seats together
                       in one row (default 1 with --layout, else 0)
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
  --prequeue S         a scheduled sale: the event's salesStartAt is S seconds
                       away and every user joins the pre-queue at a random
                       moment before it; the report compares the ranks the
                       shuffle gave early and late joiners (default 0: none)
  --out FILE           JSON report (default simulate-report.json)
  --html FILE          the same report as a page with charts (default simulate-report.html)`;

export function parseOptions(argv: string[]): Options {
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
  const known = ['users', 'seats', 'layout', 'together', 'url', 'admin-token', 'connections', 'rate', 'max-active', 'session-ttl', 'hold-ttl', 'max-seats', 'confirm', 'release', 'expire', 'named', 'patience', 'think', 'poll-max', 'out', 'html', 'event', 'prequeue'];
  for (const key of raw.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}\n${USAGE}`);
  const num = (key: string, fallback: number, min: number, max: number, integer = true) => {
    const value = raw.has(key) ? Number(raw.get(key)) : fallback;
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`--${key} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    }
    return value;
  };
  let layout: Layout | undefined;
  if (raw.has('layout')) {
    const file = raw.get('layout') as string;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Layout | { layout: Layout };
    layout = 'layout' in parsed ? parsed.layout : parsed;
    if (!Array.isArray(layout?.sections) || !Array.isArray(layout?.priceLevels)) throw new Error(`--layout ${file}: no priceLevels and sections`);
  }
  const options: Options = {
    users: num('users', 10_000, 1, 10_000_000),
    seats: layout ? layoutSize(layout) : num('seats', 1000, 1, 100_000),
    layout,
    together: num('together', layout ? 1 : 0, 0, 1, false),
    url: raw.get('url')?.replace(/\/+$/, ''),
    adminToken: raw.get('admin-token') ?? (raw.has('url') ? process.env.ADMIN_TOKEN : undefined),
    connections: num('connections', 200, 1, 5000),
    rate: num('rate', 2000, 1, 100_000),
    maxActive: num('max-active', 5000, 1, 1_000_000),
    sessionTtl: num('session-ttl', 120, 1, 7200),
    holdTtl: num('hold-ttl', 20, 1, 3600),
    maxSeatsPerUser: num('max-seats', layout ? 6 : 4, 1, 20),
    confirm: num('confirm', 0.7, 0, 1, false),
    release: num('release', 0.2, 0, 1, false),
    expire: num('expire', 0.1, 0, 1, false),
    named: num('named', 0.6, 0, 1, false),
    patience: num('patience', 0.3, 0, 1, false),
    think: num('think', 1, 0, 100, false),
    pollMax: num('poll-max', 10, 1, 600, false),
    out: raw.get('out') ?? 'simulate-report.json',
    html: raw.get('html') ?? 'simulate-report.html',
    eventId: raw.get('event') ?? `sim-${Date.now().toString(36)}`,
    prequeue: num('prequeue', 0, 0, 3600, false),
  };
  const shares = options.confirm + options.release + options.expire;
  if (Math.abs(shares - 1) > 1e-9) throw new Error(`--confirm + --release + --expire must add up to 1 (they add up to ${shares})`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(options.eventId)) throw new Error('--event must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
  if (options.url && !options.adminToken) throw new Error('--url needs --admin-token (or ADMIN_TOKEN): the simulator creates and audits its event');
  return options;
}
