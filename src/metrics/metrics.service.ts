import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isRedisUnavailable } from '../common/redis-errors';
import { EventActivity } from '../event/event-activity';
import { EVENT_STATUSES, eventStatus } from '../event/event-status';
import { EventRepository } from '../event/event.repository';
import { QueueSnapshots } from '../queue/queue-snapshots';
import { isCluster, REDIS_CLIENT, RedisClient } from '../redis/redis.constants';
import { ReplicaWait } from '../redis/replica-wait';
import { numberAt, ReplyCode, ScriptReply } from '../redis/script-replies';
import { ScriptRegistry } from '../redis/script-registry';
import { SeatService } from '../seat/seat.service';
import { EventLoopDelayHistogram } from './event-loop-delay';

/** The event a script ran for: the hash tag of its first key, qg:{eventId}:meta. */
const eventOf = (keys: string[]) => /\{([^}]*)\}/.exec(keys[0] ?? '')?.[1] ?? 'unknown';

/** How a script reply counts in the business counters: [counter, amount]. */
type Count = [keyof MetricsService['counters'], (reply: ScriptReply) => number];
const COUNTS: Record<string, Partial<Record<ReplyCode, Count>>> = {
  join: { [ReplyCode.OK]: ['joins', () => 1], [ReplyCode.DUPLICATE]: ['duplicates', () => 1] },
  admit: { [ReplyCode.OK]: ['admissions', (r) => numberAt('admit', r, 1)] },
  hold: { [ReplyCode.OK]: ['holds', () => 1] },
  release: { [ReplyCode.OK]: ['releases', () => 1] },
  confirm: { [ReplyCode.OK]: ['confirms', () => 1], [ReplyCode.HOLD_EXPIRED]: ['expirations', () => 1] },
  sweep: { [ReplyCode.OK]: ['expirations', (r) => numberAt('sweep', r, 1)] },
  reclaimHold: { [ReplyCode.OK]: ['lostHoldRecords', () => 1] },
};

/**
 * Prometheus metrics for one app instance, on a registry of its own (so
 * several instances in one process never collide). Script outcomes are
 * counted where they happen, in the ScriptRegistry; HTTP timings come from a
 * Fastify hook, which costs less than a Nest interceptor on the hot path.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'queuegate_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly scriptDuration = new Histogram({
    name: 'queuegate_script_duration_seconds',
    help: 'Lua script round-trip time by script',
    labelNames: ['script'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  private readonly redisErrors = new Counter({
    name: 'queuegate_redis_errors_total',
    help: 'Failed Redis calls by script and kind (unavailable: connection, timeout, cluster down; other)',
    labelNames: ['script', 'kind'],
    registers: [this.registry],
  });

  readonly counters = {
    joins: this.eventCounter('queuegate_joins_total', 'Queue joins accepted'),
    duplicates: this.eventCounter('queuegate_join_duplicates_total', 'Queue joins refused as DUPLICATE'),
    admissions: this.eventCounter('queuegate_admissions_total', 'Users admitted from the queue'),
    holds: this.eventCounter('queuegate_holds_total', 'Holds created'),
    releases: this.eventCounter('queuegate_releases_total', 'Holds released by their holder'),
    confirms: this.eventCounter('queuegate_confirms_total', 'Holds confirmed into orders'),
    expirations: this.eventCounter('queuegate_expirations_total', 'Holds expired (seats returned to sale)'),
    lostHoldRecords: this.eventCounter('queuegate_lost_hold_records_total', 'Live holds whose record was gone (Redis lost data): the sweeper gave their seats back'),
  };

  private readonly eventLoopDelay = new EventLoopDelayHistogram(this.registry);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly scripts: ScriptRegistry,
    private readonly activity: EventActivity,
    private readonly events: EventRepository,
    private readonly replicas: ReplicaWait,
    private readonly snapshots: QueueSnapshots,
    private readonly seats: SeatService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'queuegate_' });
    new Gauge({
      name: 'queuegate_script_reloads',
      help: 'Times the Lua scripts were loaded again after boot (Redis restart, failover, SCRIPT FLUSH)',
      registers: [this.registry],
      collect() {
        this.set(scripts.reloads);
      },
    });
    this.eventGauges();
    this.replicationMetrics();
    this.serviceHealthMetrics();
  }

  onModuleDestroy(): void {
    this.eventLoopDelay.stop();
  }

  onModuleInit(): void {
    // Every script's error series from 0, so rate() and the dashboard see them before the first error.
    for (const script of this.scripts.names) for (const kind of ['unavailable', 'other']) this.redisErrors.inc({ script, kind }, 0);
    this.scripts.observe({
      onReply: (script, keys, reply, seconds) => {
        this.scriptDuration.observe({ script }, seconds);
        const count = COUNTS[script]?.[reply[0]];
        if (count) {
          const amount = count[1](reply);
          if (amount > 0) this.counters[count[0]].inc({ event: eventOf(keys) }, amount);
        }
      },
      onError: (script, _keys, error, seconds) => {
        this.scriptDuration.observe({ script }, seconds);
        this.redisErrors.inc({ script, kind: isRedisUnavailable(error) ? 'unavailable' : 'other' });
      },
    });
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      this.httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private eventCounter(name: string, help: string): Counter<'event'> {
    return new Counter({ name, help, labelNames: ['event'], registers: [this.registry] });
  }

  /**
   * Durability as operators need to see it degrade: each WAIT's outcome, and
   * per master its replicas and how far behind each is (read from INFO
   * replication on every master when Prometheus scrapes).
   */
  private replicationMetrics(): void {
    const waits = new Counter({
      name: 'queuegate_redis_wait_total',
      help: 'WAITs after a confirm (REDIS_WAIT_REPLICAS > 0) by outcome: acked (enough replicas in time) or timeout (answered 503)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    const waitDuration = new Histogram({
      name: 'queuegate_redis_wait_duration_seconds',
      help: 'Time a confirm waited for REDIS_WAIT_REPLICAS replicas (the WAIT round trip), by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    for (const outcome of ['acked', 'timeout']) waits.inc({ outcome }, 0);
    this.replicas.onOutcome((outcome, seconds) => {
      waits.inc({ outcome });
      waitDuration.observe({ outcome }, seconds);
    });

    let pending: Promise<void> | undefined;
    const readOnce = () => (pending ??= collectAll().finally(() => (pending = undefined)));
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers: [this.registry], collect: readOnce });
    const connected = gauge('queuegate_redis_connected_replicas', 'Replicas connected to each master, any state', ['master']);
    const lagBytes = gauge('queuegate_redis_replication_lag_bytes', "Bytes of a master's writes its replica has not acknowledged (master_repl_offset - replica offset)", ['master', 'replica']);
    const lagSeconds = gauge('queuegate_redis_replication_lag_seconds', 'Seconds since a replica last acknowledged its master (it does every second)', ['master', 'replica']);
    const collectAll = async () => {
      for (const g of [connected, lagBytes, lagSeconds]) g.reset();
      const masters = await this.replicas.replication().catch(() => []);
      for (const m of masters) {
        connected.set({ master: m.node }, m.replicas.length);
        for (const r of m.replicas) {
          lagBytes.set({ master: m.node, replica: r.address }, r.lagBytes);
          lagSeconds.set({ master: m.node, replica: r.address }, r.lagSeconds);
        }
      }
    };
  }

  /**
   * Per-event gauges of the events this replica serves, read from Redis (one
   * eventView script per event) when Prometheus scrapes: queue, inventory (in
   * total and per price level), the admission settings beside what Redis
   * observed, and the event's status as a one-hot set.
   */
  private eventGauges(): void {
    const fields = ['waiting', 'active', 'available', 'held', 'sold'] as const;
    // The gauges share one read per scrape: prom-client asks every metric
    // at once, so each gauge's collect awaits the same pending read.
    let pending: Promise<void> | undefined;
    const readOnce = () => (pending ??= collectAll().finally(() => (pending = undefined)));
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers: [this.registry], collect: readOnce });
    const totals = Object.fromEntries(
      fields.map((f) => [f, gauge(`queuegate_event_${f}`, f === 'waiting' || f === 'active' ? `Users ${f}, by event` : `Seats ${f}, by event`, ['event'])]),
    ) as Record<(typeof fields)[number], Gauge<'event'>>;
    const levelSeats = gauge('queuegate_event_level_seats', 'Seats by event, price level and state (available, held, sold)', ['event', 'price_level', 'state']);
    const rate = gauge('queuegate_event_admission_rate_per_second', 'Configured admission rate (admission.ratePerSecond), by event', ['event']);
    const observed = gauge('queuegate_event_observed_admission_rate_per_second', 'Admissions per second over the last minute as Redis counted them (absent before the first), by event', ['event']);
    const maxActive = gauge('queuegate_event_max_active', 'Configured cap on active sessions (admission.maxActive), by event', ['event']);
    const status = gauge('queuegate_event_status', 'The event status (scheduled, prequeue, open, paused, soldOut, closed): 1 for the current one, 0 for the others', ['event', 'status']);
    const all = [...Object.values(totals), levelSeats, rate, observed, maxActive, status] as Gauge<string>[];
    const collectAll = async () => {
      for (const g of all) g.reset();
      // Finished events (closed with nothing live, deleted) cost no Redis work, not even here.
      const ids = this.activity.servedIds();
      await Promise.all(
        ids.map(async (event) => {
          const s = await this.events.snapshot(event).catch(() => null);
          if (!s) return;
          for (const f of fields) totals[f].set({ event }, s[f]);
          for (const l of s.levels) {
            for (const state of ['available', 'held', 'sold'] as const) levelSeats.set({ event, price_level: l.priceLevel, state }, l[state]);
          }
          rate.set({ event }, s.ratePerSecond);
          if (s.observedRatePerSecond !== null) observed.set({ event }, s.observedRatePerSecond);
          maxActive.set({ event }, s.maxActive);
          const now = eventStatus(s);
          for (const st of EVENT_STATUSES) status.set({ event, status: st }, st === now ? 1 : 0);
        }),
      );
    };
  }

  /**
   * What an operator's alerts need of this replica: Redis reachable (every
   * master answers a PING at scrape time; with the offline queue off a
   * disconnected client fails at once, so the scrape stays fast), the queue
   * snapshots' age and open status streams, the audits' outcomes.
   */
  private serviceHealthMetrics(): void {
    const redis = this.redis;
    new Gauge({
      name: 'queuegate_redis_up',
      help: 'Whether every Redis master answered a PING when Prometheus scraped (1) or not (0)',
      registers: [this.registry],
      async collect() {
        const masters = isCluster(redis) ? redis.nodes('master') : [redis];
        const ok = masters.length > 0 && (await Promise.all(masters.map((m) => m.ping().then(() => true, () => false)))).every(Boolean);
        this.set(ok ? 1 : 0);
      },
    });

    const snapshots = this.snapshots;
    new Gauge({
      name: 'queuegate_queue_snapshot_age_seconds',
      help: 'Age of the queue snapshot this replica serves status reads from (refreshed every 0.5 s), by event kept fresh',
      labelNames: ['event'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of snapshots.freshness()) this.set({ event: f.eventId }, f.ageMs / 1000);
      },
    });
    new Gauge({
      name: 'queuegate_sse_streams',
      help: 'Open status streams (GET /v1/events/:eventId/queue/:ticket/events) on this replica, by event',
      labelNames: ['event'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of snapshots.freshness()) if (f.streams > 0) this.set({ event: f.eventId }, f.streams);
      },
    });

    const audits = new Counter({
      name: 'queuegate_audits_total',
      help: 'Audits (GET /v1/events/:eventId/audit) run on this replica, by event and result (clean, mismatch)',
      labelNames: ['event', 'result'],
      registers: [this.registry],
    });
    const mismatches = new Gauge({
      name: 'queuegate_audit_mismatches',
      help: 'Mismatches the latest audit of the event on this replica found (0: clean)',
      labelNames: ['event'],
      registers: [this.registry],
    });
    this.seats.onAudit((event, found) => {
      audits.inc({ event, result: found > 0 ? 'mismatch' : 'clean' });
      mismatches.set({ event }, found);
    });
  }
}
