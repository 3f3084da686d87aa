import type { SeatMapResult } from '../seat-map';
import type { HttpResults, ScenarioResult } from '../http-scenarios';
import { durableMarkdown, DurableResults } from '../durable';
import type { MemoryAndAdmission } from '../memory';
import type { BigVenueResult } from '../big-venue';
import type { MachineInfo, SourceInfo } from './machine';
import type { ShuffleResult } from '../shuffle';
import type { SweepCallsResult } from '../sweep-calls';
import { ADMIT_MAX_BATCH } from '../../src/queue/admitter';

export interface TargetRow {
  figure: string;
  target: string;
  measured: string;
  /** null: not measured in this run */
  pass: boolean | null;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  command: string;
  settings: Record<string, unknown>;
  machine: MachineInfo;
  source: SourceInfo;
  notes: string[];
  http?: HttpResults;
  memory?: MemoryAndAdmission;
  shuffle?: ShuffleResult;
  venue?: BigVenueResult;
  /** the sweeper's longest calls (bench/sweep-calls.ts) */
  sweep?: SweepCallsResult;
  /** confirm latency with REDIS_WAIT_REPLICAS 0 and 1 (bench/durable.ts) */
  durable?: DurableResults;
  /** the seat map with 1,000 buyers looking (bench/seat-map.ts, also in seatmap-summary.md) */
  seatMap?: SeatMapResult;
  targets: TargetRow[];
}

const f = (x: number, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)).toString() : 'n/a');
const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export function evaluateTargets(http?: HttpResults, memory?: MemoryAndAdmission, venue?: BigVenueResult, shuffle?: ShuffleResult, sweep?: SweepCallsResult): TargetRow[] {
  const rows: TargetRow[] = [];
  const s = (name: string): ScenarioResult | undefined => http?.scenarios.find((x) => x.name === name);
  const ceiling = s('ceiling');
  const join = s('join');
  const hold = s('hold');
  const dupLua = s('join-dup-lua');
  const dupWatch = s('join-dup-watch');

  const kinds = ['join (Streams)', 'hold', 'release', 'confirm'];
  const audited = kinds.filter((k) => http?.audits[k]);
  rows.push({
    figure: 'Redis round trips per join, hold, release, confirm',
    target: 'exactly 1',
    measured: audited.length ? audited.map((k) => `${k.replace(' (Streams)', '')} ${http!.audits[k].roundTripsPerRequest}`).join(', ') : 'not measured',
    pass: audited.length === kinds.length ? audited.every((k) => http!.audits[k].roundTripsPerRequest === 1) : null,
  });
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);
  const joinVsCeiling = ratio(join?.load.reqPerSec, ceiling?.load.reqPerSec);
  rows.push({
    figure: 'join throughput vs the ceiling, same run',
    target: '≥ 0.70×',
    measured: join && ceiling ? `${f(joinVsCeiling)}× (${n(join.load.reqPerSec)} vs ${n(ceiling.load.reqPerSec)} req/s)` : 'not measured',
    pass: Number.isFinite(joinVsCeiling) ? joinVsCeiling >= 0.7 : null,
  });
  const p99Ratio = ratio(join?.load.latencyMs.p99, ceiling?.load.latencyMs.p99);
  rows.push({
    figure: "join p99 vs the ceiling's p99 (same connections, same run)",
    target: '≤ 1.5×',
    measured: join && ceiling ? `${f(p99Ratio)}× (${f(join.load.latencyMs.p99)} vs ${f(ceiling.load.latencyMs.p99)} ms)` : 'not measured',
    pass: Number.isFinite(p99Ratio) ? p99Ratio <= 1.5 : null,
  });
  const holdVsJoin = ratio(hold?.load.reqPerSec, join?.load.reqPerSec);
  rows.push({
    figure: 'hold throughput under contention vs join throughput',
    target: '≥ 0.8×',
    measured: hold && join ? `${f(holdVsJoin)}× (${n(hold.load.reqPerSec)} vs ${n(join.load.reqPerSec)} req/s)` : 'not measured',
    pass: Number.isFinite(holdVsJoin) ? holdVsJoin >= 0.8 : null,
  });
  const assign = s('assign-queue-num');
  const assignVsJoin = ratio(assign?.load.reqPerSec, join?.load.reqPerSec);
  rows.push({
    figure: '`assign_queue_num` (AWS-compatible) vs the native join, same run',
    target: '≥ 0.8×',
    measured: assign && join
      ? `${f(assignVsJoin)}× (${n(assign.load.reqPerSec)} vs ${n(join.load.reqPerSec)} req/s; server CPU ${n(assign.cpu.serverUsPerRequest)} vs ${n(join.cpu.serverUsPerRequest)} µs/request)`
      : 'not measured',
    pass: Number.isFinite(assignVsJoin) ? assignVsJoin >= 0.8 : null,
  });
  const compatPoll = s('compat-poll');
  rows.push({
    figure: 'AWS compat polls (queue_num, serving_num, waiting_num): Redis commands per poll',
    target: '0',
    measured: compatPoll ? `${n(compatPoll.load.reqPerSec)} polls/s, ${f(compatPoll.redis.net.commandsPerRequest, 4)} Redis commands per poll (background ticks subtracted)` : 'not measured',
    pass: compatPoll ? compatPoll.redis.net.commandsPerRequest < 0.01 : null,
  });
  const luaVsWatch = ratio(dupLua?.load.reqPerSec, dupWatch?.load.reqPerSec);
  rows.push({
    figure: '`luaAtomic` on vs off (WATCH/MULTI), same-user contention',
    target: '≥ 3×',
    measured: dupLua && dupWatch ? `${f(luaVsWatch)}× (${n(dupLua.load.reqPerSec)} vs ${n(dupWatch.load.reqPerSec)} req/s)` : 'not measured',
    pass: Number.isFinite(luaVsWatch) ? luaVsWatch >= 3 : null,
  });
  const streamsMem = memory?.memory.find((m) => m.backend === 'streams');
  rows.push({
    figure: `Redis memory per waiting user at ${streamsMem ? n(streamsMem.users) : '1,000,000'} waiting (Streams backend)`,
    target: '≤ 128 B',
    measured: streamsMem ? `${f(streamsMem.bytesPerUser, 1)} B` : 'not measured',
    pass: streamsMem ? streamsMem.bytesPerUser <= 128 : null,
  });
  const bigAdmit = memory?.admission.filter((a) => a.backend === 'streams' && a.batch === 1000).sort((a, b) => b.queueLength - a.queueLength);
  if (bigAdmit && bigAdmit.length > 0) {
    const atBig = bigAdmit[0];
    const atSmall = bigAdmit[bigAdmit.length - 1];
    const flat = atBig.redisUs.median / atSmall.redisUs.median;
    const serviceBatch = memory?.admission.find((a) => a.backend === 'streams' && a.batch === ADMIT_MAX_BATCH);
    rows.push({
      figure: `admitting 1,000 users from a queue of ${n(atBig.queueLength)} (Streams)`,
      target: '< 5 ms of Redis time, ∝ batch not queue',
      measured:
        `${f(atBig.redisUs.median / 1000, 3)} ms; vs a ${n(atSmall.queueLength)} queue: ${f(flat)}×` +
        (serviceBatch ? `; the service's calls of ${n(serviceBatch.batch)}: ${f(serviceBatch.redisUs.median / 1000, 3)} ms each` : ''),
      pass: atBig.redisUs.median < 5000 && flat <= 2,
    });
  } else {
    rows.push({ figure: 'admitting 1,000 users from a queue of 1,000,000', target: '< 5 ms of Redis time', measured: 'not measured', pass: null });
  }
  const quantity = s('venue-quantity');
  const together = s('venue-together');
  const togetherVsQuantity = ratio(together?.load.reqPerSec, quantity?.load.reqPerSec);
  const usPerCall = (x?: ScenarioResult) => (x ? `${f(x.redis.usecPerEvalsha, 0)} µs` : "n/a");
  rows.push({
    figure: '`together` holds of 4 vs plain `quantity` holds of 4 (60,000 seats, 80 % sold at random; hold + release pairs)',
    target: '≥ 0.8×, one round trip each',
    measured:
      quantity && together
        ? `${f(togetherVsQuantity)}× (${n(together.load.reqPerSec)} vs ${n(quantity.load.reqPerSec)} req/s); Redis time per script call ${usPerCall(together)} vs ${usPerCall(quantity)}`
        : 'not measured',
    pass: Number.isFinite(togetherVsQuantity) ? togetherVsQuantity >= 0.8 : null,
  });
  const longest = venue ? Math.max(venue.create.longestCommandUs, venue.audit.longestCommandUs) : NaN;
  rows.push({
    figure: 'longest single Redis command while a 100,000-seat event is created and audited',
    target: '≤ 5 ms',
    measured: venue
      ? `${f(longest / 1000)} ms (create ${f(venue.create.longestCommandUs / 1000)}, audit ${f(venue.audit.longestCommandUs / 1000)}; ` +
        `chunk calls median ${f(venue.create.scriptCallMedianUs / 1000)} / ${f(venue.audit.scriptCallMedianUs / 1000)} ms, p90 ${f(venue.create.scriptCallP90Us / 1000)} / ${f(venue.audit.scriptCallP90Us / 1000)} ms; ` +
        `Redis CPU per call ${f(venue.create.redisCpuUsPerScriptCall / 1000)} / ${f(venue.audit.redisCpuUsPerScriptCall / 1000)} ms; ` +
        `longest plain command meanwhile ${f(Math.max(venue.create.longestPlainCommandUs, venue.audit.longestPlainCommandUs) / 1000)} ms)`
      : 'not measured',
    pass: venue ? longest <= 5000 : null,
  });
  const shuffleLongest = shuffle ? Math.max(shuffle.sealMicros, shuffle.drain.max) : NaN;
  rows.push({
    figure: `shuffling a ${shuffle ? n(shuffle.users) : '1,000,000'}-entry pre-queue (the seal, then admit calls in rank order)`,
    target: 'no single command over 5 ms; total time reported',
    measured: shuffle
      ? `longest ${f(shuffleLongest / 1000)} ms (seal ${f(shuffle.sealMicros / 1000)} ms; admit calls of ${n(shuffle.admitBatch)} p50 ${f(shuffle.drain.p50 / 1000)}, ` +
        `p99 ${f(shuffle.drain.p99 / 1000)} ms); all admitted in ${f(shuffle.drainSeconds, 1)} s; noise floor max ${f(shuffle.noiseFloor.max / 1000)} ms`
      : 'not measured',
    pass: shuffle ? shuffleLongest <= 5000 : null,
  });
  const check = sweep ? Object.entries(sweep.recordCheck) : [];
  const sweepLongest = sweep ? Math.max(sweep.sweep.oneSeat.longestUs, sweep.sweep.twentySeats.longestUs, ...check.map(([, c]) => c.us)) : NaN;
  rows.push({
    figure: `longest single call of the sweeper: the sweep of due holds (one-seat holds; 20-seat holds side by side on a 100,000-seat layout), the lost-record check with ${sweep ? n(sweep.liveHolds) : '10,000'} live holds`,
    target: '≤ 5 ms',
    measured: sweep
      ? `${f(sweepLongest / 1000)} ms (sweep longest ${f(sweep.sweep.oneSeat.longestUs / 1000)} / ${f(sweep.sweep.twentySeats.longestUs / 1000)} ms, mean ` +
        `${f(sweep.sweep.oneSeat.meanUs / 1000)} / ${f(sweep.sweep.twentySeats.meanUs / 1000)} ms, Redis CPU ${f(sweep.sweep.oneSeat.cpuUsPerCall / 1000)} / ` +
        `${f(sweep.sweep.twentySeats.cpuUsPerCall / 1000)} ms a call; lost-record check longest ${check.map(([name, c]) => `${name} ${f(c.us / 1000)}`).join(', ')} ms ` +
        `(0: none over ${n(sweep.slowlogThresholdUs)} µs), mean ${Object.entries(sweep.recordCheckMeanUs).map(([name, us]) => `${name} ${f(us / 1000)}`).join(', ')} ms; ` +
        `noise floor longest ${f(sweep.noiseFloor.longestUs / 1000)} ms; 20 deleted records' seats back in ${n(sweep.reclaimedWithinMs)} ms)`
      : 'not measured',
    pass: sweep ? sweepLongest <= 5000 : null,
  });
  return rows;
}

const mark = (pass: boolean | null) => (pass === null ? '—' : pass ? 'yes' : '**no**');
const statuses = (st: Record<string, number>) =>
  Object.entries(st)
    .map(([code, count]) => `${code}: ${n(count)}`)
    .join(', ');

export function markdown(r: BenchResults): string {
  const out: string[] = [];
  out.push('# queuegate benchmark summary', '');
  out.push(`Run ${r.startedAt} → ${r.finishedAt} (${n(r.wallSeconds)} s wall), command: \`${r.command}\`.`, '');
  out.push(
    `Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}; Node ${r.machine.node}; ${r.machine.redis}. ` +
      `Load average at start: ${r.machine.loadAverageAtStart.join(' / ')}.`,
    '',
  );
  out.push(
    `Source: commit \`${r.source.commit.slice(0, 12)}\`` +
      (r.source.uncommittedInSrcOrLua.length
        ? `, with ${r.source.uncommittedInSrcOrLua.length} uncommitted change(s) in src/ or lua/ at run time: ${r.source.uncommittedInSrcOrLua.map((l) => `\`${l.trim()}\``).join(', ')}.`
        : ', src/ and lua/ clean.'),
    '',
  );
  out.push(`Settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}.`, '');
  for (const note of r.notes) out.push(`- ${note}`);
  out.push('');

  out.push('## Targets (bench/README.md)', '', '| figure | target | measured | met |', '|---|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.figure} | ${t.target} | ${t.measured} | ${mark(t.pass)} |`);
  out.push('');

  if (r.http) {
    const h = r.http;
    out.push('## HTTP scenarios', '');
    out.push(
      'Latency in ms over every response (any status), from autocannon\'s per-response times at 10 µs resolution. "evalsha/req" and "Redis cmds/req" come from ' +
        '`INFO commandstats` deltas minus the idle background rate; Redis counts commands run *inside* scripts there too, so "Redis cmds/req" is Redis work, ' +
        'not round trips (those are in the next table). CPU: percent of one core over the measured window.',
      '',
    );
    out.push('| scenario | req/s | p50 | p90 | p97.5 | p99 | statuses | evalsha/req | Redis cmds/req | µs/evalsha | server CPU µs/req | CPU server / Redis / load gen |');
    out.push('|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|');
    for (const s of h.scenarios) {
      const l = s.load.latencyMs;
      out.push(
        `| ${s.title} | ${n(s.load.reqPerSec)} | ${f(l.p50)} | ${f(l.p90)} | ${f(l.p97_5)} | ${f(l.p99)} | ${statuses(s.load.statuses)}${s.load.errors ? `, errors: ${s.load.errors}` : ''} | ` +
          `${f(s.redis.net.evalshaPerRequest, 3)} | ${f(s.redis.net.commandsPerRequest, 1)} | ${f(s.redis.usecPerEvalsha, 1)} | ${n(s.cpu.serverUsPerRequest)} | ${s.cpu.serverPercent}% / ${s.cpu.redisPercent}% / ${s.cpu.loadGeneratorPercent}% |`,
      );
    }
    out.push('');
    out.push('What each scenario does:', '');
    for (const s of h.scenarios) out.push(`- **${s.title}** (\`${s.name}\`, ${s.server}): ${s.description}.`);
    out.push('');
    const get = (name: string) => h.scenarios.find((s) => s.name === name);
    const pairs: [string, string, string][] = [
      ['join', 'ceiling', 'service join vs the ceiling'],
      ['join-zset', 'join', 'sorted-set join vs Streams join'],
      ['poll', 'ceiling', 'poll vs the ceiling'],
      ['hold', 'join', 'hold vs join'],
      ['hold-release', 'join', 'hold/release pairs vs join'],
      ['join-dup-lua', 'join-dup-watch', 'duplicate joins: Lua vs WATCH/MULTI'],
      ['mixed', 'ceiling', 'flash crowd vs the ceiling'],
    ];
    const ratioRows = pairs.filter(([a, b]) => get(a) && get(b));
    if (ratioRows.length) {
      out.push(
        'Ratios within this run. "server CPU per request" divides the server process\'s CPU time (/proc) by the requests it answered: unlike req/s it does not ' +
          'depend on how much of the 2 cores the load generator and other work left to the server, so it is the steadier measure of framework cost here.',
        '',
      );
      out.push('| ratio | throughput | p99 | server CPU per request |', '|---|---:|---:|---:|');
      for (const [a, b, label] of ratioRows) {
        const x = get(a)!;
        const y = get(b)!;
        out.push(
          `| ${label} | ${f(x.load.reqPerSec / y.load.reqPerSec)}× | ${f(x.load.latencyMs.p99 / y.load.latencyMs.p99)}× | ${f(x.cpu.serverUsPerRequest / y.cpu.serverUsPerRequest)}× |`,
        );
      }
      out.push('');
    }
    if (Object.keys(h.audits).length) {
      out.push('### Round trips per request (MONITOR audit)', '');
      out.push(
        `${Object.values(h.audits)[0].requests} sequential requests per kind with Redis MONITOR on: commands the service sent for that event, leaving out calls made inside scripts ` +
          '(source "lua") and the replicas’ timers (the admit, sweep and queueHead scripts; the sweeper’s lost-record check: its claim, ZRANGE of the live-hold index, EXISTS of hold records, reclaimHold; the once-a-second event HMGET). A MULTI…EXEC block, which ioredis writes at once, counts as one round trip.',
        '',
      );
      out.push('| request | round trips/req | commands sent/req | commands, per request |', '|---|---:|---:|---|');
      for (const [kind, a] of Object.entries(h.audits)) {
        out.push(`| ${kind} | ${f(a.roundTripsPerRequest, 2)} | ${f(a.commandsPerRequest, 2)} | ${Object.entries(a.breakdown).map(([c, v]) => `${c} ${f(v, 2)}`).join(', ')} |`);
      }
      out.push('');
    }
    out.push(`Idle background traffic, subtracted above (commands/s): ${Object.entries(h.backgroundPerSecond).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`, '');
  }

  if (r.memory) {
    const m = r.memory;
    out.push('## Redis memory per waiting user', '');
    out.push(`\`INFO memory\` used_memory before and after loading the users through the join script (pipelined EVALSHA into a redis-server of its own, Redis ${m.redisVersion}).`, '');
    out.push('| backend | waiting users | bytes/user | by key (MEMORY USAGE, bytes/user) | joins/s (pipelined) | userIds |', '|---|---:|---:|---|---:|---|');
    for (const x of m.memory) {
      out.push(
        `| ${x.backend} | ${n(x.users)} | ${f(x.bytesPerUser, 1)} | ${Object.entries(x.perKeyBytesPerUser).map(([k, v]) => `${k} ${v}`).join(', ')} | ${n(x.joinsPerSecond)} | ${x.exampleUserId} |`,
      );
    }
    out.push('');
    out.push('## Admission at scale', '');
    out.push(
      `One admit script call (EVALSHA), Redis time from the \`INFO commandstats\` usec delta around it (slowlog off: it would log, and charge to the script, every command the script calls), median of ${m.repeats} calls (each admits the batch, so the queue shrinks a little). ` +
        'The bucket is set to hold exactly the batch (meta tokens = N, ratePerSecond = 10·N, tickMs 100). The service admits in calls of ADMIT_MAX_BATCH (src/queue/admitter.ts), several a tick when the rate asks for more.',
      '',
    );
    out.push('| backend | queue length | batch | Redis µs (median) | min–max | µs per admitted user | client µs |', '|---|---:|---:|---:|---|---:|---:|');
    for (const a of m.admission) {
      out.push(
        `| ${a.backend} | ${n(a.queueLength)} | ${n(a.batch)} | ${n(a.redisUs.median)} | ${n(a.redisUs.min)}–${n(a.redisUs.max)} | ${f(a.redisUs.median / a.batch, 2)} | ${n(a.clientUsMedian)} |`,
      );
    }
    out.push('');
  }

  if (r.durable) out.push(...durableMarkdown(r.durable));

  if (r.http?.profileMarkdown.length) {
    out.push('## CPU profiles', '', ...r.http.profileMarkdown, '');
  }
  if (r.shuffle) {
    const s = r.shuffle;
    out.push('## Fair start: shuffling the pre-queue', '');
    out.push(
      `${n(s.users)} pre-queue entries (bench/shuffle.ts, a redis-server of its own with \`slowlog-log-slower-than 0\`: every call's duration in SLOWLOG, ` +
        'which also logs each command a script calls and charges that to the script; the admit calls are timed one by one from `INFO commandstats` with the slowlog off). ' +
        `The pre-queue is kept in the shuffle's order from the first join, so the start is an O(1) seal and the admitter takes entries from the front in calls of ${n(s.admitBatch)} (the service's ADMIT_MAX_BATCH).`,
      '',
    );
    const row = (name: string, x: { calls: number; p50: number; p99: number; max: number }) =>
      out.push(`| ${name} | ${n(x.calls)} | ${n(x.p50)} | ${n(x.p99)} | ${n(x.max)} |`);
    out.push('| Redis call (µs) | calls | p50 | p99 | max |', '|---|---|---|---|---|');
    row('pre-queue join (sort key from the service)', s.join);
    out.push(`| the seal at salesStartAt (with one place look-up) | 1 | ${n(s.sealMicros)} | | |`);
    row("a 'p' ticket's place look-up after the start", s.placeLookup);
    row(`admit call of ${n(s.admitBatch)}, in rank order`, s.drain);
    row(`reference: admit call of ${n(s.admitBatch)} from the Streams queue (joins after the start)`, s.streamDrain);
    row('noise floor: a script that does nothing (`return 1`)', s.noiseFloor);
    out.push('');
    out.push(
      `Filling took ${f(s.fillSeconds, 1)} s (${n(s.usedMemoryMiB)} MiB used); admitting every entry in rank order took ${f(s.drainSeconds, 1)} s ` +
        `in ${n(s.drain.calls)} calls. Longest single command of the run: ${n(s.longestCommandMicros)} µs (${s.longestCommand}). ` +
        'On a loaded machine a maximum mostly measures the scheduler: compare it with the noise floor of the same run.',
      '',
    );
  }
  return out.join('\n');
}
