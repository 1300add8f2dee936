import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDashboards, renderDashboard } from "../../dashboards/src/index.js";

const DASHBOARDS_DIR = join(import.meta.dirname, "..", "..", "dashboards");

/** CONTRACTS.md section 4, copied here on purpose: a dashboard may only query what the contract promises. */
const CONTRACT: Record<string, { type: "counter" | "gauge" | "histogram"; labels: readonly string[] }> = {
  requests_total: { type: "counter", labels: ["tenant", "model", "operation", "code"] },
  request_duration_seconds: { type: "histogram", labels: ["model", "operation"] },
  upstream_duration_seconds: { type: "histogram", labels: ["model", "operation"] },
  overhead_seconds: { type: "histogram", labels: ["operation"] },
  upstream_errors_total: { type: "counter", labels: ["model", "reason"] },
  tasks_submitted_total: { type: "counter", labels: ["tenant", "model"] },
  tasks_completed_total: { type: "counter", labels: ["tenant", "model", "state"] },
  task_failures_total: { type: "counter", labels: ["tenant", "model", "fail_code"] },
  task_duration_seconds: { type: "histogram", labels: ["model"] },
  tasks_in_flight: { type: "gauge", labels: ["tenant"] },
  spend_usd_total: { type: "counter", labels: ["tenant", "model"] },
  refunds_usd_total: { type: "counter", labels: ["tenant", "model"] },
  spend_today_usd: { type: "gauge", labels: ["tenant"] },
  spend_cap_usd: { type: "gauge", labels: ["tenant"] },
  rejections_total: { type: "counter", labels: ["tenant", "reason"] },
  upstream_balance_usd: { type: "gauge", labels: ["upstream"] },
  store_errors_total: { type: "counter", labels: ["operation"] },
  store_duration_seconds: { type: "histogram", labels: ["operation"] },
  callbacks_total: { type: "counter", labels: ["tenant", "outcome"] },
  callback_delivery_seconds: { type: "histogram", labels: ["outcome"] },
  status_cache_total: { type: "counter", labels: ["result"] },
  upstream_circuit_state: { type: "gauge", labels: ["upstream"] },
  account_limited_total: { type: "counter", labels: ["upstream", "reason"] },
  config_reloads_total: { type: "counter", labels: ["result"] },
};
const PREFIX = "apixo_gateway_";
/** Prometheus' own series, allowed next to the contract's. */
const BUILTIN = new Set(["up"]);

interface Target {
  expr: string;
  refId: string;
}
interface JsonPanel {
  type: string;
  title?: string;
  description?: string;
  targets?: Target[];
}
interface JsonDashboard {
  uid: string;
  title: string;
  panels: JsonPanel[];
  templating: { list: { name: string; type: string; allValue?: string; includeAll?: boolean }[] };
}

/** The contract metric a series name belongs to, or undefined when the name is not in the contract. */
function contractMetric(series: string): string | undefined {
  if (!series.startsWith(PREFIX)) return undefined;
  const name = series.slice(PREFIX.length);
  if (CONTRACT[name] !== undefined && CONTRACT[name].type !== "histogram") return name;
  const base = name.replace(/_(bucket|count|sum)$/, "");
  return CONTRACT[base]?.type === "histogram" ? base : undefined;
}

/** Every `metric{...}` selector in a PromQL expression, with its matcher text. */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)]
    .filter((m) => (m[1] ?? "").startsWith(PREFIX) || (m[2] !== undefined && BUILTIN.has(m[1] ?? "")))
    .map((m) => ({ metric: m[1] ?? "", matchers: m[2] ?? "" }));
}

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

  it("every panel query uses only metrics from the contract, with existing labels", () => {
    for (const p of panels) {
      expect(p.targets?.length, `${p.dashboard} / ${p.title ?? "?"}`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        const found = selectors(t.expr);
        expect(found.length, t.expr).toBeGreaterThan(0);
        for (const { metric, matchers } of found) {
          if (BUILTIN.has(metric)) continue;
          const name = contractMetric(metric);
          expect(name, `${p.title ?? "?"}: ${metric} is not in the metric contract`).toBeDefined();
          const labels = CONTRACT[name ?? ""]?.labels ?? [];
          for (const [, label] of matchers.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) {
            expect([...labels, "le", "job", "instance"], `${metric}: label ${label ?? ""}`).toContain(label);
          }
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
        for (const { metric, matchers } of selectors(t.expr)) {
          const labels = CONTRACT[contractMetric(metric) ?? ""]?.labels ?? [];
          if (labels.includes("tenant"))
            expect(matchers, `${p.title ?? "?"}: ${metric}`).toContain('tenant=~"$tenant"');
          if (!labels.includes("model")) expect(matchers).not.toContain("$model");
          if (!labels.includes("tenant")) expect(matchers).not.toContain("$tenant");
        }
      }
    }
  });
});
