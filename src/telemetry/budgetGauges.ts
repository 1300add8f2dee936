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
  readonly monotonicMs: () => number;
  /** The share of the tenant's calendar month elapsed now, in its time zone (monthProgress.ts). */
  readonly monthElapsed: (timeZone: string) => number;
  /** One scrape's store reads are shared by the gauges and given up after this long (default 1000). */
  readonly readTimeoutMs?: number;
}

interface Reading {
  /**
   * Each configured tenant's latest figures: this scrape's read, or the last one that succeeded when the store
   * cannot be read now (a tenant never read yet is left out). Spend-cap alerts then hold through a store
   * outage instead of resolving and firing again; `budget_read_age_seconds` says how old the figures are.
   */
  readonly tenants: readonly BudgetReading[];
  /** Seconds since the oldest of the figures above was read (0 when every read succeeded). */
  readonly ageSeconds: number;
}

/** The store read shared by one scrape's gauges: every replica reports the store's truth, not its own. */
class BudgetReader {
  private latest: { readonly atMs: number; readonly reading: Promise<Reading> } | undefined;
  private readonly lastKnown = new Map<string, { readonly reading: BudgetReading; readonly atMs: number }>();

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
    const configured = this.options.view().tenants;
    const results = await Promise.all(configured.map((tenant) => this.readOne(tenant.id, tenant.timeZone)));
    const nowMs = this.options.monotonicMs();
    const tenants: BudgetReading[] = [];
    let failed = 0;
    let oldestMs = nowMs;
    results.forEach((result, i) => {
      const id = configured[i]?.id ?? "";
      if (result !== undefined) this.lastKnown.set(id, { reading: result, atMs: nowMs });
      else failed++;
      const known = this.lastKnown.get(id);
      if (known === undefined) return;
      tenants.push(known.reading);
      oldestMs = Math.min(oldestMs, known.atMs);
    });
    // Tenants removed by a reload are forgotten.
    for (const id of this.lastKnown.keys())
      if (!configured.some((t) => t.id === id)) this.lastKnown.delete(id);
    if (failed > 0) {
      this.options.logger.warn(
        { event: "metrics_store_read_failed", tenants: failed },
        "budget gauges keep their last known values for tenants whose store read failed",
      );
    }
    return { tenants, ageSeconds: (nowMs - oldestMs) / 1000 };
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
      // A scrape must never fail because the store does: the gauge keeps this tenant's last known value.
      this.options.onStoreError();
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * spend_today_usd, spend_month_usd, tasks_in_flight, reservations_unknown (from the store), spend_cap_usd and
 * spend_month_cap_usd (from the config) and spend_month_elapsed_ratio (from the clock), computed when scraped.
 * A tenant without a cap has no series for it. With the tenant label off, each is the sum over tenants under
 * tenant="all" (a cap: the sum of the capped tenants' caps), the elapsed ratio the least elapsed tenant's.
 */
export function registerBudgetGauges(options: BudgetGaugeOptions): void {
  const reader = new BudgetReader(options);
  const { registers, name, tenantLabel } = options;

  // All read the same per-scrape store snapshot (BudgetReader shares one read between them).
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
    "spend_month_usd",
    "Net spend of the tenant's current calendar month (its time zone) as counted against its monthly cap, in USD, read from the limit store.",
    (t) => t.monthSpentMicros / 1e6,
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
  const age: Gauge = new Gauge({
    name: name("budget_read_age_seconds"),
    help: "How old the store-read gauges (spend_today_usd, spend_month_usd, tasks_in_flight, reservations_unknown) are: 0 when this scrape read the store, else seconds since the last read that succeeded.",
    registers,
    collect: async () => {
      age.set((await reader.read()).ageSeconds);
    },
  });
  // Computed from the configuration (and the clock) at scrape time, the same on every replica.
  const viewGauge = (
    metric: string,
    help: string,
    value: (t: ViewTenant) => number | null,
    combine?: (values: readonly number[]) => number,
  ): void => {
    const gauge: Gauge = new Gauge({
      name: name(metric),
      help,
      labelNames: ["tenant"],
      registers,
      collect: () => {
        gauge.reset();
        const values: [string, number][] = [];
        for (const tenant of options.view().tenants) {
          const v = value(tenant);
          if (v !== null) values.push([tenant.id, v]);
        }
        setAll(gauge, tenantLabel, values, combine);
      },
    });
  };
  viewGauge(
    "spend_cap_usd",
    "The tenant's daily spend cap in USD (no series for uncapped tenants).",
    (t) => t.dailyCapUsd,
  );
  viewGauge(
    "spend_month_cap_usd",
    "The tenant's monthly spend cap in USD (no series for tenants without one).",
    (t) => t.monthlyCapUsd,
  );
  viewGauge(
    "spend_month_elapsed_ratio",
    "Share of the tenant's current calendar month (its time zone) elapsed, 0 to 1: spend_month_usd divided by it projects the month-end spend.",
    (t) => options.monthElapsed(t.timeZone),
    // Summed ratios mean nothing: the tenants' summed spend is projected by the least elapsed month (the
    // highest projection; zones are at most a day apart).
    (ratios) => Math.min(...ratios),
  );
}

type ViewTenant = MetricsView["tenants"][number];

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

function setAll(
  gauge: Gauge,
  tenantLabel: boolean,
  values: readonly (readonly [string, number])[],
  combine: (values: readonly number[]) => number = sum,
): void {
  if (tenantLabel) {
    for (const [tenant, value] of values) gauge.labels(tenant).set(value);
    return;
  }
  if (values.length > 0) gauge.labels(ALL_TENANTS).set(combine(values.map(([, value]) => value)));
}
