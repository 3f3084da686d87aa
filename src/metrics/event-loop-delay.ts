import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metric, Registry } from 'prom-client';

/** One line of the exposition, as a prom-client registry formats it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** Sampling period of the event-loop monitor (ms): a timer this often, measuring how late each tick ran. */
const RESOLUTION_MS = 10;
/** Upper bounds (s): from "fine" (5 ms) to "a request waits seconds behind synchronous work". */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * `queuegate_event_loop_delay_seconds`: how late the event loop ran its
 * timers, as a Prometheus histogram (cumulative buckets, so rate() and
 * histogram_quantile() work across scrapes, replicas and several scrapers).
 *
 * Fed by perf_hooks.monitorEventLoopDelay, which samples in native code; the
 * JS side costs nothing until a scrape. Each scrape folds the monitor's HDR
 * histogram of the samples since the previous scrape into the buckets (each
 * bucket's count found by a binary search over the samples' ranks, exact to
 * the HDR precision, about 1 %) and resets the monitor. A sample is the tick's
 * lateness: its measured interval minus the resolution.
 */
export class EventLoopDelayHistogram {
  readonly name = 'queuegate_event_loop_delay_seconds';
  readonly help = `Event-loop delay: how late timers ran, sampled every ${RESOLUTION_MS} ms by perf_hooks.monitorEventLoopDelay`;
  readonly type = 'histogram';
  readonly aggregator = 'sum' as const;
  private readonly monitor: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  /** cumulative count per bucket (same order as BUCKETS), then +Inf */
  private readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);
  private sum = 0;

  constructor(registry: Registry) {
    this.monitor.enable();
    // A registry asks a metric for its name, get() and reset() only.
    registry.registerMetric(this as unknown as Metric);
  }

  /** Stops the sampling timer (the app is closing). */
  stop(): void {
    this.monitor.disable();
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    this.fold();
    const values: Sample[] = BUCKETS.map((le, i) => ({ metricName: `${this.name}_bucket`, labels: { le }, value: this.counts[i] }));
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.counts[BUCKETS.length] });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.counts[BUCKETS.length] });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
  }

  /** Adds the samples recorded since the last fold to the buckets, then starts a new window. */
  private fold(): void {
    const m = this.monitor;
    const n = m.count;
    if (n === 0) return;
    // The monitor records each tick's interval (ns), the resolution included: the delay is what exceeds it.
    const resolutionNs = RESOLUTION_MS * 1e6;
    // The k-th smallest sample (1-based), to the HDR histogram's precision.
    const kth = (k: number) => m.percentile((100 * (k - 0.5)) / n);
    // Samples at or below a delay: a binary search over k (a dozen look-ups per bucket).
    const atOrBelow = (seconds: number) => {
      const limit = seconds * 1e9 + resolutionNs;
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (kth(mid) <= limit) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    BUCKETS.forEach((le, i) => (this.counts[i] += atOrBelow(le)));
    this.counts[BUCKETS.length] += n;
    this.sum += (Math.max(0, m.mean - resolutionNs) / 1e9) * n;
    m.reset();
  }
}
