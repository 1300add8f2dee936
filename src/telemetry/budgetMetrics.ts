import { Counter, type Registry } from "prom-client";
import { microsToUsd } from "../apixo/prices.js";
import { CAP_WINDOWS, type GatewayEvents } from "./events.js";
import { ChildCache, NONE, OTHER, oncePerView, type LabelBounds } from "./metricLabels.js";
import type { MetricsView } from "./metricsView.js";

export interface BudgetMetricsOptions {
  readonly registers: Registry[];
  readonly name: (suffix: string) => string;
  readonly view: () => MetricsView;
  readonly labels: LabelBounds;
  /** The tenant label values of the configuration in force ("all" with the tenant label off). */
  readonly knownTenants: () => readonly string[];
}

type BudgetEvents = Pick<GatewayEvents, "taskSubmitted" | "taskFinished" | "requestFinished">;

/**
 * Spend by feature (X-Gateway-Feature, bounded by telemetry.featureLabels) and spend-cap refusals by the cap
 * that refused. Counted at the same events as spend_usd_total and refunds_usd_total, so per tenant the
 * features add up to them exactly. The end user (X-Gateway-User) is never a label: its spend is in the usage
 * rollups (admin API, `apixo-gateway usage`), not in Prometheus.
 */
export function registerBudgetMetrics(options: BudgetMetricsOptions): BudgetEvents {
  const { registers, name, labels, knownTenants } = options;
  const byFeature = (metric: string, help: string): ChildCache<Counter.Internal> => {
    const counter: Counter = new Counter({
      name: name(metric),
      help,
      labelNames: ["tenant", "feature"],
      registers,
      // Every feature a tenant can be counted under, from the first scrape: increase() cannot see a series'
      // first value, and a feature's first charge would be lost to the spend-by-feature panels.
      collect: oncePerView(options.view, (view) => {
        const features = new Set([...view.featureLabels, OTHER, NONE]);
        for (const tenant of knownTenants())
          for (const feature of features) children.get(tenant, feature).inc(0);
      }),
    });
    const children = new ChildCache(2, (v) => counter.labels(...v));
    return children;
  };
  const featureSpendBy = byFeature(
    "feature_spend_usd_total",
    "Estimated charges of accepted tasks in USD by X-Gateway-Feature: the value when telemetry.featureLabels lists it, 'other' when not, 'none' without the header.",
  );
  const featureRefundsBy = byFeature(
    "feature_refunds_usd_total",
    "Charges given back for failed tasks in USD, by the X-Gateway-Feature of their submit (bounded as feature_spend_usd_total).",
  );
  const capRejections = new Counter({
    name: name("spend_cap_rejections_total"),
    help: "Submits refused with 402 SPEND_CAP_EXCEEDED, by the cap that refused them (daily, monthly, model_daily, user_daily).",
    labelNames: ["tenant", "window"],
    registers,
    collect: oncePerView(options.view, () => {
      for (const tenant of knownTenants())
        for (const window of CAP_WINDOWS) capRejectionsBy.get(tenant, window).inc(0);
    }),
  });
  const capRejectionsBy = new ChildCache(2, (v) => capRejections.labels(...v));

  return {
    taskSubmitted(e) {
      featureSpendBy.get(labels.tenant(e.tenant), labels.feature(e.feature)).inc(microsToUsd(e.costMicros));
    },
    taskFinished(e) {
      if (e.refundedMicros <= 0) return;
      featureRefundsBy
        .get(labels.tenant(e.tenant), labels.feature(e.feature))
        .inc(microsToUsd(e.refundedMicros));
    },
    requestFinished(r) {
      if (r.errorType !== "SPEND_CAP_EXCEEDED") return;
      // Before monthly, per-model and per-user caps there was only the daily one.
      capRejectionsBy.get(labels.tenant(r.tenant), r.capWindow ?? "daily").inc();
    },
  };
}
