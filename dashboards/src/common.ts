/* eslint-disable @typescript-eslint/no-deprecated --
 * The SDK marks the classic (v1) dashboard builder deprecated in favour of dashboardv2, but v2 resources load only
 * into Grafana 12+ with its new dashboard API; file provisioning in the Grafana 11 of docker-compose.yml needs v1.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelBuilder as BarGaugePanelBuilder } from "@grafana/grafana-foundation-sdk/bargauge";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import {
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
  VizOrientation,
} from "@grafana/grafana-foundation-sdk/common";

/** Every panel queries the Prometheus the `datasource` variable names (the provisioned one by default). */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

/** Selectors every query uses, so the tenant and model pickers filter every panel that has those labels. */
export const TENANT = 'tenant=~"$tenant"';
export const MODEL = 'model=~"$model"';
export const RATE = "$__rate_interval";
export const INSTANCE = 'instance=~"$instance"';

/**
 * The Grafana version docker-compose.yml pins, and the dashboard schema version written for it: 39 is the
 * schema of Grafana 11.0, which every 11.x loads (and migrates forward) as is. test/unit/dashboards.test.ts
 * holds this to the compose file.
 */
export const GRAFANA_VERSION = "11.3.0";
export const SCHEMA_VERSION = 39;

const SELECTOR = /\b(apixo_gateway_[a-z0-9_]+|up)(?![a-zA-Z0-9_])(\{)?/g;

/**
 * Every selector of a panel query also matches the `instance` variable, so one replica can be viewed alone;
 * added here once rather than spelled in each of the queries.
 */
export function withInstance(expr: string): string {
  return expr.replace(SELECTOR, (_match, name: string, brace: string | undefined) =>
    brace === undefined ? `${name}{${INSTANCE}}` : `${name}{${INSTANCE}, `,
  );
}

export interface QuerySpec {
  readonly expr: string;
  readonly legend: string;
}

export type PanelKind = "timeseries" | "stat" | "bargauge";

export interface PanelSpec {
  readonly kind: PanelKind;
  readonly title: string;
  /** What the panel shows and what to do when it looks wrong. */
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly QuerySpec[];
  /** Grid columns out of 24 (default 12). */
  readonly width?: number;
  /** Grid rows (default 8). */
  readonly height?: number;
  /** Ascending `[value, colour]` steps above the green base. */
  readonly thresholds?: readonly (readonly [number, string])[];
  /** Colour below the first threshold step (default green). */
  readonly baseColor?: string;
  readonly min?: number;
  readonly max?: number;
  readonly stacked?: boolean;
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly rows: readonly RowSpec[];
}

export function query(expr: string, legend: string): QuerySpec {
  return { expr, legend };
}

function target(spec: QuerySpec, index: number, kind: PanelKind): DataqueryBuilder {
  const builder = new DataqueryBuilder()
    .refId(String.fromCharCode(65 + index))
    .datasource(DATASOURCE)
    .expr(withInstance(spec.expr))
    .legendFormat(spec.legend);
  return kind === "timeseries" ? builder.range() : builder.instant();
}

function thresholds(spec: PanelSpec): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([
      { value: null, color: spec.baseColor ?? "green" },
      ...(spec.thresholds ?? []).map(([value, color]) => ({ value, color })),
    ]);
}

/** Stat and bar gauge panels show the latest value of each series. */
function lastValue(): ReduceDataOptionsBuilder {
  return new ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false);
}

function panel(spec: PanelSpec, id: number): cog.Builder<Panel> {
  const targets = spec.queries.map((q, i) => target(q, i, spec.kind));
  const common = <B extends TimeseriesPanelBuilder | StatPanelBuilder | BarGaugePanelBuilder>(b: B): B => {
    b.id(id)
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .targets(targets)
      .unit(spec.unit)
      .thresholds(thresholds(spec))
      .span(spec.width ?? 12)
      .height(spec.height ?? 8);
    if (spec.min !== undefined) b.min(spec.min);
    if (spec.max !== undefined) b.max(spec.max);
    return b;
  };
  switch (spec.kind) {
    case "timeseries": {
      const b = common(new TimeseriesPanelBuilder())
        .lineWidth(1)
        .fillOpacity(spec.stacked === true ? 40 : 10)
        .legend(
          new VizLegendOptionsBuilder()
            .displayMode(LegendDisplayMode.Table)
            .placement(LegendPlacement.Bottom)
            .showLegend(true)
            .calcs(["mean", "max", "lastNotNull"]),
        );
      return b;
    }
    case "stat":
      return common(new StatPanelBuilder()).reduceOptions(lastValue());
    case "bargauge":
      return common(new BarGaugePanelBuilder())
        .reduceOptions(lastValue())
        .orientation(VizOrientation.Horizontal);
  }
}

/** A multi-value query variable with "All" (matching `.*`) selected. */
function pickAll(
  name: string,
  label: string,
  description: string,
  labelValues: string,
): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DATASOURCE)
    .query(labelValues)
    .definition(labelValues)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*")
    .current({ selected: true, text: "All", value: "$__all" });
}

function variables(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withVariable(
      new DatasourceVariableBuilder("datasource")
        .label("Data source")
        .type("prometheus")
        .current({ selected: true, text: "Prometheus", value: "prometheus" }),
    )
    .withVariable(
      pickAll(
        "tenant",
        "Tenant",
        "Tenant ids from the gateway config; All matches every tenant.",
        "label_values(apixo_gateway_requests_total, tenant)",
      ),
    )
    .withVariable(
      pickAll(
        "model",
        "Model",
        "Models from the price table (unknown models are `other`); All matches every model.",
        "label_values(apixo_gateway_requests_total, model)",
      ),
    )
    .withVariable(
      pickAll(
        "instance",
        "Instance",
        "Gateway replicas (their metrics port); All shows them together, one shows that replica.",
        'label_values(apixo_gateway_build_info{job="apixo-gateway"}, instance)',
      ),
    );
}

/** Builds one dashboard from its spec: fixed uid, rows in order, the three template variables. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  let builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-3h", to: "now" })
    .timezone("browser");
  builder = variables(builder);
  let id = 0;
  for (const row of spec.rows) {
    builder = builder.withRow(new RowBuilder(row.title).id(++id));
    for (const p of row.panels) builder = builder.withPanel(panel(p, ++id));
  }
  return { ...builder.build(), schemaVersion: SCHEMA_VERSION };
}
