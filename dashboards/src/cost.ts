import { MODEL, RATE, TENANT, query, type DashboardSpec } from "./common.js";

const spend = `apixo_gateway_spend_usd_total{${TENANT}, ${MODEL}}`;
const today = `max by (tenant) (apixo_gateway_spend_today_usd{${TENANT}})`;
const cap = `max by (tenant) (apixo_gateway_spend_cap_usd{${TENANT}} > 0)`;
const balance = "max by (upstream) (apixo_gateway_upstream_balance_usd)";
const burnPerHour = "max by (upstream) (-deriv(apixo_gateway_upstream_balance_usd[1h])) * 3600";
const orphans = `apixo_gateway_ledger_orphans_total{${TENANT}}`;
const month = `max by (tenant) (apixo_gateway_spend_month_usd{${TENANT}})`;
const monthCap = `max by (tenant) (apixo_gateway_spend_month_cap_usd{${TENANT}} > 0)`;
// The alert's projection: the month so far over the share of it elapsed, floored at 0.1 (rules.yml).
const projected = `${month} / max by (tenant) (clamp_min(apixo_gateway_spend_month_elapsed_ratio{${TENANT}}, 0.1))`;
const byFeature = (metric: string, range: string): string =>
  `sum by (tenant, feature) (increase(apixo_gateway_${metric}{${TENANT}}[${range}]))`;

export const cost: DashboardSpec = {
  uid: "apixo-gateway-cost",
  title: "APIXO gateway / Cost and budgets",
  description:
    "What tenants spend and on which features, how close they are to their daily and monthly caps, and how long " +
    "the APIXO balance lasts.",
  tags: ["apixo-gateway"],
  rows: [
    {
      title: "Spend",
      panels: [
        {
          kind: "timeseries",
          title: "Spend rate by tenant (USD/h)",
          description:
            "Charges per hour by tenant (estimated cost of accepted tasks, from the price table). A tenant far above " +
            "its usual rate is a cost spike: check its submissions on the Tasks dashboard and ask its owner; if it " +
            "is runaway automation, lower its dailyCapUsd or disable it and reload the config.",
          unit: "currencyUSD",
          queries: [query(`sum by (tenant) (rate(${spend}[${RATE}])) * 3600`, "{{tenant}}")],
        },
        {
          kind: "timeseries",
          title: "Spend rate by model (USD/h)",
          description:
            "Charges per hour by model. A shift to expensive models (video, gpt-image-1) explains a cost jump without " +
            "more traffic; `other` means models missing from the price table are charged the unpriced fallback: add " +
            "them to governance.prices.",
          unit: "currencyUSD",
          queries: [query(`sum by (model) (rate(${spend}[${RATE}])) * 3600`, "{{model}}")],
        },
        {
          kind: "timeseries",
          title: "Refunds (USD/h) by tenant and model",
          description:
            "Money given back for tasks that ended failed. Refunds close to the spend rate mean most tasks fail: " +
            "check fail codes on the Tasks dashboard (content violations are the client's prompts; timeouts and " +
            "GENERATION_FAILED are APIXO).",
          unit: "currencyUSD",
          queries: [
            query(
              `sum by (tenant, model) (rate(apixo_gateway_refunds_usd_total{${TENANT}, ${MODEL}}[${RATE}])) * 3600`,
              "{{tenant}} {{model}}",
            ),
          ],
        },
        {
          kind: "bargauge",
          title: "Spent today (USD) by tenant",
          description:
            "Each tenant's spend for its current day (in its time zone), read from the limit store at scrape time. " +
            "If it does not match APIXO's balance movement, compare the price table (docs/pricing.md) with APIXO's " +
            "current prices and override the ones that changed.",
          unit: "currencyUSD",
          queries: [query(today, "{{tenant}}")],
        },
      ],
    },
    {
      title: "Caps",
      panels: [
        {
          kind: "bargauge",
          title: "Daily cap utilisation by tenant",
          description:
            "Spent today divided by the daily cap (tenants without a cap are not shown). At 80 % and 95 % alerts " +
            "warn; at 100 % the tenant's submits get 402 SPEND_CAP_EXCEEDED until its midnight. If the tenant needs " +
            "more, raise dailyCapUsd in the config and reload (SIGHUP); otherwise tell its owner.",
          unit: "percentunit",
          min: 0,
          max: 1,
          queries: [query(`${today} / ${cap}`, "{{tenant}}")],
          thresholds: [
            [0.8, "orange"],
            [0.95, "red"],
          ],
        },
        {
          kind: "bargauge",
          title: "Hours until cap at the current rate",
          description:
            "Remaining cap divided by the spend rate of the last hour (shown as 168 h when spend is flat). Under a few " +
            "hours before the tenant's day ends means its traffic will be refused: warn the tenant or raise the cap " +
            "before it happens.",
          unit: "h",
          min: 0,
          queries: [
            query(
              `clamp_min(clamp_max((${cap} - ${today}) / (sum by (tenant) (rate(apixo_gateway_spend_usd_total{${TENANT}}[1h])) * 3600), 168), 0)`,
              "{{tenant}}",
            ),
          ],
          baseColor: "red",
          thresholds: [
            [2, "orange"],
            [6, "green"],
          ],
        },
        {
          kind: "timeseries",
          title: "Spend-cap refusals/s by window",
          width: 24,
          description:
            "Submits refused with 402 SPEND_CAP_EXCEEDED, by the cap that refused them: daily, monthly (the " +
            "tenant's calendar month), model_daily (a per-model daily cap) or user_daily (one end user's daily cap, " +
            "X-Gateway-User). Daily and monthly refusals fire the Exhausted alerts; per-model and per-user ones are " +
            "those caps doing their job: raise modelDailyCapsUsd / userDailyCapUsd if the tenant's owner wants more.",
          unit: "short",
          stacked: true,
          queries: [
            query(
              `sum by (tenant, window) (rate(apixo_gateway_spend_cap_rejections_total{${TENANT}}[${RATE}]))`,
              "{{tenant}} {{window}}",
            ),
          ],
        },
      ],
    },
    {
      title: "Monthly budget",
      panels: [
        {
          kind: "timeseries",
          title: "Spent this month (USD) and monthly cap by tenant",
          description:
            "Each tenant's net spend of its current calendar month (its time zone; refunds go back to their " +
            "task's month), read from the limit store, next to its monthlyCapUsd (tenants without one show no cap " +
            "line). The spend line drops to 0 when the tenant's month begins. Spend reaching the cap means 402s " +
            "until then: raise monthlyCapUsd and reload (SIGHUP) if the tenant needs more.",
          unit: "currencyUSD",
          min: 0,
          queries: [query(month, "{{tenant}} spent"), query(monthCap, "{{tenant}} cap")],
        },
        {
          kind: "bargauge",
          title: "Monthly cap utilisation by tenant",
          description:
            "Spent this month divided by the monthly cap (tenants without one are not shown). At 80 % and 95 % " +
            "alerts warn; at 100 % the tenant's submits get 402 SPEND_CAP_EXCEEDED until its month ends. Tell the " +
            "tenant's owner early, or raise monthlyCapUsd.",
          unit: "percentunit",
          min: 0,
          max: 1,
          queries: [query(`${month} / ${monthCap}`, "{{tenant}}")],
          thresholds: [
            [0.8, "orange"],
            [0.95, "red"],
          ],
        },
        {
          kind: "bargauge",
          title: "Projected month-end spend (USD) by tenant",
          description:
            "The month's spend so far divided by the share of the tenant's month elapsed (its average rate carried " +
            "to the month's end), with the share floored at 10 % so the first days do not project wildly: the " +
            "figure ApixoGatewayMonthlySpendCapProjectedExhaustion compares with the cap. A single burst projects " +
            "high and falls back as the month goes on; compare with the cap on the panel beside it.",
          unit: "currencyUSD",
          min: 0,
          queries: [query(projected, "{{tenant}}")],
        },
        {
          kind: "bargauge",
          title: "Projected month-end spend as a share of the monthly cap",
          description:
            "The projection on the left divided by the monthly cap (capped tenants only). Above 100 % for an hour " +
            "fires ApixoGatewayMonthlySpendCapProjectedExhaustion: at this pace the tenant is refused before its " +
            "month ends. Ask its owner whether to raise monthlyCapUsd or slow down (Spend by feature says what " +
            "drives it).",
          unit: "percentunit",
          min: 0,
          queries: [query(`${projected} / ${monthCap}`, "{{tenant}}")],
          thresholds: [
            [0.8, "orange"],
            [1, "red"],
          ],
        },
      ],
    },
    {
      title: "Spend by feature",
      panels: [
        {
          kind: "timeseries",
          title: "Spend rate by feature (USD/h, net of refunds)",
          description:
            "Charges minus refunds per hour by the X-Gateway-Feature of the submit: the value when " +
            "telemetry.featureLabels lists it, `other` for any unlisted value, `none` without the header. A large " +
            "`other` means features worth listing (add them to telemetry.featureLabels and reload); end users are " +
            "never labels: per-user spend is in `apixo-gateway usage`.",
          unit: "currencyUSD",
          stacked: true,
          queries: [
            query(
              `(sum by (tenant, feature) (rate(apixo_gateway_feature_spend_usd_total{${TENANT}}[${RATE}])) - ` +
                `sum by (tenant, feature) (rate(apixo_gateway_feature_refunds_usd_total{${TENANT}}[${RATE}]))) * 3600`,
              "{{tenant}} {{feature}}",
            ),
          ],
        },
        {
          kind: "bargauge",
          title: "Net spend by feature over the time range (USD)",
          description:
            "What each feature cost over the dashboard's time range (charges minus refunds; per tenant these add up " +
            "to spend_usd_total minus refunds_usd_total). Pick a month as the range to compare features against a " +
            "tenant's monthly cap; the usage rollups by feature (`apixo-gateway usage`, admin API) give exact monthly figures.",
          unit: "currencyUSD",
          queries: [
            query(
              `${byFeature("feature_spend_usd_total", "$__range")} - ${byFeature("feature_refunds_usd_total", "$__range")}`,
              "{{tenant}} {{feature}}",
            ),
          ],
        },
      ],
    },
    {
      title: "Reservations and unknown outcomes",
      panels: [
        {
          kind: "timeseries",
          title: "Reservations/s by fate",
          description:
            "Every submit reserves its cost, and each reservation ends one way: charged (APIXO accepted the task), " +
            "released (it never left or APIXO refused it: nothing charged), unknown (it may have reached APIXO: a " +
            "timeout or reset after sending, an unreadable answer; the charge is kept). Unknown rising with upstream " +
            "timeouts or resets (Overview) is expected; unknown without them is worth an issue. See runbook " +
            "ApixoGatewayUnknownOutcomesAccumulating.",
          unit: "short",
          width: 8,
          stacked: true,
          queries: [
            query(`sum by (fate) (rate(apixo_gateway_reservations_total{${TENANT}}[${RATE}]))`, "{{fate}}"),
          ],
        },
        {
          kind: "timeseries",
          title: "Unknown outcomes held by tenant",
          description:
            "Reservations kept charged as unknown outcomes, read from the limit store (the same on every replica). " +
            "They count against the tenant's cap and never go away by themselves: each waits for an operator to " +
            "keep it or release it with `apixo-gateway ledger release` (runbook: Unknown outcomes and orphans). " +
            "A step up is a burst of upstream timeouts or a gateway that died mid-submit.",
          unit: "short",
          width: 8,
          min: 0,
          queries: [query(`max by (tenant) (apixo_gateway_reservations_unknown{${TENANT}})`, "{{tenant}}")],
          thresholds: [[1, "orange"]],
        },
        {
          kind: "timeseries",
          title: "Orphaned reservations found (last hour) by tenant",
          description:
            "Reservations the periodic sweep found open past the upstream timeout with nothing to settle them (a " +
            "gateway died or was killed mid-submit, or a ledger write was lost), marked as unknown outcomes, " +
            "counted over the last hour. Any is worth a look: which instance restarted then? See runbook " +
            "ApixoGatewayLedgerOrphansFound.",
          unit: "short",
          width: 8,
          min: 0,
          queries: [
            // A tenant's counter appears with its first orphan, which increase() cannot see: a series younger
            // than the window counts with its whole value. Tenants without one show 0 rather than no line.
            query(
              `sum by (tenant) (sum by (tenant, instance) (${orphans} unless ${orphans} offset 1h) or ` +
                `sum by (tenant, instance) (increase(${orphans}[1h]))) ` +
                `or 0 * max by (tenant) (apixo_gateway_reservations_unknown{${TENANT}})`,
              "{{tenant}}",
            ),
          ],
          thresholds: [[1, "orange"]],
        },
      ],
    },
    {
      title: "APIXO balance",
      panels: [
        {
          kind: "timeseries",
          title: "Upstream balance (USD)",
          description:
            "Prepaid balance left on each APIXO key (by alias). At zero APIXO refuses every submit with 402 for all " +
            "tenants on that key: top the account up at APIXO, or move tenants to another upstream key.",
          unit: "currencyUSD",
          width: 8,
          queries: [query(balance, "{{upstream}}")],
          baseColor: "red",
          thresholds: [[20, "green"]],
        },
        {
          kind: "timeseries",
          title: "Upstream balance burn rate (USD/h)",
          description:
            "How fast the APIXO balance falls, from its slope over the last hour (negative = top-up). Compare with " +
            "the gateway's own spend rate: if APIXO burns much faster than the gateway charges, the price table is " +
            "too low or someone uses the key outside the gateway: rotate it.",
          unit: "currencyUSD",
          width: 8,
          queries: [query(burnPerHour, "{{upstream}}")],
        },
        {
          kind: "stat",
          title: "Hours until the upstream balance runs out",
          description:
            "Balance divided by the burn rate of the last hour (168 h when flat). Under 24 h: top up now; the " +
            "ApixoGatewayUpstreamBalanceRunningOut alert fires at 6 h.",
          unit: "h",
          width: 8,
          queries: [query(`clamp_max(${balance} / clamp_min(${burnPerHour}, 1e-9), 168)`, "{{upstream}}")],
          baseColor: "red",
          thresholds: [
            [6, "orange"],
            [24, "green"],
          ],
        },
        {
          kind: "timeseries",
          title: "Estimated vs observed APIXO spend (USD/h) by upstream key",
          width: 24,
          description:
            "What the gateway estimated from its price table for each APIXO key (charges minus refunds, summed over " +
            "replicas) next to what APIXO really took (balance drops seen by the balance poller; top-ups skipped " +
            "and counted apart). The lines should match within a poll interval. Apart by more than " +
            "telemetry.costDriftShare for 30 minutes fires ApixoGatewayCostDrift: a price in the table is out of " +
            "date (docs/pricing.md), or something else spends on the key.",
          unit: "currencyUSD",
          queries: [
            query(
              `(sum by (upstream) (rate(apixo_gateway_upstream_estimated_spend_usd_total[${RATE}])) - ` +
                `sum by (upstream) (rate(apixo_gateway_upstream_estimated_refunds_usd_total[${RATE}]))) * 3600`,
              "estimated {{upstream}}",
            ),
            query(
              `max by (upstream) (rate(apixo_gateway_upstream_observed_spend_usd_total[${RATE}])) * 3600`,
              "observed {{upstream}}",
            ),
          ],
        },
      ],
    },
  ],
};
