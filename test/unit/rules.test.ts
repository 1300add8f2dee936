import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exportedMetrics } from "../helpers/exportedMetrics.js";
import { gatewaySeries } from "../helpers/metricCatalog.js";
import { analyse, templateLabels } from "../helpers/promqlCheck.js";

const ROOT = join(import.meta.dirname, "..", "..");
const RULES = join(ROOT, "deploy", "prometheus", "rules.yml");
const TESTS = join(ROOT, "deploy", "prometheus", "rules.test.yml");
const RUNBOOKS = join(ROOT, "docs", "runbooks.md");

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RulesFile {
  groups: { name: string; rules: AlertRule[] }[];
}

interface RuleTestsFile {
  tests: {
    name?: string;
    input_series?: { series: string }[];
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
  }[];
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync("promtool", args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (result.error !== undefined) {
    throw new Error(`could not run promtool (apt-get install prometheus): ${result.error.message}`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const rules = parse(readFileSync(RULES, "utf8")) as RulesFile;
const alerts = rules.groups.flatMap((g) => g.rules);
const ruleTests = parse(readFileSync(TESTS, "utf8")) as RuleTestsFile;

describe("Prometheus alert rules", () => {
  it("pass promtool check rules", () => {
    const { status, output } = promtool("check", "rules", RULES);
    expect(output).toContain("SUCCESS");
    expect(status, output).toBe(0);
  });

  it("pass their promtool unit tests", () => {
    const { status, output } = promtool("test", "rules", TESTS);
    expect(status, output).toBe(0);
  });

  it("every alert has a unit test that fires it", () => {
    const fired = new Set<string>();
    for (const test of ruleTests.tests) {
      for (const check of test.alert_rule_test ?? []) {
        if ((check.exp_alerts ?? []).length > 0) fired.add(check.alertname);
      }
    }
    expect(alerts.length).toBeGreaterThanOrEqual(22);
    expect(alerts.map((a) => a.alert).filter((name) => !fired.has(name))).toEqual([]);
  });

  it("every alert names a severity, a summary, a description and a runbook section that exists", () => {
    const runbooks = readFileSync(RUNBOOKS, "utf8");
    const anchors = new Set(
      [...runbooks.matchAll(/^## (.+)$/gm)].map((m) =>
        (m[1] ?? "")
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, "")
          .replace(/ /g, "-"),
      ),
    );
    for (const rule of alerts) {
      expect(["info", "warning", "critical"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, rule.alert).toMatch(/\/docs\/runbooks\.md#[a-z0-9-]+$/);
      expect(anchors.has(url.split("#")[1] ?? ""), `${rule.alert}: ${url}`).toBe(true);
    }
  });

  it("every alert queries only metrics, labels and label values the gateway exports", () => {
    const lookup = gatewaySeries();
    for (const rule of alerts) {
      expect(analyse(rule.expr, lookup).problems, rule.alert).toEqual([]);
    }
  });

  it("every alert's annotations name only labels its alert carries", () => {
    const lookup = gatewaySeries();
    for (const rule of alerts) {
      const carried = new Set([...analyse(rule.expr, lookup).labels, ...Object.keys(rule.labels ?? {})]);
      const named = Object.values(rule.annotations ?? {}).flatMap(templateLabels);
      expect(
        named.filter((label) => !carried.has(label)),
        `${rule.alert} carries: ${[...carried].join(", ")}`,
      ).toEqual([]);
    }
  });

  it("covers the alerts the issue asks for", () => {
    const names = alerts.map((a) => a.alert);
    for (const required of [
      "ApixoGatewayDown",
      "ApixoGatewayHighErrorRate",
      "ApixoGatewayHighLatency",
      "ApixoGatewayHighOverhead",
      "ApixoGatewayFailCodeSpike",
      "ApixoGatewayCostSpike",
      "ApixoGatewaySpendCapAt80Percent",
      "ApixoGatewaySpendCapAt95Percent",
      "ApixoGatewaySpendCapExhausted",
      "ApixoGatewayRateLimitHitsHigh",
      "ApixoGatewayUpstreamBalanceLow",
      "ApixoGatewayUpstreamBalanceRunningOut",
      "ApixoGatewayStoreErrors",
      "ApixoGatewayConfigReloadFailed",
      "ApixoGatewayUpstreamCircuitOpen",
      "ApixoGatewayCallbackDeliveriesFailing",
      "ApixoGatewayLedgerWritesDropped",
      "ApixoGatewayLedgerJournalNotDraining",
      "ApixoGatewayLedgerOrphansFound",
      "ApixoGatewayUnknownOutcomesAccumulating",
      "ApixoGatewayLoadShedding",
      "ApixoGatewayAccountLimited",
      "ApixoGatewayCostDrift",
    ]) {
      expect(names).toContain(required);
    }
  });

  it("feed their promtool tests only series the gateway exports: its names, exact labels and every bucket", () => {
    const exported = exportedMetrics();
    const TARGET = new Set(["instance", "job"]);
    const bucketSets = new Map<string, { readonly metric: string; readonly les: Set<string> }>();
    for (const test of ruleTests.tests) {
      for (const { series } of test.input_series ?? []) {
        const match = /^([a-z_:]+)\{(.*)\}$/.exec(series);
        expect(match, series).not.toBeNull();
        const name = match?.[1] ?? "";
        const labels = Object.fromEntries(
          [...(match?.[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
        );
        if (name === "up") continue;
        const base = name.replace(/_(bucket|count|sum)$/, "");
        const metric = exported.get(name) ?? exported.get(base);
        expect(metric, `${test.name ?? "?"}: ${series}`).toBeDefined();
        const own = Object.keys(labels).filter((l) => !TARGET.has(l) && l !== "le");
        expect(own.sort(), `${test.name ?? "?"}: ${series}`).toEqual([...(metric?.labels ?? [])].sort());
        if (name.endsWith("_bucket")) {
          const key = `${test.name ?? "?"} ${name} ${JSON.stringify({ ...labels, le: undefined })}`;
          const entry = bucketSets.get(key) ?? { metric: base, les: new Set<string>() };
          entry.les.add(labels.le ?? "");
          bucketSets.set(key, entry);
          const bounds = [...(metric?.buckets ?? []).map(String), "+Inf"];
          expect(bounds, `${series}: no such bucket`).toContain(labels.le);
        }
      }
    }
    // A histogram fed with fewer (or other) buckets than the gateway's gives other quantiles than production.
    for (const [key, { metric, les }] of bucketSets) {
      expect([...les].sort(), key).toEqual(
        [...(exported.get(metric)?.buckets ?? []).map(String), "+Inf"].sort(),
      );
    }
  });

  it("prometheus.yml passes `promtool check config` run from the repo root, as CI runs it", () => {
    const { status, output } = promtool("check", "config", "prometheus.yml");
    expect(output).toContain("SUCCESS");
    expect(status, output).toBe(0);
  });

  it("Alertmanager's inhibit rules name alerts that exist and labels both sides carry", () => {
    const config = parse(readFileSync(join(ROOT, "deploy", "alertmanager", "alertmanager.yml"), "utf8")) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    };
    const lookup = gatewaySeries();
    const carried = (matcher: string): ReadonlySet<string>[] => {
      const pattern = /alertname=~?"([^"]+)"/.exec(matcher)?.[1] ?? "";
      const matched = alerts.filter((a) => new RegExp(`^(?:${pattern})$`).test(a.alert));
      expect(matched.length, matcher).toBeGreaterThan(0);
      return matched.map((a) => analyse(a.expr, lookup).labels);
    };
    for (const rule of config.inhibit_rules) {
      for (const side of [...rule.source_matchers, ...rule.target_matchers].flatMap(carried)) {
        for (const label of rule.equal)
          expect(side.has(label), `${label} in ${JSON.stringify(rule)}`).toBe(true);
      }
    }
  });
});
