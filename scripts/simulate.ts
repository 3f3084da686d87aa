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
 * report and writes it as JSON (--out, default simulate-report.json) and as a
 * page with charts (--html, default simulate-report.html). The exit
 * status is 1 when an invariant failed, 2 when the run itself could not happen.
 *
 * One module per phase, under simulate/: options.ts and setup.ts (the command
 * line, the embedded service, the event), crowd.ts (the users, sampling and
 * progress, then what is left to collect), report.ts (a pure function of the
 * collected numbers), html-report.ts (the same as a page of SVG charts);
 * http.ts is the bounded keep-alive client they share.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { runCrowd } from './simulate/crowd';
import { Http } from './simulate/http';
import { parseOptions } from './simulate/options';
import { renderHtml } from './simulate/html-report';
import { buildReport, failedInvariants, formatReport } from './simulate/report';
import { createEvent, Embedded, startEmbedded } from './simulate/setup';

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
    // Set-up.
    if (!o.url) embedded = await startEmbedded(log);
    const base = o.url ?? embedded!.url;
    const adminToken = o.adminToken ?? embedded!.adminToken;
    const admin = { authorization: `Bearer ${adminToken}` };
    const http = new Http(base, o.connections);
    await createEvent(http, o, admin, log);

    // The crowd.
    const run = await runCrowd(http, o, base, admin, log, tty);
    http.close();

    // The report.
    const report = buildReport({
      command: `npm run simulate -- ${process.argv.slice(2).join(' ')}`.trim(),
      target: o.url ?? 'embedded (private redis-server + node dist/main.js)',
      machine: { cpus: cpus().length, node: process.version },
      options: o,
      run,
      http: { requests: http.requests, latency: http.latency, statuses: http.statuses },
    });
    writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(o.html, renderHtml(report));
    process.stdout.write(formatReport(report));
    process.stdout.write(`\nreport written to ${resolve(o.out)} and ${resolve(o.html)} (charts)\n`);
    if (!report.ok) process.stdout.write(`INVARIANT FAILED: ${failedInvariants(report).join(', ')}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`\nsimulate: ${err.message}\n`);
    process.exit(2);
  },
);
