import type { CrowdRun, Outcome, Sample, Tallies } from './crowd';
import { parseOptions } from './options';
import { renderHtml } from './html-report';
import { admissionStats, buildReport, fairStartStats, failedInvariants, formatReport, ReportInput, summarize, toldSoldOutStats } from './report';

// The report is computed from collected numbers only: these runs are made up.

const options = parseOptions(['--users', '10', '--seats', '6', '--max-active', '4', '--rate', '5', '--event', 'sim-spec']);

function tallies(over: Partial<Tallies> = {}): Tallies {
  return {
    joined: 10, joinFailed: 0, admitted: 10, lostTicket: 0, holds: 5, seatConflicts: 2, togetherHolds: 0, noAdjacent: 0, togetherBroken: 0, confirmed: 3, confirmedSeats: 6,
    confirmFailed: 0, confirmUnknown: 0, released: 1, abandoned: 1, soldOutGaveUp: 5, sessionOver: 0, left: 9, done: 10,
    ...over,
  };
}

/** The ten users' ends: 3 bought, 1 released, 1 walked away, 3 found no seats, 2 were told soldOut while waiting. */
const outcomes = (over: Partial<Record<Outcome, number>> = {}): Record<Outcome, number> => ({
  bought: 3, released: 1, walkedAway: 1, foundNoSeats: 3, sessionOver: 0, confirmFailed: 0, toldSoldOut: 2, toldClosed: 0, lost: 0,
  ...over,
});

/** Ten people in line at first, admitted 4, 4, then 2 a second; active sessions at maxActive (4) for two samples. */
const samples: Sample[] = [
  { t: 0, joined: 10, waiting: 10, active: 0, available: 6, held: 0, sold: 0 },
  { t: 1000, joined: 10, waiting: 6, active: 4, available: 2, held: 4, sold: 0 },
  { t: 2000, joined: 10, waiting: 2, active: 4, available: 0, held: 4, sold: 2 },
  { t: 3000, joined: 10, waiting: 0, active: 2, available: 0, held: 1, sold: 5 },
];

function input(run: Partial<CrowdRun> = {}): ReportInput {
  return {
    command: 'npm run simulate -- --users 10 --seats 6',
    target: 'http://example.test',
    machine: { cpus: 2, node: 'v20.0.0' },
    options,
    run: {
      tallies: tallies(),
      orderSeats: ['GA-1', 'GA-2', 'GA-3', 'GA-4', 'GA-5', 'GA-6'],
      soldOutAtMs: 3456,
      soldMilestones: { '50%': 1.2, '90%': 3.4, '99%': 3.5, '100%': 3.5 },
      outcomes: outcomes(),
      toldSoldOutAtMs: [3956, 5456],
      crowdDoneMs: 4000,
      samples,
      finalView: { available: 0, held: 0, sold: 6 },
      audit: { status: 200, body: { ok: true, mismatches: [], recount: { sold: 6, held: 0 } } },
      ...run,
    },
    http: {
      requests: 100,
      latency: new Map([
        ['join', [5, 1, 3, 2, 4]],
        ['hold', [10.04]],
      ]),
      statuses: new Map([
        ['join', new Map([['202', 10]])],
        ['hold', new Map([['201', 5], ['409 SEAT_UNAVAILABLE', 2]])],
      ]),
    },
  };
}

describe('simulate report', () => {
  it('summarize: count, nearest-rank percentiles and max, rounded to 0.1 ms; zeros for no values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i + 0.04); // 100.04 .. 1.04, unsorted
    expect(summarize(values)).toEqual({ count: 100, p50: 51, p95: 96, p99: 100, max: 100 });
    expect(summarize([2.26, 0.5])).toEqual({ count: 2, p50: 2.3, p95: 2.3, p99: 2.3, max: 2.3 });
    expect(summarize([])).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  it('admissionStats: mean over the backlogged samples, peak over one interval, time at maxActive', () => {
    expect(admissionStats(samples, 5, 4)).toEqual({
      configuredPerSecond: 5,
      achievedMeanPerSecond: 4, // 8 admitted between t=0 and t=2 s, the last sample with people waiting
      peakPerSecond: 4,
      backloggedSeconds: 2,
      maxActive: 4,
      peakActive: 4,
      shareOfWaitingTimeAtMaxActive: 0.67, // 2 of the 3 backlogged samples
      note: expect.any(String),
    });
    // One sample, or none: no rate can be measured.
    expect(admissionStats(samples.slice(0, 1), 5, 4)).toMatchObject({ achievedMeanPerSecond: 0, peakPerSecond: 0, backloggedSeconds: 0 });
    expect(admissionStats([], 5, 4)).toMatchObject({ peakActive: 0, shareOfWaitingTimeAtMaxActive: 0 });
  });

  it('renderHtml: one self-contained page, five charts drawn from the numbers, text escaped', () => {
    const report = buildReport({ ...input(), command: 'npm run simulate -- --event "<script>alert(1)</script>"' });
    const html = renderHtml(report);
    expect([...html.matchAll(/<figure id="([a-z]+)">/g)].map((m) => m[1])).toEqual(['waiting', 'admitted', 'seats', 'latency', 'outcomes']);
    const figure = (id: string) => html.slice(html.indexOf(`<figure id="${id}">`), html.indexOf('</figure>', html.indexOf(`<figure id="${id}">`)));
    const paths = (id: string) => [...figure(id).matchAll(/<path [^>]*d="([^"]+)"/g)].map((m) => m[1]);
    // four samples: a line of four points per series
    expect(paths('waiting')).toHaveLength(2);
    expect(paths('waiting')[0].split(' ')).toHaveLength(4);
    expect(paths('seats')).toHaveLength(3);
    expect(paths('latency')).toHaveLength(2 * 3); // join and hold, p50/p95/p99
    expect(paths('outcomes')).toHaveLength(5); // the outcomes with users
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toMatch(/(src|href)="http/); // nothing fetched
  });

  it('told sold out: timed from the last confirm, else from the first sample with nothing left', () => {
    const soldOut: Sample = { t: 3500, joined: 10, waiting: 0, active: 0, available: 0, held: 0, sold: 6 };
    const told = (run: Partial<CrowdRun>) => buildReport(input({ toldSoldOutAtMs: [3500, 5000], ...run })).toldSoldOut.afterSellOutSeconds;
    expect(told({ soldOutAtMs: 3000, samples: [...samples, soldOut] })).toEqual({ p50: 2, p95: 2, max: 2 });
    expect(told({ soldOutAtMs: undefined, samples: [...samples, soldOut] })).toEqual({ p50: 1.5, p95: 1.5, max: 1.5 });
    expect(told({ soldOutAtMs: undefined })).toEqual({ p50: 0, p95: 0, max: 0 }); // never seen sold out
  });

  it('a user in no outcome (or in two) fails everyUserCounted', () => {
    expect(failedInvariants(buildReport(input({ outcomes: outcomes({ lost: 1 }) })))).toEqual(['everyUserCounted']);
    expect(failedInvariants(buildReport(input({ outcomes: outcomes({ toldSoldOut: 1 }) })))).toEqual(['everyUserCounted']);
  });

  it('toldSoldOutStats: seconds after the sell-out, an answer before it counts as 0; none without a sell-out', () => {
    expect(toldSoldOutStats([1000, 2500, 12_000, 900], 1000)).toEqual({ users: 4, afterSellOutSeconds: { p50: 1.5, p95: 11, max: 11 } });
    expect(toldSoldOutStats([1000], undefined)).toEqual({ users: 1, afterSellOutSeconds: { p50: 0, p95: 0, max: 0 } });
    expect(toldSoldOutStats([], 1000)).toEqual({ users: 0, afterSellOutSeconds: { p50: 0, p95: 0, max: 0 } });
  });

  it('a together hold that was not side by side fails the run', () => {
    const base = input();
    const report = buildReport({ ...base, run: { ...base.run, tallies: { ...base.run.tallies, togetherHolds: 3, togetherBroken: 1 } } });
    expect(failedInvariants(report)).toEqual(['togetherHoldsSideBySide']);
    expect(report.ok).toBe(false);
  });

  it('a clean run: every invariant holds and the numbers are carried through', () => {
    const report = buildReport(input());
    expect(report.invariants).toEqual({
      oversoldIsZero: true,
      noSeatInTwoOrders: true,
      auditClean: true,
      countersAddUp: true,
      soldEqualsConfirmedByClients: true,
      abandonedHoldsReturned: true,
      everyUserFinished: true,
      everyUserCounted: true,
      togetherHoldsSideBySide: true,
    });
    expect(report.outcomes).toEqual(outcomes());
    expect(report.toldSoldOut).toEqual({ users: 2, afterSellOutSeconds: { p50: 2, p95: 2, max: 2 } });
    expect(report.ok).toBe(true);
    expect(failedInvariants(report)).toEqual([]);
    expect(report.seats).toEqual({ capacity: 6, sold: 6, held: 0, available: 0, confirmedByClients: 6, oversold: 0, duplicateSeats: 0 });
    expect(report.durationSeconds).toBe(4);
    expect(report.timeToSellOutSeconds).toBe(3.5);
    expect(report.requests).toEqual({ total: 100, perSecond: 25 });
    expect(report.latencyMs).toEqual({
      join: { count: 5, p50: 3, p95: 5, p99: 5, max: 5 },
      hold: { count: 1, p50: 10, p95: 10, p99: 10, max: 10 },
    });
    expect(report.statuses).toEqual({ join: { '202': 10 }, hold: { '201': 5, '409 SEAT_UNAVAILABLE': 2 } });
    expect(report.timeline.map((x) => x.admittedPerSecond)).toEqual([0, 4, 4, 2]);
    expect(report.timeline[1]).toEqual({ t: 1, waiting: 6, active: 4, admittedPerSecond: 4, available: 2, held: 4, sold: 0 });
    expect(report.config).toMatchObject({ users: 10, seats: 6, admission: { ratePerSecond: 5, maxActive: 4 } });
    expect(report.eventId).toBe('sim-spec');
    // Pure: the same numbers give the same report.
    expect(buildReport(input())).toEqual(report);
  });

  it('not sold out: timeToSellOutSeconds is null and the text says so', () => {
    const report = buildReport(input({ soldOutAtMs: undefined, soldMilestones: {} }));
    expect(report.timeToSellOutSeconds).toBeNull();
    expect(formatReport(report)).toContain('time to sell out   not sold out   (no seat sold)');
  });

  it('a seat in two orders and a seat too many: oversold and duplicate are counted and fail the run', () => {
    const report = buildReport(
      input({
        orderSeats: ['GA-1', 'GA-2', 'GA-3', 'GA-4', 'GA-5', 'GA-6', 'GA-2'],
        finalView: { available: -1, held: 0, sold: 7 },
        audit: { status: 200, body: { ok: false, mismatches: [{ seatId: 'GA-2' }], recount: { sold: 7 } } },
      }),
    );
    expect(report.seats).toMatchObject({ sold: 7, oversold: 1, duplicateSeats: 1, confirmedByClients: 6 });
    expect(report.ok).toBe(false);
    expect(failedInvariants(report)).toEqual(['oversoldIsZero', 'noSeatInTwoOrders', 'auditClean', 'soldEqualsConfirmedByClients']);
    const text = formatReport(report);
    expect(text).toContain('oversold           1   (seats in two orders: 1)');
    expect(text).toContain('audit              NOT CLEAN: [{"seatId":"GA-2"}]');
    expect(text).toContain('noSeatInTwoOrders FAILED');
    expect(text).toMatch(/result {13}FAILED\n$/);
  });

  it('holds still out, counters off, users unfinished, audit unreadable: each fails its own invariant', () => {
    const report = buildReport(
      input({
        tallies: tallies({ done: 9 }),
        finalView: { available: 0, held: 1, sold: 6 },
        audit: { status: 503, body: { code: 'UNAVAILABLE' } },
      }),
    );
    // Without the audit's recount, oversold cannot be shown to be 0 either.
    expect(report.seats.oversold).toBeNaN();
    expect(failedInvariants(report)).toEqual(['oversoldIsZero', 'auditClean', 'countersAddUp', 'abandonedHoldsReturned', 'everyUserFinished']);
  });

  it('a confirm whose answer was lost may have sold more than the clients saw, never fewer', () => {
    const unknown = tallies({ confirmUnknown: 1 });
    const more = buildReport(input({ tallies: unknown, orderSeats: ['GA-1', 'GA-2', 'GA-3', 'GA-4', 'GA-5'] }));
    expect(more.invariants.soldEqualsConfirmedByClients).toBe(true);
    const fewer = buildReport(input({ tallies: unknown, finalView: { available: 1, held: 0, sold: 5 } }));
    expect(fewer.invariants.soldEqualsConfirmedByClients).toBe(false);
    // Without lost answers the two counts must match exactly.
    const known = buildReport(input({ orderSeats: ['GA-1', 'GA-2', 'GA-3', 'GA-4', 'GA-5'] }));
    expect(known.invariants.soldEqualsConfirmedByClients).toBe(false);
  });

  it('formatReport: one line per figure, a latency row per endpoint, the result last', () => {
    const text = formatReport(buildReport(input()));
    expect(text).toContain('queuegate flash-crowd simulation: 10 users, 6 seats (http://example.test)');
    expect(text).toContain('sold               6 of 6   (confirmed by clients: 6)');
    expect(text).toContain('audit              clean   recount {"sold":6,"held":0}');
    expect(text).toContain('time to sell out   3.5 s   (50% at 1.2 s, 90% at 3.4 s, 99% at 3.5 s, 100% at 3.5 s)');
    expect(text).toContain('all users done in  4 s   (100 requests, 25 req/s)');
    expect(text).toContain('configured 5/s, achieved 4/s on average over 2 s with users waiting (peak 4/s)');
    expect(text).toContain('for 67 % of that time');
    const row = (...cells: string[]) => `  ${cells[0].padEnd(16)} ${cells.slice(1).map((c) => c.padStart(8)).join(' ')}`;
    expect(text).toContain('  latency (ms)        count      p50      p95      p99      max');
    expect(text).toContain(`\n${row('join', '5', '3', '5', '5', '5')}\n${row('hold', '1', '10', '10', '10', '10')}\n`);
    expect(text).toContain('outcomes           bought 3, released 1, walkedAway 1, foundNoSeats 3, sessionOver 0, confirmFailed 0, toldSoldOut 2, toldClosed 0, lost 0');
    expect(text).toContain('told sold out      2 still waiting, 2 s after the sell-out at the median (p95 2 s, last 2 s)');
    expect(text).toMatch(/result {13}OK\n$/);
  });

  it('fair start: a shuffled pre-queue shows no correlation and alike halves; join order as rank shows it all', () => {
    const n = 2000;
    // A fixed pseudo-random permutation (an LCG), so the test does not depend on luck.
    let x = 7;
    const order = Array.from({ length: n }, (_, i) => i + 1).map((v) => [v, (x = (x * 48271) % 2147483647)] as const);
    const shuffled = [...order].sort((a, b) => a[1] - b[1]).map(([joinOrder], i) => ({ joinOrder, rank: i + 1 }));
    const fair = fairStartStats(shuffled)!;
    expect(Math.abs(fair.spearman)).toBeLessThan(0.1);
    expect(Math.abs(fair.earlyHalf.meanRank - fair.lateHalf.meanRank)).toBeLessThan(100);
    const unfair = fairStartStats(order.map(([joinOrder]) => ({ joinOrder, rank: joinOrder })))!;
    expect(unfair.spearman).toBe(1);
    expect(unfair.earlyHalf.inFirstTenth).toBe(200);
    expect(unfair.lateHalf.inFirstTenth).toBe(0);
    expect(fairStartStats([])).toBeNull();
  });
});
