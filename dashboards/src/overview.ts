import { MODEL, RATE, TENANT, query, type DashboardSpec } from "./common.js";

const requests = `apixo_gateway_requests_total{${TENANT}, ${MODEL}}`;
const dropped = "apixo_gateway_ledger_journal_dropped_total";
const shed = `apixo_gateway_rejections_total{${TENANT}, reason="overloaded"}`;
/**
 * Share of requests with a status class: 0 (not "no data") while no request has had that class, since a
 * status code's series appears with its first request.
 */
const share = (codes: string, window: string): string =>
  `(sum(rate(apixo_gateway_requests_total{${TENANT}, ${MODEL}, code=~"${codes}"}[${window}])) or vector(0))` +
  ` / sum(rate(${requests}[${window}]))`;
/**
 * What a counter counted in the dashboard's range. increase() cannot see the first value of a series that
 * appeared within the range (a counter born with its first event): such a series counts with its whole value.
 */
const countedInRange = (counter: string, by: string): string =>
  `sum(sum by (${by}) (${counter} unless ${counter} offset $__range) or ` +
  `sum by (${by}) (increase(${counter}[$__range])))`;
const quantile = (q: number, metric: string, by: string, selector = ""): string =>
  `histogram_quantile(${q}, sum by (${by}) (rate(${metric}_bucket${selector}[${RATE}])))`;

export const overview: DashboardSpec = {
  uid: "apixo-gateway-overview",
  title: "APIXO gateway / Overview",
  description:
    "Traffic, errors and latency of the gateway and of APIXO behind it, and whether the ledger is keeping up.",
  tags: ["apixo-gateway"],
  rows: [
    {
      title: "Traffic and errors",
      panels: [
        {
          kind: "stat",
          title: "Gateway instances up",
          description:
            "Gateway processes Prometheus can scrape right now. Below the number you run: check the container/pod " +
            "status and logs, then `curl http://<gateway>:9464/metrics`; see runbook ApixoGatewayDown.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [query('sum(up{job="apixo-gateway"})', "up")],
          thresholds: [],
        },
        {
          kind: "stat",
          title: "5xx ratio (now)",
          description:
            "Share of responses with a 5xx status over the last 5 minutes. Above 5 % the ApixoGatewayHighErrorRate " +
            "alert fires: split by code on the panel to the right, then check Upstream errors by reason " +
            "(APIXO down: 502/504, open circuit: 503) or the Limits dashboard (Redis down: 503 LIMITS_UNAVAILABLE; " +
            "load shed: 503 OVERLOADED).",
          unit: "percentunit",
          width: 6,
          height: 5,
          queries: [query(share("5..", "5m"), "5xx ratio")],
          thresholds: [
            [0.01, "orange"],
            [0.05, "red"],
          ],
        },
        {
          kind: "stat",
          title: "Requests/s (now)",
          description:
            "All requests per second over the last 5 minutes. A sudden drop to zero with instances up means clients " +
            "cannot reach the gateway (DNS, load balancer, TLS); a jump means a client loop or a new integration.",
          unit: "reqps",
          width: 6,
          height: 5,
          queries: [query(`sum(rate(${requests}[5m]))`, "requests/s")],
        },
        {
          kind: "stat",
          title: "Config reloads in range",
          description:
            "Configuration reloads (SIGHUP) by result in the selected time range. Any failure means the gateway " +
            "still runs the previous config: run `apixo-gateway config check <file>`, fix it, send SIGHUP again; " +
            "see runbook ApixoGatewayConfigReloadFailed.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [
            query("sum by (result) (increase(apixo_gateway_config_reloads_total[$__range]))", "{{result}}"),
          ],
        },
        {
          kind: "timeseries",
          title: "Requests/s by operation",
          description:
            "Requests per second by operation (submit, status, balance, callback, other). Status far above submit " +
            "means clients poll too fast (APIXO advises 3-15 s intervals with backoff); `other` growing means " +
            "clients call paths the gateway refuses.",
          unit: "reqps",
          queries: [query(`sum by (operation) (rate(${requests}[${RATE}]))`, "{{operation}}")],
        },
        {
          kind: "timeseries",
          title: "Responses/s by status code",
          description:
            "Responses by HTTP status. 429/402 are the gateway's limits doing their job (see Limits and Cost " +
            "dashboards); 502/504 are APIXO unreachable or slow; 503 is the limit store (Redis) down, load shed " +
            "(OVERLOADED), an open circuit or APIXO's own 503 (the error type is in the logs); 500 is a bug: find " +
            "the request id in the logs.",
          unit: "reqps",
          queries: [query(`sum by (code) (rate(${requests}[${RATE}]))`, "{{code}}")],
        },
        {
          kind: "timeseries",
          title: "Error rate",
          description:
            "Share of responses that are 5xx (gateway or APIXO failing) and 4xx (clients refused: bad keys, " +
            "limits, caps, invalid bodies). 5xx above 5 % pages; a 4xx jump after a deploy or key rotation " +
            "usually means a client uses an old key or a model it may not use.",
          unit: "percentunit",
          min: 0,
          queries: [query(share("5..", RATE), "5xx"), query(share("4..", RATE), "4xx")],
          thresholds: [[0.05, "red"]],
        },
        {
          kind: "timeseries",
          title: "Upstream errors by reason",
          description:
            "Failed exchanges with APIXO by reason: timeout, connect, reset, status_5xx, bad_response. connect/reset " +
            "point at network or DNS (check egress and https://api.apixo.ai status); timeout at a slow APIXO " +
            "(compare upstream latency); status_5xx at APIXO itself; bad_response at an API change or a proxy " +
            "in between answering HTML.",
          unit: "reqps",
          queries: [
            query(
              `sum by (reason) (rate(apixo_gateway_upstream_errors_total{${MODEL}}[${RATE}]))`,
              "{{reason}}",
            ),
          ],
        },
      ],
    },
    {
      title: "Ledger",
      panels: [
        {
          kind: "stat",
          title: "Ledger writes waiting (journal)",
          description:
            "Ledger writes all instances hold in their write-behind journals because the limit store cannot take " +
            "them. Normally 0. Above 0 for minutes: tasks APIXO accepted are not recorded yet, and restarting an " +
            "instance without store.journal.path loses them; see the Limits dashboard and runbook " +
            "ApixoGatewayLedgerJournalNotDraining.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [query("sum(apixo_gateway_ledger_journal_depth)", "waiting")],
          thresholds: [[1, "red"]],
        },
        {
          kind: "stat",
          title: "Ledger writes lost in range",
          description:
            "Ledger writes dropped in the selected time range (journal full, or refused by the store). Anything " +
            "above 0 is money the ledger no longer knows about: reconcile the tenants served then; runbook " +
            "ApixoGatewayLedgerWritesDropped.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [query(countedInRange(dropped, "instance"), "lost")],
          thresholds: [[1, "red"]],
        },
        {
          kind: "stat",
          title: "Unknown outcomes held",
          description:
            "Reservations kept charged because the submit may have reached APIXO (timeout or reset after sending, " +
            "unreadable answer, orphan), over the selected tenants. They wait for an operator's decision; per " +
            "tenant on the Cost dashboard, runbook ApixoGatewayUnknownOutcomesAccumulating.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [query(`sum(max by (tenant) (apixo_gateway_reservations_unknown{${TENANT}}))`, "unknown")],
          thresholds: [[1, "orange"]],
        },
        {
          kind: "stat",
          title: "Requests shed in range",
          description:
            "Requests refused with 503 OVERLOADED in the selected time range: an instance had too many admissions " +
            "waiting on the limit store. Nothing was reserved or charged for them. Per instance on the Limits " +
            "dashboard; runbook ApixoGatewayLoadShedding.",
          unit: "short",
          width: 6,
          height: 5,
          queries: [
            // No series until the first shed request: none is 0.
            query(`${countedInRange(shed, "tenant, instance")} or vector(0)`, "shed"),
          ],
          thresholds: [[1, "orange"]],
        },
      ],
    },
    {
      title: "Latency",
      panels: [
        {
          kind: "timeseries",
          title: "Request latency p50 / p95 / p99 by operation",
          width: 8,
          description:
            "Time from request received to response sent, as clients see it, per operation (a submit waits for " +
            "APIXO to accept a task, a poll is quick; health probes are not counted). When p95 rises, compare with " +
            "APIXO latency next to it: if both rise, APIXO is slow (nothing to fix here, tell tenants); if only " +
            "this one rises, look at gateway overhead and the limit store latency.",
          unit: "s",
          queries: [0.5, 0.95, 0.99].map((q) =>
            query(
              quantile(q, "apixo_gateway_request_duration_seconds", "le, operation", `{${MODEL}}`),
              `p${String(q * 100)} {{operation}}`,
            ),
          ),
          thresholds: [[3, "red"]],
        },
        {
          kind: "timeseries",
          title: "APIXO latency p95 by operation",
          width: 8,
          description:
            "Time APIXO takes to answer, by operation. Rising submit latency is APIXO under load; if it nears the " +
            "upstream timeout (upstream.timeoutMs, default 30 s) clients will start to see 504s. Check APIXO's status " +
            "and consider raising the timeout only if tasks are still accepted.",
          unit: "s",
          queries: [
            query(
              quantile(0.95, "apixo_gateway_upstream_duration_seconds", "le, operation", `{${MODEL}}`),
              "{{operation}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Gateway overhead p50 / p99 by operation",
          width: 8,
          description:
            "Time the gateway adds on top of APIXO (request minus upstream time, retry backoff and coalesced waits " +
            "excluded): auth, limits, one Redis round trip, proxying. It should stay in the low milliseconds; above " +
            "50 ms at p95 (alert ApixoGatewayHighOverhead) check Redis latency (Limits " +
            "dashboard), CPU saturation of the gateway and event-loop lag (process metrics).",
          unit: "s",
          queries: [
            query(quantile(0.5, "apixo_gateway_overhead_seconds", "le, operation"), "p50 {{operation}}"),
            query(quantile(0.99, "apixo_gateway_overhead_seconds", "le, operation"), "p99 {{operation}}"),
          ],
          thresholds: [[0.05, "red"]],
        },
      ],
    },
    {
      title: "Upstream protection",
      panels: [
        {
          kind: "timeseries",
          title: "Status cache hit ratio",
          width: 12,
          description:
            "Share of status polls answered from the gateway's cache of finished tasks instead of APIXO. It rises " +
            "with clients that keep polling finished tasks. A sudden drop to 0 with polls still coming means the " +
            "cache is off (upstream.protection.statusCache) or the store is failing (Limits dashboard).",
          unit: "percentunit",
          min: 0,
          max: 1,
          queries: [
            query(
              `sum(rate(apixo_gateway_status_cache_total{result="hit"}[${RATE}])) / ` +
                `sum(rate(apixo_gateway_status_cache_total[${RATE}]))`,
              "hit ratio",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Upstream circuit state",
          width: 12,
          description:
            "Replicas whose breaker is in each state, per upstream key: closed (normal), half_open (probing), open " +
            "(failing fast with 503). Open means APIXO failed too often: check APIXO's status and the upstream " +
            "errors panel; the breaker probes again after upstream.protection.breaker.coolDownMs. See " +
            "docs/upstream-protection.md.",
          unit: "short",
          min: 0,
          queries: [
            query(
              "sum by (upstream, state) (apixo_gateway_upstream_circuit_breaker_state)",
              "{{upstream}} {{state}}",
            ),
          ],
        },
      ],
    },
  ],
};
