/**
 * The report: a pure function of what the crowd phase collected (no clock, no
 * I/O), so it can be checked on made-up numbers (report.spec.ts). It checks
 * the invariants (no seat sold twice, nothing oversold, the audit clean,
 * counters adding up, expired holds back on sale, every user finished) and
 * summarises latency, statuses and the admission rate.
 */
import { CrowdRun, OUTCOMES, PrequeueRank, Sample } from './crowd';
import type { Options } from './options';

export interface ReportInput {
  /** how the simulator was started, as the report should show it */
  command: string;
  /** the --url, or a description of the embedded service */
  target: string;
  machine: { cpus: number; node: string };
  options: Options;
  run: CrowdRun;
  http: { requests: number; latency: Map<string, number[]>; statuses: Map<string, Map<string, number>> };
}

export type Report = ReturnType<typeof buildReport>;

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { count: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1] ?? 0) };
}

/** Admission rate seen from outside: admitted = joined − waiting, between samples. */
export function admissionStats(samples: Sample[], configured: number, maxActive: number) {
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

/**
 * The fair start seen from the crowd: the ranks the shuffle gave the earlier
 * and the later half of the pre-queue (by join order), and Spearman's rank
 * correlation between join order and rank (about 0 for a fair shuffle).
 */
export function fairStartStats(ranks: PrequeueRank[]) {
  if (ranks.length < 2) return null;
  const n = ranks.length;
  const byJoin = [...ranks].sort((a, b) => a.joinOrder - b.joinOrder);
  // Ranks among the users seen (1..n), in case some left or were not recorded.
  const rankOrder = [...ranks].sort((a, b) => a.rank - b.rank);
  const rankOf = new Map(rankOrder.map((r, i) => [r, i + 1]));
  const joinOf = new Map(byJoin.map((r, i) => [r, i + 1]));
  const d2 = ranks.reduce((sum, r) => sum + (joinOf.get(r)! - rankOf.get(r)!) ** 2, 0);
  const half = Math.floor(n / 2);
  const describe = (group: PrequeueRank[]) => {
    const values = group.map((r) => rankOf.get(r)!).sort((a, b) => a - b);
    const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
    return {
      users: values.length,
      meanRank: Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10,
      quartiles: [at(0.25), at(0.5), at(0.75)],
      inFirstTenth: values.filter((v) => v <= Math.ceil(n / 10)).length,
    };
  };
  return {
    users: n,
    spearman: Math.round((1 - (6 * d2) / (n * (n * n - 1))) * 1000) / 1000,
    earlyHalf: describe(byJoin.slice(0, half)),
    lateHalf: describe(byJoin.slice(half)),
    note: 'ranks among the pre-queue users seen (1 = admitted first); early/late = first/second half by join order',
  };
}

/**
 * The people still waiting when the sale ended, told soldOut: how many, and
 * how long after the sell-out (the last seat confirmed) they heard it.
 * Before the sell-out counts as 0 (the answer raced the last confirm's).
 */
export function toldSoldOutStats(toldAtMs: number[], soldOutAtMs: number | undefined) {
  const after = soldOutAtMs === undefined ? [] : toldAtMs.map((t) => Math.max(0, t - soldOutAtMs) / 1000);
  const s = summarize(after);
  return { users: toldAtMs.length, afterSellOutSeconds: { p50: s.p50, p95: s.p95, max: s.max } };
}

export function buildReport({ command, target, machine, options: o, run, http }: ReportInput) {
  const t = run.tallies;
  const view = run.finalView;
  const audit = run.audit;
  const samples = run.samples;
  const distinct = new Set(run.orderSeats);
  const duplicateSeats = run.orderSeats.length - distinct.size;
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
    everyUserCounted: OUTCOMES.reduce((n, k) => n + run.outcomes[k], 0) === o.users,
    togetherHoldsSideBySide: t.togetherBroken === 0,
  };
  const ok = Object.values(invariants).every(Boolean);
  const latencyMs = Object.fromEntries([...http.latency.entries()].map(([k, v]) => [k, summarize(v)]));
  const statuses = Object.fromEntries([...http.statuses.entries()].map(([k, v]) => [k, Object.fromEntries(v)]));
  const crowdDoneMs = run.crowdDoneMs;
  return {
    command,
    target,
    machine,
    eventId: o.eventId,
    config: {
      users: o.users, seats: o.seats, connections: o.connections,
      ...(o.layout ? { layout: { sections: o.layout.sections.length, priceLevels: o.layout.priceLevels.map((l) => l.priceLevel), togetherShare: o.together } } : {}),
      admission: { ratePerSecond: o.rate, maxActive: o.maxActive, sessionTtlSeconds: o.sessionTtl },
      holdTtlSeconds: o.holdTtl, maxSeatsPerUser: o.maxSeatsPerUser,
      holders: { confirm: o.confirm, release: o.release, expire: o.expire }, namedSeatShare: o.named, patientShare: o.patience, thinkMultiplier: o.think, pollMaxSeconds: o.pollMax,
    },
    durationSeconds: Math.round(crowdDoneMs / 100) / 10,
    timeToSellOutSeconds: run.soldOutAtMs === undefined ? null : Math.round(run.soldOutAtMs / 100) / 10,
    secondsToSell: run.soldMilestones,
    seats: {
      capacity: o.seats, sold, held: view?.held, available: view?.available,
      confirmedByClients: distinct.size, oversold, duplicateSeats,
    },
    users: t,
    outcomes: run.outcomes,
    // The sell-out as the clients saw it (the last seat confirmed); if a lost confirm answer hid it, the first sample with nothing left.
    toldSoldOut: toldSoldOutStats(run.toldSoldOutAtMs, run.soldOutAtMs ?? samples.find((s) => s.sold > 0 && s.available === 0 && s.held === 0)?.t),
    fairStart: fairStartStats(run.prequeueRanks ?? []),
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
}

/** The names of the invariants that failed (none when the run was clean). */
export function failedInvariants(r: Report): string[] {
  return Object.entries(r.invariants).filter(([, v]) => !v).map(([k]) => k);
}

/** The report as text for a terminal. */
export function formatReport(r: Report): string {
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
      `found it sold out ${n(r.users.soldOutGaveUp)}, lost a seat race ${n(r.users.seatConflicts)} times` +
      (r.users.togetherHolds || r.users.noAdjacent
        ? `; ${n(r.users.togetherHolds)} groups seated together, ${n(r.users.noAdjacent)} found no run long enough and sat apart`
        : ''),
    `  outcomes           ${OUTCOMES.map((k) => `${k} ${n(r.outcomes[k])}`).join(', ')}`,
    `  told sold out      ${n(r.toldSoldOut.users)} still waiting` +
      (r.toldSoldOut.users > 0 && r.timeToSellOutSeconds !== null
        ? `, ${r.toldSoldOut.afterSellOutSeconds.p50} s after the sell-out at the median (p95 ${r.toldSoldOut.afterSellOutSeconds.p95} s, last ${r.toldSoldOut.afterSellOutSeconds.max} s)`
        : ''),
    ...(r.fairStart
      ? [
          `  fair start         ${n(r.fairStart.users)} pre-queue users; Spearman(join order, rank) = ${r.fairStart.spearman}`,
          ...(['earlyHalf', 'lateHalf'] as const).map((k) => {
            const g = r.fairStart![k];
            return `    ${k === 'earlyHalf' ? 'early half' : 'late half '}       mean rank ${g.meanRank}, quartiles ${g.quartiles.join(' / ')}, in the first tenth ${n(g.inFirstTenth)}`;
          }),
        ]
      : []),
    '',
    '  latency (ms)        count      p50      p95      p99      max',
    ...Object.entries(r.latencyMs as Record<string, LatencySummary>).map(
      ([k, v]) => `  ${k.padEnd(16)} ${n(v.count).padStart(8)} ${String(v.p50).padStart(8)} ${String(v.p95).padStart(8)} ${String(v.p99).padStart(8)} ${String(v.max).padStart(8)}`,
    ),
    '',
    `  invariants         ${Object.entries(r.invariants).map(([k, v]) => `${k} ${v ? 'ok' : 'FAILED'}`).join(', ')}`,
    `  result             ${r.ok ? 'OK' : 'FAILED'}`,
  ];
  return `${lines.join('\n')}\n`;
}
