import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
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
    ]) {
      expect(names).toContain(required);
    }
  });
});
