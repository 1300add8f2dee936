import { Counter, Gauge, type Registry } from "prom-client";
import type { GatewayEvents } from "./events.js";
import { ChildCache, oncePerView, type LabelBounds } from "./metricLabels.js";
import type { MetricsView } from "./metricsView.js";
import { microsToUsd } from "../apixo/prices.js";

export interface UpstreamMetricsOptions {
  readonly registers: Registry[];
  readonly name: (suffix: string) => string;
  readonly view: () => MetricsView;
  readonly labels: LabelBounds;
}

/** The upstream-account half of the metrics: balance, observed vs estimated spend, breaker, account limits. */
export interface UpstreamMetrics {
  readonly events: Pick<
    GatewayEvents,
    "upstreamCircuit" | "accountLimited" | "taskSubmitted" | "taskFinished"
  >;
  setUpstreamBalance(alias: string, usd: number): void;
  retainUpstreams(aliases: readonly string[]): void;
  setBalanceRefresher(refresh: () => Promise<void>): void;
}

const CIRCUIT_STATES = ["closed", "half_open", "open"] as const;
const ACCOUNT_REASONS = ["rate", "concurrency"] as const;

/** How long the first scrape waits for the first balance poll; a slower APIXO shows up one scrape later. */
const FIRST_BALANCE_WAIT_MS = 1000;

/**
 * What the gateway knows of each APIXO account (by alias). The estimated spend (the price table, as charged and
 * refunded here) and the observed spend (the balance poller's drops) sit side by side, so a wrong price shows as
 * drift (ApixoGatewayCostDrift) instead of as a surprise on the invoice. Every series of a configured alias
 * exists from the first scrape at 0, so the first event is seen by increase().
 */
export function registerUpstreamMetrics(options: UpstreamMetricsOptions): UpstreamMetrics {
  const { registers, name, view, labels } = options;
  let refreshBalance: (() => Promise<void>) | undefined;

  const balance = new Gauge({
    name: name("upstream_balance_usd"),
    help: "APIXO account balance per upstream key (by alias), from the last successful poll.",
    labelNames: ["upstream"],
    registers,
    collect: async () => {
      const refresh = refreshBalance;
      if (refresh === undefined) return;
      refreshBalance = undefined;
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FIRST_BALANCE_WAIT_MS);
      });
      await Promise.race([refresh(), patience]);
      clearTimeout(timer);
    },
  });
  const counter = (metric: string, help: string): Counter => {
    const created: Counter = new Counter({
      name: name(metric),
      help,
      labelNames: ["upstream"],
      registers,
      collect: oncePerView(view, (v) => v.upstreams.forEach((upstream) => created.labels(upstream).inc(0))),
    });
    return created;
  };
  const observed = counter(
    "upstream_observed_spend_usd_total",
    "APIXO balance drops seen by this replica's balance poller, per upstream key alias, in USD (top-ups skipped).",
  );
  const topUps = counter(
    "upstream_balance_topups_total",
    "Balance rises seen by the balance poller (top-ups), per upstream key alias; left out of the observed spend.",
  );
  const estimated = counter(
    "upstream_estimated_spend_usd_total",
    "Estimated charges (price table) of tasks accepted on each upstream key alias, in USD: spend_usd_total by upstream.",
  );
  const estimatedRefunds = counter(
    "upstream_estimated_refunds_usd_total",
    "Charges given back for failed tasks, per upstream key alias, in USD: refunds_usd_total by upstream.",
  );
  new Gauge({
    name: name("cost_drift_threshold_ratio"),
    help: "telemetry.costDriftShare: how far observed and estimated spend may differ before ApixoGatewayCostDrift.",
    registers,
    collect() {
      this.set(view().costDriftShare);
    },
  });

  const circuit = new Gauge({
    name: name("upstream_circuit_state"),
    help: "Circuit breaker per upstream key alias: 0 closed, 1 half-open, 2 open (CONTRACTS.md; see upstream_circuit_breaker_state).",
    labelNames: ["upstream"],
    registers,
  });
  // The Prometheus way to expose an enum: one 0/1 series per state, so `== 1` and sum() need no code table.
  const seen = new Set<string>();
  const circuitStates: Gauge = new Gauge({
    name: name("upstream_circuit_breaker_state"),
    help: "Circuit breaker per upstream key alias: 1 for the state it is in (closed, half_open, open), 0 for the others.",
    labelNames: ["upstream", "state"],
    registers,
    collect: oncePerView(view, (v) => {
      for (const upstream of v.upstreams) {
        if (seen.has(upstream)) continue;
        for (const state of CIRCUIT_STATES)
          circuitStates.labels(upstream, state).set(state === "closed" ? 1 : 0);
      }
    }),
  });
  const accountLimited: Counter = new Counter({
    name: name("account_limited_total"),
    help: "APIXO refusals because the upstream account hit its own rate or concurrency limit.",
    labelNames: ["upstream", "reason"],
    registers,
    collect: oncePerView(view, (v) => {
      for (const upstream of v.upstreams)
        for (const reason of ACCOUNT_REASONS) accountLimited.labels(upstream, reason).inc(0);
    }),
  });

  const lastBalance = new Map<string, number>();
  const estimatedBy = new ChildCache(1, (v) => estimated.labels(...v));
  const estimatedRefundsBy = new ChildCache(1, (v) => estimatedRefunds.labels(...v));
  return {
    events: {
      upstreamCircuit(e) {
        const upstream = labels.upstream(e.upstream);
        circuit.labels(upstream).set(e.state === "closed" ? 0 : e.state === "half_open" ? 1 : 2);
        seen.add(upstream);
        for (const state of CIRCUIT_STATES)
          circuitStates.labels(upstream, state).set(state === e.state ? 1 : 0);
      },
      accountLimited(e) {
        accountLimited.labels(labels.upstream(e.upstream), e.reason).inc();
      },
      taskSubmitted(e) {
        estimatedBy.get(labels.upstream(e.upstream)).inc(microsToUsd(e.costMicros));
      },
      taskFinished(e) {
        if (e.refundedMicros > 0 && e.upstream !== undefined) {
          estimatedRefundsBy.get(labels.upstream(e.upstream)).inc(microsToUsd(e.refundedMicros));
        }
      },
    },
    setUpstreamBalance(alias, balanceUsd) {
      const label = labels.upstream(alias);
      const previous = lastBalance.get(label);
      lastBalance.set(label, balanceUsd);
      balance.labels(label).set(balanceUsd);
      if (previous === undefined) return;
      // A drop is money APIXO took; a rise is a top-up, counted apart and never subtracted from the spend.
      if (balanceUsd < previous) observed.labels(label).inc(previous - balanceUsd);
      else if (balanceUsd > previous) topUps.labels(label).inc();
    },
    setBalanceRefresher(refresh) {
      refreshBalance = refresh;
    },
    retainUpstreams(aliases) {
      for (const alias of lastBalance.keys()) {
        if (aliases.includes(alias)) continue;
        balance.remove(alias);
        lastBalance.delete(alias);
      }
    },
  };
}
