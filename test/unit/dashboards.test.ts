import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GRAFANA_VERSION, SCHEMA_VERSION } from "../../dashboards/src/common.js";
import { buildDashboards, renderDashboard } from "../../dashboards/src/index.js";
import { gatewaySeries } from "../helpers/metricCatalog.js";
import { analyse, grafanaToPromql, legendLabels } from "../helpers/promqlCheck.js";

const DASHBOARDS_DIR = join(import.meta.dirname, "..", "..", "dashboards");

/**
 * What the gateway exports, read from the registry it fills (not a copied list): a panel may only query series,
 * labels and label values that exist, or it shows a flat line where there is trouble.
 */
const lookup = gatewaySeries();

interface Target {
  expr: string;
  refId: string;
  legendFormat?: string;
}
interface JsonPanel {
  type: string;
  title?: string;
  description?: string;
  targets?: Target[];
}
interface JsonDashboard {
  uid: string;
  schemaVersion: number;
  title: string;
  panels: JsonPanel[];
  templating: { list: { name: string; type: string; allValue?: string; includeAll?: boolean }[] };
}

/** A panel's query as Prometheus receives it, checked against what the gateway exports. */
const analysed = (expr: string) => analyse(grafanaToPromql(expr), lookup);
const labelsOf = (series: string): readonly string[] => lookup(series)?.labels ?? [];

const generated = buildDashboards();
const committed = generated.map(
  (g) => JSON.parse(readFileSync(join(DASHBOARDS_DIR, g.file), "utf8")) as JsonDashboard,
);
const panels = committed.flatMap((d) =>
  d.panels.filter((p) => p.type !== "row").map((p) => ({ dashboard: d.title, ...p })),
);

describe("dashboards as code", () => {
  it("the committed JSON is exactly what the code generates (run `npm run dashboards` if not)", () => {
    for (const { file, dashboard } of generated) {
      expect(readFileSync(join(DASHBOARDS_DIR, file), "utf8"), file).toBe(renderDashboard(dashboard));
    }
  });

  it("has the four dashboards with distinct, fixed uids", () => {
    expect(committed.map((d) => d.uid)).toEqual([
      "apixo-gateway-overview",
      "apixo-gateway-cost",
      "apixo-gateway-tasks",
      "apixo-gateway-limits",
    ]);
  });

  it("every dashboard has tenant and model variables matching all with .*", () => {
    for (const d of committed) {
      for (const name of ["tenant", "model"]) {
        const variable = d.templating.list.find((v) => v.name === name);
        expect(variable, `${d.title}: $${name}`).toMatchObject({
          type: "query",
          includeAll: true,
          allValue: ".*",
        });
      }
    }
  });

  it("every panel has a description that says what to do", () => {
    expect(panels.length).toBeGreaterThan(20);
    for (const p of panels) {
      expect((p.description ?? "").length, `${p.dashboard} / ${p.title ?? "?"}`).toBeGreaterThan(60);
    }
  });

  it("every panel query uses only series, labels and label values the gateway exports", () => {
    for (const p of panels) {
      expect(p.targets?.length, `${p.dashboard} / ${p.title ?? "?"}`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        const result = analysed(t.expr);
        expect(result.series.length, t.expr).toBeGreaterThan(0);
        expect(result.problems, `${p.dashboard} / ${p.title ?? "?"}`).toEqual([]);
      }
    }
  });

  it("every legend names only labels its query's result carries", () => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const { labels } = analysed(t.expr);
        const missing = legendLabels(t.legendFormat ?? "").filter((l) => !labels.has(l));
        expect(missing, `${p.dashboard} / ${p.title ?? "?"}: ${t.expr}`).toEqual([]);
      }
    }
  });

  it("reads gauges every replica reports alike (store, config, calendar) with max, never sum, across instances", () => {
    const storeGauges = [
      "spend_today_usd",
      "spend_month_usd",
      "tasks_in_flight",
      "reservations_unknown",
      "spend_cap_usd",
      "spend_month_cap_usd",
      "spend_month_elapsed_ratio",
    ];
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const gauge of storeGauges) {
          expect(t.expr, p.title ?? "?").not.toMatch(
            new RegExp(`sum(\\s+by\\s*\\([^)]*\\))?\\s*\\(\\s*apixo_gateway_${gauge}\\b`),
          );
        }
      }
    }
  });

  it("filters tenant-labelled metrics by $tenant and uses =~ for both variables", () => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        expect(t.expr, "variables must use =~ (multi-value and All)").not.toMatch(
          /(tenant|model)\s*(=|!=)\s*"\$/,
        );
        for (const { series, matchers } of analysed(t.expr).selectors) {
          const labels = labelsOf(series);
          const uses = (label: string, variable: string) =>
            matchers.some((m) => m.label === label && m.op === "=~" && m.value === variable);
          const mentions = (variable: string) => matchers.some((m) => m.value.includes(variable));
          if (labels.includes("tenant"))
            expect(uses("tenant", "$tenant"), `${p.title ?? "?"}: ${series}`).toBe(true);
          if (!labels.includes("model"))
            expect(mentions("$model"), `${p.title ?? "?"}: ${series}`).toBe(false);
          if (!labels.includes("tenant"))
            expect(mentions("$tenant"), `${p.title ?? "?"}: ${series}`).toBe(false);
        }
      }
    }
  });

  it("carry the schema version of the Grafana docker-compose.yml pins", () => {
    const compose = readFileSync(join(DASHBOARDS_DIR, "..", "docker-compose.yml"), "utf8");
    expect(compose).toContain(`image: grafana/grafana:${GRAFANA_VERSION}`);
    // The newest dashboard schema each Grafana line writes (Grafana's DashboardMigrator); older ones load and
    // are migrated forward, newer ones are not understood.
    const newestSchemaOf: Record<string, number> = { "11.0": 39, "11.1": 39, "11.2": 39, "11.3": 40 };
    const newest = newestSchemaOf[GRAFANA_VERSION.split(".").slice(0, 2).join(".")];
    expect(newest, `add Grafana ${GRAFANA_VERSION} to the table`).toBeDefined();
    for (const d of committed) {
      expect(d.schemaVersion, d.title).toBe(SCHEMA_VERSION);
      expect(d.schemaVersion, d.title).toBeLessThanOrEqual(newest ?? 0);
    }
  });

  it("every query follows the instance variable, so one replica can be viewed alone", () => {
    for (const d of committed) {
      expect(
        d.templating.list.find((v) => v.name === "instance"),
        d.title,
      ).toMatchObject({
        type: "query",
        includeAll: true,
        allValue: ".*",
      });
    }
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const { series, matchers } of analysed(t.expr).selectors) {
          const follows = matchers.some(
            (m) => m.label === "instance" && m.op === "=~" && m.value === "$instance",
          );
          expect(follows, `${p.title ?? "?"}: ${series}`).toBe(true);
        }
      }
    }
  });

  it("ratios of error classes read 0, not no data, while no request had that class", () => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (!/code=~"[45]\.\."/.test(t.expr) || !t.expr.includes(" / ")) continue;
        expect(t.expr, p.title ?? "?").toMatch(/or vector\(0\)\) \//);
      }
    }
  });
});
