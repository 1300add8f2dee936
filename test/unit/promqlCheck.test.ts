import { describe, expect, it } from "vitest";
import { gatewaySeries } from "../helpers/metricCatalog.js";
import { analyse, grafanaToPromql, legendLabels, templateLabels } from "../helpers/promqlCheck.js";

/** The checker behind the dashboards and alert tests: each lie it must catch, caught. */
const lookup = gatewaySeries();
const check = (expr: string) => analyse(expr, lookup);
const labelsOf = (expr: string) => [...check(expr).labels].sort();

describe("the PromQL checker", () => {
  it("accepts queries on exported series and says which labels their result carries", () => {
    const ok = check(
      'sum by (tenant) (rate(apixo_gateway_requests_total{code=~"5..", operation="submit"}[5m]))',
    );
    expect(ok.problems).toEqual([]);
    expect(ok.series).toEqual(["apixo_gateway_requests_total"]);
    expect(labelsOf("apixo_gateway_ledger_journal_depth > 0")).toEqual(["instance", "job"]);
    expect(
      labelsOf(
        "histogram_quantile(0.99, sum by (le, operation) (rate(apixo_gateway_store_duration_seconds_bucket[5m])))",
      ),
    ).toEqual(["operation"]);
    expect(labelsOf('up{job="apixo-gateway"} == 0')).toEqual(["instance", "job"]);
  });

  it("reports a series the gateway does not export", () => {
    expect(check("sum(apixo_gateway_spend_year_usd)").problems).toEqual([
      expect.stringContaining("apixo_gateway_spend_year_usd is not a series the gateway exports"),
    ]);
    // A histogram has no bare series, and a counter has no _bucket.
    expect(check("apixo_gateway_store_duration_seconds").problems).toHaveLength(1);
    expect(check("apixo_gateway_requests_total_bucket").problems).toHaveLength(1);
  });

  it("reports a matcher or a grouping on a label the series do not have", () => {
    expect(check('apixo_gateway_ledger_journal_depth{tenant="acme"}').problems).toEqual([
      expect.stringContaining("has no label tenant"),
    ]);
    expect(check("sum by (tenant) (rate(apixo_gateway_ledger_journal_dropped_total[5m]))").problems).toEqual([
      expect.stringContaining("its input has no label tenant"),
    ]);
    // Grouped away: a later by() cannot bring the label back.
    expect(check("sum by (model) (sum by (tenant) (apixo_gateway_spend_usd_total))").problems).toHaveLength(
      1,
    );
  });

  it("reports a bounded label matched against a value the gateway never emits", () => {
    expect(check('apixo_gateway_rejections_total{reason="overload"}').problems).toEqual([
      expect.stringContaining('is never "overload"'),
    ]);
    expect(check('apixo_gateway_reservations_total{fate=~"charged|lost"}').problems).toEqual([
      expect.stringContaining('is never "lost"'),
    ]);
    expect(check('apixo_gateway_rejections_total{reason=~"rate_.*"}').problems).toEqual([]);
  });

  it("reports binary operations whose sides can never match", () => {
    const mismatched =
      "sum by (tenant) (rate(apixo_gateway_rejections_total[5m])) / sum(rate(apixo_gateway_requests_total[5m]))";
    expect(check(mismatched).problems).toEqual([expect.stringContaining("nothing matches")]);
    expect(
      check("apixo_gateway_upstream_balance_usd / on (tenant) apixo_gateway_spend_cap_usd").problems,
    ).toEqual([expect.stringContaining("both sides of / need label tenant")]);
    // on() keeps only the matching labels; group_left keeps the left side's.
    expect(
      labelsOf(
        "sum by (model, fail_code) (apixo_gateway_task_failures_total) / on (model) sum by (model) (apixo_gateway_tasks_completed_total)",
      ),
    ).toEqual(["model"]);
    expect(
      labelsOf(
        "sum by (model, fail_code) (apixo_gateway_task_failures_total) / on (model) group_left () sum by (model) (apixo_gateway_tasks_completed_total)",
      ),
    ).toEqual(["fail_code", "model"]);
  });

  it("reports histogram_quantile over series that are not buckets", () => {
    expect(
      check("histogram_quantile(0.9, rate(apixo_gateway_store_duration_seconds_count[5m]))").problems,
    ).toEqual([expect.stringContaining("without an le label")]);
    expect(
      check(
        "histogram_quantile(0.9, sum by (operation) (rate(apixo_gateway_store_duration_seconds_bucket[5m])))",
      ).problems,
    ).toHaveLength(1);
  });

  it("reports syntax errors and constructs it does not model, instead of guessing", () => {
    expect(check("sum(rate(apixo_gateway_requests_total[5m])").problems).toEqual([
      expect.stringContaining("syntax error"),
    ]);
    expect(check('sort_by_label(apixo_gateway_spend_today_usd, "tenant")').problems).toEqual([
      expect.stringContaining("does not model the function sort_by_label"),
    ]);
  });

  it("reads Grafana's interval variables, legends and alert templates", () => {
    expect(check(grafanaToPromql("rate(apixo_gateway_requests_total[$__rate_interval])")).problems).toEqual(
      [],
    );
    expect(legendLabels("p99 {{operation}} / {{ tenant }}")).toEqual(["operation", "tenant"]);
    expect(templateLabels("Tenant {{ $labels.tenant }} on {{ $labels.instance }}: {{ $value }}")).toEqual([
      "tenant",
      "instance",
    ]);
  });
});
