/**
 * What metrics need to know of the configuration in force, in telemetry's own terms, so telemetry imports no
 * domain module: the composition root builds it from the config snapshot (tenants/snapshot.ts metricsViewOf).
 */
export interface MetricsView {
  readonly tenants: readonly {
    readonly id: string;
    readonly timeZone: string;
    readonly dailyCapUsd: number | null;
    readonly monthlyCapUsd: number | null;
  }[];
  /** telemetry.costDriftShare: exported for the cost drift alert to compare against. */
  readonly costDriftShare: number;
  /** Upstream key aliases from config (series initialised to 0 for each). */
  readonly upstreams: readonly string[];
  /** Model ids of the price table (series initialised to 0 for each). */
  readonly models: readonly string[];
  /** telemetry.featureLabels: the X-Gateway-Feature values that may be a `feature` label (series at 0 for each). */
  readonly featureLabels: readonly string[];
  isTenant(id: string): boolean;
  isUpstream(alias: string): boolean;
  /** Whether an X-Gateway-Feature value is listed in telemetry.featureLabels. */
  isFeatureLabel(feature: string): boolean;
  /** The model's catalog id (or price-table id for an operator-priced model); undefined becomes `other`. */
  pricedModel(name: string): string | undefined;
}

/** One tenant's figures read from the limit store at scrape time. */
export interface BudgetReading {
  readonly tenantId: string;
  readonly spentMicros: number;
  /** Net spend of the calendar month (tenant time zone) of the day read. */
  readonly monthSpentMicros: number;
  readonly inFlight: number;
  readonly unknownOutcomes: number;
}
