import { buildDashboard, type DashboardSpec } from "./common.js";
import { cost } from "./cost.js";
import { limits } from "./limits.js";
import { overview } from "./overview.js";
import { tasks } from "./tasks.js";

export { DATASOURCE } from "./common.js";
export type { DashboardSpec, PanelSpec, QuerySpec } from "./common.js";

/** Grafana's classic dashboard JSON (schema v1), the form file provisioning loads. */
export type DashboardJson = ReturnType<typeof buildDashboard>;

export interface GeneratedDashboard {
  /** File name under dashboards/. */
  readonly file: string;
  readonly spec: DashboardSpec;
  readonly dashboard: DashboardJson;
}

export const DASHBOARD_SPECS: readonly (readonly [string, DashboardSpec])[] = [
  ["overview.json", overview],
  ["cost.json", cost],
  ["tasks.json", tasks],
  ["limits.json", limits],
];

export function buildDashboards(): GeneratedDashboard[] {
  return DASHBOARD_SPECS.map(([file, spec]) => ({ file, spec, dashboard: buildDashboard(spec) }));
}

/** The exact bytes committed under dashboards/: 2-space JSON and a final newline. */
export function renderDashboard(dashboard: DashboardJson): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
