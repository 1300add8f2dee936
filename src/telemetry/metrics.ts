import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from "prom-client";
import { GATEWAY_VERSION } from "../version.js";
import { registerBudgetGauges } from "./budgetGauges.js";
import { registerBudgetMetrics } from "./budgetMetrics.js";
import { registerUpstreamMetrics } from "./upstreamMetrics.js";
import { KNOWN_FAIL_CODES } from "../apixo/models.js";
import { REJECTION_REASONS, type GatewayEvents } from "./events.js";
import type { Logger } from "./logger.js";
import { ALL_TENANTS, ChildCache, LabelBounds, oncePerView } from "./metricLabels.js";
import type { BudgetReading, MetricsView } from "./metricsView.js";
import { microsToUsd } from "../apixo/prices.js";

export const METRIC_PREFIX = "apixo_gateway_";

/** Buckets by range: the gateway's own time is sub-millisecond, APIXO's seconds, a video task minutes. */
export const BUCKETS = {
  request: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  // Up to seconds: the alert's 50 ms threshold must sit below the highest finite bucket, or p95 caps at it.
  overhead: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  store: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  task: [1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600, 1200],
  callback: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
} as const;

export interface MetricsOptions {
  /** Injected: never prom-client's global registry, so gateways (and tests) do not share series. */
  readonly registry: Registry;
  /** The configuration in force, read per event and scrape, so a reload applies at once. */
  readonly view: () => MetricsView;
  /**
   * A tenant's spend today and this month (its time zone), in flight and unknown outcomes, read from the store
   * at scrape time.
   */
  readonly readBudget: (tenantId: string, timeZone: string) => Promise<BudgetReading>;
  /** false: every tenant label is "all" (`telemetry.tenantLabel`). */
  readonly tenantLabel: boolean;
  readonly logger: Logger;
  /** The share of the tenant's calendar month elapsed now, in its time zone (monthProgress.ts MonthProgress). */
  readonly monthElapsed: (timeZone: string) => number;
  /** Monotonic ms for the budget gauges' read age (default performance.now). */
  readonly monotonicMs?: () => number;
  /** prom-client's process metrics (default true). */
  readonly defaultMetrics?: boolean;
}

export interface GatewayMetrics {
  /** The subscriber the request path reports to. */
  readonly events: GatewayEvents;
  /** Latest balance of one upstream account (by alias), from the poller. */
  setUpstreamBalance(alias: string, usd: number): void;
  /** Drops series of upstream aliases no longer configured. */
  retainUpstreams(aliases: readonly string[]): void;
  /** The first scrape runs this once (bounded wait) so the balance is there without a poll at start. */
  setBalanceRefresher(refresh: () => Promise<void>): void;
}

/** Every store operation the governor times (governor.decide / observe), so each has a zero series. */
export const STORE_OPERATIONS = [
  "admit_submit",
  "admit_status",
  "admit_balance",
  "callback_admit",
  "callback_get_task",
  "snapshot",
  "record_task",
  "release",
  "mark_unknown",
  "settle",
  "metrics_snapshot",
] as const;

const UPSTREAM_ERROR_REASONS = ["timeout", "connect", "reset", "status_5xx", "bad_response"] as const;
const CALLBACK_OUTCOMES = ["delivered", "retried", "failed", "rejected"] as const;
const TASK_STATES = ["success", "failed", "expired"] as const;

const MISNAMED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** fail_code values a task can be counted under: the bounded set (apixo/models.ts) and `other`. */
const FAIL_CODE_LABELS = [...KNOWN_FAIL_CODES, "other", "none"];
const seconds = (ms: number): number => ms / 1000;

/** Every metric of CONTRACTS.md section 4, registered on `registry`, fed by gateway events. */
export function createMetrics(options: MetricsOptions): GatewayMetrics {
  const { registry } = options;
  const labels = new LabelBounds(options.view, options.tenantLabel);
  const registers = [registry];
  const name = (n: string): string => METRIC_PREFIX + n;
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total fail `promtool check metrics`; the per-type gauges without the suffix stay and
    // carry the same numbers (sum them for the total).
    for (const gauge of MISNAMED_DEFAULTS) registry.removeSingleMetric(gauge);
  }
  // One series per process naming what runs: join on it, or count versions during a rollout.
  new Gauge({
    name: name("build_info"),
    help: "Always 1; the labels name the gateway version (package.json) and the Node.js version running it.",
    labelNames: ["version", "node"],
    registers,
  })
    .labels(GATEWAY_VERSION, process.version)
    .set(1);

  const requests = new Counter({
    name: name("requests_total"),
    help: "Requests answered by the gateway, by tenant, model, operation and HTTP status.",
    labelNames: ["tenant", "model", "operation", "code"],
    registers,
  });
  const requestDuration = new Histogram({
    name: name("request_duration_seconds"),
    help: "Time from request arrival to the last byte of the answer, upstream time included.",
    labelNames: ["model", "operation"],
    buckets: [...BUCKETS.request],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: name("upstream_duration_seconds"),
    help: "Time of the exchange with APIXO (send to last byte of its answer).",
    labelNames: ["model", "operation"],
    buckets: [...BUCKETS.request],
    registers,
  });
  const overhead = new Histogram({
    name: name("overhead_seconds"),
    help: "The gateway's own time per request: request duration minus upstream time and waits (retry backoff, coalesced polls).",
    labelNames: ["operation"],
    buckets: [...BUCKETS.overhead],
    registers,
  });
  const upstreamErrors = new Counter({
    name: name("upstream_errors_total"),
    help: "Failed exchanges with APIXO by reason (timeout, connect, reset, status_5xx, bad_response).",
    labelNames: ["model", "reason"],
    registers,
    collect: oncePerView(options.view, (view) => {
      for (const model of view.models)
        for (const reason of UPSTREAM_ERROR_REASONS) upstreamErrorsBy.get(model, reason).inc(0);
    }),
  });
  const tasksSubmitted = new Counter({
    name: name("tasks_submitted_total"),
    help: "Tasks APIXO accepted through the gateway.",
    labelNames: ["tenant", "model"],
    registers,
  });
  const tasksCompleted = new Counter({
    name: name("tasks_completed_total"),
    help: "Tasks seen to end, by final state (success, failed, expired).",
    labelNames: ["tenant", "model", "state"],
    registers,
  });
  const taskFailures = new Counter({
    name: name("task_failures_total"),
    help: "Failed tasks by APIXO failCode (unknown codes are 'other').",
    labelNames: ["tenant", "model", "fail_code"],
    registers,
  });
  const taskDuration = new Histogram({
    name: name("task_duration_seconds"),
    help: "Task run time as APIXO reports it (costTime), for tasks seen to end.",
    labelNames: ["model"],
    buckets: [...BUCKETS.task],
    registers,
  });
  const spend = new Counter({
    name: name("spend_usd_total"),
    help: "Estimated charges of accepted tasks, in USD.",
    labelNames: ["tenant", "model"],
    registers,
  });
  const refunds = new Counter({
    name: name("refunds_usd_total"),
    help: "Charges given back for failed tasks, in USD.",
    labelNames: ["tenant", "model"],
    registers,
  });
  const rejections = new Counter({
    name: name("rejections_total"),
    help: "Requests the gateway refused itself, by reason.",
    labelNames: ["tenant", "reason"],
    registers,
    collect: oncePerView(options.view, () => {
      for (const tenant of knownTenants())
        for (const reason of REJECTION_REASONS) rejectionsBy.get(tenant, reason).inc(0);
    }),
  });
  const storeErrors = new Counter({
    name: name("store_errors_total"),
    help: "Limit store calls that failed or timed out, by operation.",
    labelNames: ["operation"],
    registers,
  });
  for (const operation of STORE_OPERATIONS) storeErrors.labels(operation).inc(0);
  const storeDuration = new Histogram({
    name: name("store_duration_seconds"),
    help: "Limit store round trips, by operation.",
    labelNames: ["operation"],
    buckets: [...BUCKETS.store],
    registers,
  });
  const callbacks = new Counter({
    name: name("callbacks_total"),
    help: "Task callbacks relayed to tenants, by outcome (delivered, retried, failed, rejected).",
    labelNames: ["tenant", "outcome"],
    registers,
    collect: oncePerView(options.view, () => {
      for (const tenant of knownTenants())
        for (const outcome of CALLBACK_OUTCOMES) callbacks.labels(tenant, outcome).inc(0);
    }),
  });
  const callbackDelivery = new Histogram({
    name: name("callback_delivery_seconds"),
    help: "Time to deliver one callback to the tenant's URL, by outcome.",
    labelNames: ["outcome"],
    buckets: [...BUCKETS.callback],
    registers,
  });
  const statusCache = new Counter({
    name: name("status_cache_total"),
    help: "Lookups of the gateway's status cache of finished tasks, per status poll: answered from it (hit) or passed to APIXO (miss).",
    labelNames: ["result"],
    registers,
  });
  const configReloads = new Counter({
    name: name("config_reloads_total"),
    help: "Configuration reloads by result (success, failure).",
    labelNames: ["result"],
    registers,
  });
  const reservations = new Counter({
    name: name("reservations_total"),
    help: "Submit reservations by fate: charged (APIXO accepted), released (never left, or refused), unknown (may have reached APIXO).",
    labelNames: ["tenant", "fate"],
    registers,
  });
  const journalDepth = new Gauge({
    name: name("ledger_journal_depth"),
    help: "Ledger writes waiting in this process's write-behind journal for the store to come back.",
    registers,
  });
  const journalDropped = new Counter({
    name: name("ledger_journal_dropped_total"),
    help: "Ledger writes lost because the journal was full or the store refused them as invalid.",
    registers,
  });
  const orphans = new Counter({
    name: name("ledger_orphans_total"),
    help: "Reservations found open past the upstream timeout with nothing to settle them, marked unknown.",
    labelNames: ["tenant"],
    registers,
  });
  journalDepth.set(0);
  journalDropped.inc(0);
  // Zero series for the fixed label sets, so rate() and alerts work before the first event.
  for (const result of ["success", "failure"]) configReloads.labels(result).inc(0);
  const cacheHit = statusCache.labels("hit");
  const cacheMiss = statusCache.labels("miss");
  cacheHit.inc(0);
  cacheMiss.inc(0);

  const upstream = registerUpstreamMetrics({ registers, name, view: options.view, labels });
  const knownTenants = (): readonly string[] =>
    options.tenantLabel ? options.view().tenants.map((t) => t.id) : [ALL_TENANTS];

  registerBudgetGauges({
    registers,
    name,
    view: options.view,
    monotonicMs: options.monotonicMs ?? (() => performance.now()),
    readBudget: options.readBudget,
    monthElapsed: options.monthElapsed,
    tenantLabel: options.tenantLabel,
    logger: options.logger,
    onStoreError: () => storeErrors.labels("metrics_snapshot").inc(),
  });
  const budget = registerBudgetMetrics({ registers, name, view: options.view, labels, knownTenants });

  const requestsBy = new ChildCache(4, (v) => requests.labels(...v));
  const requestDurationBy = new ChildCache(2, (v) => requestDuration.labels(...v));
  const upstreamDurationBy = new ChildCache(2, (v) => upstreamDuration.labels(...v));
  const overheadBy = new ChildCache(1, (v) => overhead.labels(...v));
  const upstreamErrorsBy = new ChildCache(2, (v) => upstreamErrors.labels(...v));
  const submittedBy = new ChildCache(2, (v) => tasksSubmitted.labels(...v));
  const spendBy = new ChildCache(2, (v) => spend.labels(...v));
  const completedBy = new ChildCache(3, (v) => tasksCompleted.labels(...v));
  const failuresBy = new ChildCache(3, (v) => taskFailures.labels(...v));
  // A task's ending is counted minutes after its submit: its series exist from the first submit of a tenant and
  // model on, so the first ending is seen by increase(). Made once per pair, not on every submit.
  const endingsZeroed = new ChildCache(2, ([tenant = "", model = ""]) => {
    for (const state of TASK_STATES) completedBy.get(tenant, model, state).inc(0);
    for (const code of FAIL_CODE_LABELS) failuresBy.get(tenant, model, code).inc(0);
    return true;
  });
  const refundsBy = new ChildCache(2, (v) => refunds.labels(...v));
  const taskDurationBy = new ChildCache(1, (v) => taskDuration.labels(...v));
  const rejectionsBy = new ChildCache(2, (v) => rejections.labels(...v));
  const storeDurationBy = new ChildCache(1, (v) => storeDuration.labels(...v));
  const storeErrorsBy = new ChildCache(1, (v) => storeErrors.labels(...v));
  const reservationsBy = new ChildCache(2, (v) => reservations.labels(...v));

  const events: GatewayEvents = {
    requestFinished(r) {
      // Health probes are the orchestrator's, not traffic: they would dilute every ratio.
      if (r.probe) return;
      const model = labels.model(r.model);
      requestsBy.get(labels.tenant(r.tenant), model, r.operation, labels.code(r.status)).inc();
      requestDurationBy.get(model, r.operation).observe(seconds(r.durationMs));
      const ownMs = r.durationMs - r.upstreamMs - r.waitMs;
      overheadBy.get(r.operation).observe(seconds(Math.max(0, ownMs)));
      budget.requestFinished(r);
    },
    upstreamFinished(e) {
      const model = labels.model(e.model);
      upstreamDurationBy.get(model, e.operation).observe(seconds(e.durationMs));
      if (e.failure !== undefined) upstreamErrorsBy.get(model, e.failure).inc();
      else if (e.status !== undefined && e.status >= 500) upstreamErrorsBy.get(model, "status_5xx").inc();
    },
    taskSubmitted(e) {
      const tenant = labels.tenant(e.tenant);
      const model = labels.model(e.model);
      submittedBy.get(tenant, model).inc();
      spendBy.get(tenant, model).inc(microsToUsd(e.costMicros));
      endingsZeroed.get(tenant, model);
      budget.taskSubmitted(e);
      upstream.events.taskSubmitted(e);
    },
    taskFinished(e) {
      const tenant = labels.tenant(e.tenant);
      const model = labels.model(e.model);
      completedBy.get(tenant, model, e.state).inc();
      if (e.state === "failed") failuresBy.get(tenant, model, labels.failCode(e.failCode)).inc();
      if (e.refundedMicros > 0) refundsBy.get(tenant, model).inc(microsToUsd(e.refundedMicros));
      if (e.costTimeMs !== undefined) taskDurationBy.get(model).observe(seconds(e.costTimeMs));
      budget.taskFinished(e);
      upstream.events.taskFinished(e);
    },
    rejected(e) {
      rejectionsBy.get(labels.tenant(e.tenant), e.reason).inc();
    },
    storeCall(e) {
      storeDurationBy.get(e.operation).observe(seconds(e.durationMs));
      if (!e.ok) storeErrorsBy.get(e.operation).inc();
    },
    configReloaded(e) {
      configReloads.labels(e.ok ? "success" : "failure").inc();
    },
    callbackFinished(e) {
      callbacks.labels(labels.tenant(e.tenant), e.outcome).inc();
      callbackDelivery.labels(e.outcome).observe(seconds(e.durationMs));
    },
    statusCache(e) {
      (e.hit ? cacheHit : cacheMiss).inc();
    },
    upstreamCircuit: upstream.events.upstreamCircuit,
    accountLimited: upstream.events.accountLimited,
    reservationFate(e) {
      reservationsBy.get(labels.tenant(e.tenant), e.fate).inc();
    },
    ledgerJournal(e) {
      journalDepth.set(e.depth);
      if (e.dropped > 0) journalDropped.inc(e.dropped);
    },
    ledgerOrphans(e) {
      orphans.labels(labels.tenant(e.tenant)).inc(e.count);
    },
  };

  return {
    events,
    setUpstreamBalance: (alias, balanceUsd) => upstream.setUpstreamBalance(alias, balanceUsd),
    setBalanceRefresher: (refresh) => upstream.setBalanceRefresher(refresh),
    retainUpstreams: (aliases) => upstream.retainUpstreams(aliases),
  };
}
