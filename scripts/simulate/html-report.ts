/**
 * The report as one self-contained HTML page (inline CSS and SVG, no script,
 * nothing fetched): the sale over time (people waiting, admitted per second,
 * seats available/held/sold), latency percentiles per endpoint and how each
 * user's visit ended. A pure function of the report, like report.ts.
 */
import { OUTCOMES } from './crowd';
import type { LatencySummary, Report } from './report';

const W = 640;
const H = 260;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563', '#65a30d'];

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en') : x.toLocaleString('en', { maximumFractionDigits: 1 }));

/** A "nice" step (1, 2 or 5 x 10^k) giving about `count` ticks up to `max`. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

function frame(id: string, title: string, inner: string, legend: string[]): string {
  const items = legend.map((name, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(name)}</span>`).join('');
  return `<figure id="${id}"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${inner}</svg><div class="legend">${items}</div></figure>`;
}

function axes(xTicks: number[], yTicks: number[], x: (v: number) => number, y: (v: number) => number, xLabel: string): string {
  const grid = yTicks.map((v) => `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`);
  const xs = xTicks.map((v) => `<text class="tick" x="${x(v)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${num(v)}</text>`);
  return `${grid.join('')}${xs.join('')}<text class="tick" x="${(PAD.left + W - PAD.right) / 2}" y="${H - 4}" text-anchor="middle">${esc(xLabel)}</text>`;
}

/** Lines over time (x in seconds since the start). */
export function lineChart(id: string, title: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  const yTicks = ticks(Math.max(1, ...all.map((p) => p[1])));
  const yMax = yTicks[yTicks.length - 1];
  const x = (v: number) => Math.round((PAD.left + (v / xMax) * (W - PAD.left - PAD.right)) * 10) / 10;
  const y = (v: number) => Math.round((H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom)) * 10) / 10;
  const paths = series.map((s, i) => {
    const d = s.points.map(([t, v], j) => `${j === 0 ? 'M' : 'L'}${x(t)},${y(v)}`).join(' ');
    return `<path class="series" d="${d}" stroke="${COLORS[i % COLORS.length]}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
  });
  return frame(id, title, axes(ticks(xMax, 8), yTicks, x, y, 'seconds since the first join') + paths.join(''), series.map((s) => s.name));
}

/** Vertical bars in groups (one group per category, one bar per measure). */
export function barChart(id: string, title: string, groups: { label: string; values: number[] }[], measures: string[], unit: string): string {
  const yTicks = ticks(Math.max(1, ...groups.flatMap((g) => g.values)));
  const yMax = yTicks[yTicks.length - 1];
  const y = (v: number) => Math.round((H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom)) * 10) / 10;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, groups.length);
  const bar = (slot * 0.8) / Math.max(1, measures.length);
  const grid = yTicks.map((v) => `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`);
  const bars = groups.flatMap((g, i) => {
    const x0 = PAD.left + i * slot + slot * 0.1;
    const label = `<text class="tick" x="${Math.round(x0 + slot * 0.4)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${esc(g.label)}</text>`;
    return [
      label,
      ...g.values.map((v, j) => {
        const left = Math.round((x0 + j * bar) * 10) / 10;
        const w = Math.round(bar * 0.9 * 10) / 10;
        return `<path class="bar" d="M${left},${y(0)} V${y(v)} H${Math.round((left + w) * 10) / 10} V${y(0)} Z" fill="${COLORS[j % COLORS.length]}"><title>${esc(g.label)} ${esc(measures[j])}: ${num(v)} ${esc(unit)}</title></path>`;
      }),
    ];
  });
  return frame(id, title, grid.join('') + `<text class="tick" x="8" y="${PAD.top - 4}">${esc(unit)}</text>` + bars.join(''), measures);
}

/** One horizontal bar per category, labelled with its count. */
export function countChart(id: string, title: string, counts: { label: string; value: number }[]): string {
  const max = Math.max(1, ...counts.map((c) => c.value));
  const left = 120;
  const row = (H - PAD.top - 8) / Math.max(1, counts.length);
  const bars = counts.map((c, i) => {
    const top = Math.round((PAD.top + i * row) * 10) / 10;
    const h = Math.round(row * 0.7 * 10) / 10;
    const w = Math.max(1, Math.round(((c.value / max) * (W - left - 80)) * 10) / 10);
    return (
      `<text class="tick" x="${left - 8}" y="${top + h / 2 + 4}" text-anchor="end">${esc(c.label)}</text>` +
      (c.value > 0 ? `<path class="bar" d="M${left},${top} H${left + w} V${top + h} H${left} Z" fill="${COLORS[i % COLORS.length]}"/>` : '') +
      `<text class="tick" x="${left + w + 6}" y="${top + h / 2 + 4}">${num(c.value)}</text>`
    );
  });
  return frame(id, title, bars.join(''), []);
}

/** The whole page. */
export function renderHtml(r: Report): string {
  const tl = r.timeline;
  const at = (f: (x: (typeof tl)[number]) => number): [number, number][] => tl.map((x) => [x.t, f(x)]);
  const latency = Object.entries(r.latencyMs as Record<string, LatencySummary>).filter(([, v]) => v.count > 0);
  const charts = [
    lineChart('waiting', 'People waiting', [{ name: 'waiting', points: at((x) => x.waiting) }, { name: 'active sessions', points: at((x) => x.active) }]),
    lineChart('admitted', 'Admitted per second', [
      { name: 'admitted/s (observed)', points: at((x) => Math.max(0, x.admittedPerSecond)) },
      { name: 'configured rate', points: tl.length ? [[0, r.config.admission.ratePerSecond], [tl[tl.length - 1].t, r.config.admission.ratePerSecond]] : [], dashed: true },
    ]),
    lineChart('seats', 'Seats held and sold', [
      { name: 'sold', points: at((x) => x.sold) },
      { name: 'held', points: at((x) => x.held) },
      { name: 'available', points: at((x) => x.available) },
    ]),
    barChart('latency', 'Latency percentiles by endpoint (ms, as the crowd saw them)', latency.map(([k, v]) => ({ label: k, values: [v.p50, v.p95, v.p99] })), ['p50', 'p95', 'p99'], 'ms'),
    countChart('outcomes', 'How each visit ended', OUTCOMES.map((k) => ({ label: k, value: r.outcomes[k] }))),
  ];
  const facts: [string, string][] = [
    ['result', r.ok ? 'OK: every invariant held' : `FAILED: ${Object.entries(r.invariants).filter(([, v]) => !v).map(([k]) => k).join(', ')}`],
    ['sold', `${num(r.seats.sold)} of ${num(r.seats.capacity)} (oversold ${r.seats.oversold}, seats in two orders ${r.seats.duplicateSeats})`],
    ['time to sell out', r.timeToSellOutSeconds === null ? 'not sold out' : `${r.timeToSellOutSeconds} s`],
    ['all users done in', `${r.durationSeconds} s (${num(r.requests.total)} requests, ${num(r.requests.perSecond)} req/s)`],
    ['told sold out while waiting', `${num(r.toldSoldOut.users)}${r.toldSoldOut.users > 0 && r.timeToSellOutSeconds !== null ? `, median ${r.toldSoldOut.afterSellOutSeconds.p50} s after the sell-out (last ${r.toldSoldOut.afterSellOutSeconds.max} s)` : ''}`],
    ['admission', `configured ${num(r.admission.configuredPerSecond)}/s, achieved ${num(r.admission.achievedMeanPerSecond)}/s on average (peak ${num(r.admission.peakPerSecond)}/s)`],
    ['audit', r.audit.ok ? 'clean' : `NOT CLEAN: ${JSON.stringify(r.audit.mismatches)}`],
    ['target', r.target],
    ['command', r.command],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>queuegate simulation: ${esc(r.eventId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:20px;margin:0 0 12px}
table{border-collapse:collapse;margin:0 0 16px}td{padding:2px 12px 2px 0;vertical-align:top}td:first-child{color:#555}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
svg{width:100%;height:auto;display:block}
.grid{stroke:#eee}.tick{font-size:11px;fill:#555}.series{fill:none;stroke-width:2}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
</style></head><body>
<h1>queuegate flash-crowd simulation: ${num(r.config.users)} users, ${num(r.config.seats)} seats</h1>
<table>${facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>
<div class="charts">
${charts.join('\n')}
</div>
</body></html>
`;
}
