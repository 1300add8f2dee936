import { Gauge, type Registry } from "prom-client";
import type { BudgetReading, MetricsView } from "./metricsView.js";
import type { Logger } from "./logger.js";
import { ALL_TENANTS } from "./metricLabels.js";

export interface BudgetGaugeOptions {
  readonly registers: Registry[];
  readonly name: (suffix: string) => string;
  readonly view: () => MetricsView;
  readonly readBudget: (tenantId: string, timeZone: string) => Promise<BudgetReading>;
  readonly tenantLabel: boolean;
  readonly logger: Logger;
  readonly onStoreError: () => void;
  /** One scrape's store reads are shared by the gauges and given up after this long (default 1000). */
  readonly readTimeoutMs?: number;
}

interface Reading {
  /** Tenants whose store read succeeded; a failed one is left out (no series) rather than reported stale. */
  readonly tenants: readonly BudgetReading[];
}

/** The store read shared by one scrape's gauges: every replica reports the store's truth, not its own. */
class BudgetReader {
  private latest: { readonly atMs: number; readonly reading: Promise<Reading> } | undefined;

  constructor(private readonly options: BudgetGaugeOptions) {}

  read(): Promise<Reading> {
    const now = Date.now();
    // The gauges of one scrape are collected together; they share one round of reads.
    if (this.latest !== undefined && now - this.latest.atMs < 500) return this.latest.reading;
    const reading = this.readAll();
    this.latest = { atMs: now, reading };
    return reading;
  }

  private async readAll(): Promise<Reading> {
    const results = await Promise.all(
      this.options.view().tenants.map((tenant) => this.readOne(tenant.id, tenant.timeZone)),
    );
    const tenants = results.filter((r): r is BudgetReading => r !== undefined);
    const failed = results.length - tenants.length;
    if (failed > 0) {
      this.options.logger.warn(
        { event: "metrics_store_read_failed", tenants: failed },
        "budget gauges left out for tenants whose store read failed",
      );
    }
    return { tenants };
  }

  private async readOne(tenantId: string, timeZone: string): Promise<BudgetReading | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error("store read timed out"));
        }, this.options.readTimeoutMs ?? 1000);
      });
      return await Promise.race([this.options.readBudget(tenantId, timeZone), timeout]);
    } catch {
      // A scrape must never fail because the store does: the gauge loses this tenant's series instead.
      this.options.onStoreError();
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * spend_today_usd, tasks_in_flight (from the store) and spend_cap_usd (from the config), computed when
 * scraped. A tenant without a cap has no spend_cap_usd series. With the tenant label off, each is the sum
 * over tenants under tenant="all" (the cap: the sum of the capped tenants' caps).
 */
export function registerBudgetGauges(options: BudgetGaugeOptions): void {
  const reader = new BudgetReader(options);
  const { registers, name, tenantLabel } = options;

  // Both read the same per-scrape store snapshot (BudgetReader shares one read between them).
  const storeGauge = (metric: string, help: string, value: (t: BudgetReading) => number): void => {
    const gauge: Gauge = new Gauge({
      name: name(metric),
      help,
      labelNames: ["tenant"],
      registers,
      collect: async () => {
        const { tenants } = await reader.read();
        gauge.reset();
        setAll(
          gauge,
          tenantLabel,
          tenants.map((t) => [t.tenantId, value(t)]),
        );
      },
    });
  };
  storeGauge(
    "spend_today_usd",
    "Spend of the tenant's current day (its time zone) as counted against its cap, in USD, read from the limit store.",
    (t) => t.spentMicros / 1e6,
  );
  storeGauge(
    "tasks_in_flight",
    "Tasks submitted and not yet seen to finish, read from the limit store.",
    (t) => t.inFlight,
  );
  storeGauge(
    "reservations_unknown",
    "Reservations kept charged as unknown outcomes (may have reached APIXO), read from the limit store; an operator releases them with `apixo-gateway ledger release`.",
    (t) => t.unknownOutcomes,
  );
  const cap: Gauge = new Gauge({
    name: name("spend_cap_usd"),
    help: "The tenant's daily spend cap in USD (no series for uncapped tenants).",
    labelNames: ["tenant"],
    registers,
    collect: () => {
      cap.reset();
      const capped = options
        .view()
        .tenants.filter((t) => t.dailyCapUsd !== null)
        .map((t): [string, number] => [t.id, t.dailyCapUsd ?? 0]);
      setAll(cap, tenantLabel, capped);
    },
  });
}

function setAll(gauge: Gauge, tenantLabel: boolean, values: readonly (readonly [string, number])[]): void {
  if (tenantLabel) {
    for (const [tenant, value] of values) gauge.labels(tenant).set(value);
    return;
  }
  if (values.length > 0) gauge.labels(ALL_TENANTS).set(values.reduce((sum, [, value]) => sum + value, 0));
}
